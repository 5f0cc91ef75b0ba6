//! Wiring: an [`App`] holds an exporter's registry, config and routes; [`run`] is the whole
//! process around it (logging, `--config.check`, listener, signals, shutdown).

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, MethodRouter};
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex, Notify};

use crate::config::{Config, ConfigErrors, Source};
use crate::flags::Flags;
use crate::http::{self, KitState, LandingSection, Link};
use crate::metrics::KitMetrics;
use crate::probe::{self, ProbeModules, ProbeState, Prober};
use crate::reload::{self, Reloader};
use crate::server::{self, Limits};
use crate::webconfig::WebConfig;
use crate::{logging, ExporterInfo};

/// An error from an exporter's setup function.
pub type SetupError = Box<dyn std::error::Error + Send + Sync>;

/// Work an exporter registered with [`App::on_shutdown`].
type ShutdownHook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Longest one shutdown hook may run before the kit gives up on it and moves on.
pub const SHUTDOWN_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// One exporter being assembled: register metrics, add routes, then [`App::serve`].
pub struct App<C: Config> {
    info: ExporterInfo,
    flags: Flags,
    registry: Registry,
    metrics: KitMetrics,
    reloader: Arc<Reloader<C>>,
    config: watch::Receiver<Arc<C>>,
    web: watch::Receiver<WebConfig>,
    routes: Router,
    links: Vec<Link>,
    sections: Vec<LandingSection>,
    ready: Arc<AtomicBool>,
    shutdown_hooks: Vec<ShutdownHook>,
}

impl<C: Config> App<C> {
    /// Loads the config (or the embedded default) and the web config named by `flags`.
    pub fn new(info: ExporterInfo, flags: Flags) -> Result<App<C>, ConfigErrors> {
        let loaded = reload::load_all::<C>(
            flags.config_file.as_ref(),
            flags.web_config_file.as_ref(),
            info.default_config,
        )?;
        let mut registry = Registry::default();
        let metrics = KitMetrics::register(
            registry.sub_registry_with_prefix(info.metric_prefix()),
            &info.build,
        );
        let (config_tx, config) = watch::channel(Arc::new(loaded.config));
        let (web_tx, web) = watch::channel(loaded.web);
        let reloader = Arc::new(Reloader {
            config_file: flags.config_file.clone(),
            web_config_file: flags.web_config_file.clone(),
            default_config: info.default_config,
            config: config_tx,
            web: web_tx,
            metrics: metrics.clone(),
            running: Mutex::new(()),
        });
        reloader.mark_success();
        Ok(App {
            info,
            flags,
            registry,
            metrics,
            reloader,
            config,
            web,
            routes: Router::new(),
            links: Vec::new(),
            sections: Vec::new(),
            ready: Arc::new(AtomicBool::new(false)),
            shutdown_hooks: Vec::new(),
        })
    }

    /// The registry served on `/metrics`; exporters register their own metrics here.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The current config; it changes on every successful reload.
    pub fn config(&self) -> watch::Receiver<Arc<C>> {
        self.config.clone()
    }

    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    pub fn metrics(&self) -> &KitMetrics {
        &self.metrics
    }

    /// Adds an exporter endpoint.
    pub fn route(&mut self, path: &str, method_router: MethodRouter) {
        self.routes = std::mem::take(&mut self.routes).route(path, method_router);
    }

    /// Adds a link to the landing page.
    pub fn link(&mut self, path: &str, text: &str) {
        self.links.push(Link {
            path: path.to_string(),
            text: text.to_string(),
        });
    }

    /// Adds a block of HTML to the landing page, below the links, produced on every visit.
    /// The exporter escapes whatever it puts in it.
    pub fn landing_section(&mut self, section: impl Fn() -> String + Send + Sync + 'static) {
        self.sections.push(Arc::new(section));
    }

    /// Serves `GET /probe` with `prober`, blackbox_exporter style.
    pub fn serve_probes<P: Prober<C>>(&mut self, prober: P)
    where
        C: ProbeModules,
    {
        let state = Arc::new(ProbeState {
            config: self.config.clone(),
            prober,
            metrics: self.metrics.clone(),
            timeout_offset: self.flags.probe_timeout_offset,
        });
        self.route("/probe", get(probe::handler::<C, P>).with_state(state));
        self.link("/probe", "Probe (needs module and target parameters)");
    }

    /// Runs `hook` once when the exporter stops: after the shutdown signal, once the listener
    /// closed and requests in flight finished (so no request can change state any more), and
    /// before the final scrape (`--web.final-scrape-wait`) and exit. Hooks run in the order
    /// registered, each for at most [`SHUTDOWN_HOOK_TIMEOUT`]. Synchronous work is written
    /// `move || async move { work() }`.
    pub fn on_shutdown<F, Fut>(&mut self, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown_hooks.push(Box::new(move || Box::pin(hook())));
    }

    /// Reloads on every SIGHUP until the process ends.
    pub fn reload_on_sighup(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = signal(SignalKind::hangup())?;
        let reloader = self.reloader.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP received, reloading configuration");
                // The outcome is logged and shown by the reload metric.
                let _ = reloader.reload().await;
            }
        });
        Ok(())
    }

    /// Serves every endpoint on `listener` until `shutdown` resolves, then runs the shutdown
    /// hooks and, with `--web.final-scrape-wait`, waits for a last scrape.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let limits = Limits {
            max_connections: self.flags.max_connections,
            header_read_timeout: self.flags.header_read_timeout,
            max_request_body_bytes: self.flags.max_request_body_bytes,
        };
        let config_source = match &self.flags.config_file {
            Some(path) => Source::File(path.clone()).to_string(),
            None => Source::Embedded.to_string(),
        };
        let state = Arc::new(KitState {
            info: self.info,
            registry: self.registry,
            reloader: self.reloader,
            ready: self.ready.clone(),
            links: self.links,
            sections: self.sections,
            config_source,
            final_scrape: FinalScrape::default(),
        });
        let address = listener.local_addr();
        let router = http::router(
            state.clone(),
            self.routes,
            self.web.clone(),
            self.metrics.clone(),
        );
        self.ready.store(true, Ordering::Relaxed);
        let web = self.web.clone();
        let metrics = self.metrics.clone();
        server::serve(listener, router, web, limits, metrics, shutdown).await;
        self.ready.store(false, Ordering::Relaxed);

        run_hooks(self.shutdown_hooks).await;
        let wait = self.flags.final_scrape_wait;
        if wait.is_zero() {
            return;
        }
        match address {
            Ok(address) => {
                // The kit's endpoints only: the exporter's own are done.
                let router = http::router(
                    state.clone(),
                    Router::new(),
                    self.web.clone(),
                    self.metrics.clone(),
                );
                let server = (self.web, limits, self.metrics);
                final_scrape(address, router, &state.final_scrape, wait, server).await;
            }
            Err(error) => tracing::warn!(%error, "no address to wait for a final scrape on"),
        }
    }
}

/// Shared between `/metrics` and the final-scrape wait: whether the wait is on, and the
/// signal that a scrape was answered during it.
#[derive(Default)]
pub(crate) struct FinalScrape {
    pub(crate) waiting: AtomicBool,
    pub(crate) answered: Notify,
}

async fn run_hooks(hooks: Vec<ShutdownHook>) {
    for hook in hooks {
        if tokio::time::timeout(SHUTDOWN_HOOK_TIMEOUT, hook())
            .await
            .is_err()
        {
            tracing::warn!(timeout = ?SHUTDOWN_HOOK_TIMEOUT, "a shutdown hook did not finish in time");
        }
    }
}

/// Serves the kit's endpoints (not the exporter's) on `address` again until one scrape of
/// `/metrics` was answered or `wait` passed, so what the shutdown hooks recorded is collected.
async fn final_scrape(
    address: std::net::SocketAddr,
    router: Router,
    scrape: &FinalScrape,
    wait: Duration,
    (web, limits, metrics): (watch::Receiver<WebConfig>, Limits, KitMetrics),
) {
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%address, %error, "could not listen again for a final scrape");
            return;
        }
    };
    scrape.waiting.store(true, Ordering::Relaxed);
    tracing::info!(%address, wait = ?wait, "waiting for a final scrape");
    let done = async {
        match tokio::time::timeout(wait, scrape.answered.notified()).await {
            Ok(()) => tracing::info!("final scrape answered"),
            Err(_) => tracing::warn!(wait = ?wait, "no final scrape came"),
        }
    };
    server::serve(listener, router, web, limits, metrics, done).await;
}

/// Checks the config and web config files named by `flags`: `Ok` with the verdict to print,
/// or `Err` with every error found.
pub fn check_config<C: Config>(info: &ExporterInfo, flags: &Flags) -> Result<String, String> {
    match reload::load_all::<C>(
        flags.config_file.as_ref(),
        flags.web_config_file.as_ref(),
        info.default_config,
    ) {
        Ok(_) => {
            let mut verdict = match &flags.config_file {
                Some(path) => format!("{}: config OK\n", path.display()),
                None => format!("{}: config OK\n", Source::Embedded),
            };
            if let Some(path) = &flags.web_config_file {
                verdict.push_str(&format!("{}: web config OK\n", path.display()));
            }
            Ok(verdict)
        }
        Err(errors) => Err(format!("{errors}\n")),
    }
}

/// Runs exporter `info` as a process: the whole life from flags to graceful shutdown.
/// `setup` registers the exporter's metrics and routes and starts its tasks.
pub fn run<C: Config>(
    info: ExporterInfo,
    flags: Flags,
    setup: impl FnOnce(&mut App<C>) -> Result<(), SetupError>,
) -> ExitCode {
    logging::init(flags.log_level, flags.log_format);
    if flags.config_check {
        return match check_config::<C>(&info, &flags) {
            Ok(verdict) => {
                print!("{verdict}");
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprint!("{errors}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_async(info, flags, setup))
}

async fn run_async<C: Config>(
    info: ExporterInfo,
    flags: Flags,
    setup: impl FnOnce(&mut App<C>) -> Result<(), SetupError>,
) -> ExitCode {
    let listen_address = flags.listen_address.clone();
    let mut app = match App::<C>::new(info, flags) {
        Ok(app) => app,
        Err(errors) => {
            tracing::error!(error = %errors, "could not load the configuration");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = setup(&mut app) {
        tracing::error!(%error, "could not set up the exporter");
        return ExitCode::FAILURE;
    }
    let listener = match bind(&listen_address).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(address = %listen_address, %error, "could not listen");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = match app.reload_on_sighup().and_then(|()| shutdown_signal()) {
        Ok(shutdown) => shutdown,
        Err(error) => {
            tracing::error!(%error, "could not install the signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(exporter = info.name, version = info.build.version, %address, "listening");
    app.serve(listener, shutdown).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Binds `address`; `:PORT`, as Prometheus exporters write it, means every IPv4 interface.
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    match address.strip_prefix(':') {
        Some(port) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        None => TcpListener::bind(address).await,
    }
}

/// Installs the SIGTERM and SIGINT handlers now, so a signal sent as soon as the exporter says
/// it listens is not lost, and returns a future that resolves on the first of them.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
    })
}
