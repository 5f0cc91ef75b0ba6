//! Wires the exporter into the kit: its flags, metrics, schedule and endpoints.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use exporter_kit::app::SetupError;
use exporter_kit::axum::body::Body;
use exporter_kit::axum::extract::{Path, State};
use exporter_kit::axum::http::{header, StatusCode};
use exporter_kit::axum::response::{IntoResponse, Response};
use exporter_kit::axum::routing::get;
use exporter_kit::App;
use prometheus_client::metrics::gauge::Gauge;

use crate::artifacts::ArtifactStore;
use crate::browser::{BrowserMetrics, BrowserPool};
use crate::checks::Checker;
use crate::config::Config;
use crate::metrics::{CheckMetrics, JourneyMetrics};
use crate::names;
use crate::probe::{self, ProbeState};
use crate::runner::Runner;
use crate::scheduler::{self, Shared};

/// The exporter's own flags (each also an environment variable, as the kit's are).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "synthetic_journey_flags")]
pub struct Flags {
    /// The Chromium binary shared by all journeys.
    #[arg(
        long = "browser.path",
        value_name = "PATH",
        default_value = "/usr/bin/chromium"
    )]
    pub browser_path: PathBuf,
    /// Journey runs at once in the shared browser; more wait for a slot.
    #[arg(long = "browser.max-concurrent-runs", value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrent_runs: u16,
    /// Where failure screenshots, page HTML and console errors go, one directory per run.
    #[arg(
        long = "artifacts.dir",
        value_name = "PATH",
        default_value = "/tmp/synthetic-journey/artifacts"
    )]
    pub artifacts_dir: PathBuf,
    /// Runs with artifacts kept per journey; older ones are deleted.
    #[arg(long = "artifacts.keep", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub artifacts_keep: u16,
}

/// The pool of the running exporter, so that [`stop_browser`] can end it at exit.
static RUNNING_POOL: OnceLock<Arc<BrowserPool>> = OnceLock::new();

/// Ends the browser of the running exporter; Chromium does not exit with its parent.
pub fn stop_browser() {
    if let Some(pool) = RUNNING_POOL.get() {
        pool.shutdown();
    }
}

/// Registers the metrics, starts the schedule and adds `/journeys`, `/artifacts/..` and
/// `/probe`.
pub fn setup(app: &mut App<Config>, flags: Flags) -> Result<(), SetupError> {
    // headless_chrome logs every URL it opens at info level through `log`, and a resolved
    // `${env:..}` may sit in one; its errors are enough.
    log::set_max_level(log::LevelFilter::Error);
    let registry = app.registry();
    let journey_metrics = JourneyMetrics::register(registry, true);
    let check_metrics = CheckMetrics::register(registry, true);
    let browser_metrics = BrowserMetrics::default();
    let waiting = Gauge::default();
    registry.register(
        names::JOURNEY_RUNS_WAITING,
        "Journey runs waiting for a browser slot",
        waiting.clone(),
    );
    registry.register(
        names::BROWSER_LAUNCHES,
        "Browser processes launched, the first included",
        browser_metrics.launches.clone(),
    );
    registry.register(
        names::ORPHANS_REAPED,
        "Orphaned browser helper processes ended and collected",
        browser_metrics.orphans_reaped.clone(),
    );
    registry.register(
        names::BROWSER_RESIDENT_MEMORY,
        "Resident memory of the browser and its helpers after the last run, in bytes",
        browser_metrics.resident_memory.clone(),
    );

    let pool = Arc::new(BrowserPool::new(flags.browser_path, browser_metrics));
    let _ = RUNNING_POOL.set(pool.clone());
    let store = ArtifactStore::new(flags.artifacts_dir, usize::from(flags.artifacts_keep));
    let shared = Arc::new(Shared {
        runner: Runner::new(pool, usize::from(flags.max_concurrent_runs), waiting, store),
        checker: Checker::new()?,
        journey_metrics,
        check_metrics,
        board: Default::default(),
    });
    scheduler::start(shared.clone(), app.config());

    let board = shared.clone();
    app.route("/journeys", get(move || async move { board.board.json() }));
    app.link("/journeys", "Journeys and checks (JSON)");
    app.route(
        "/artifacts/{journey}/{run}/{file}",
        get(artifact).with_state(shared.clone()),
    );
    let board = shared.clone();
    app.landing_section(move || board.board.html());
    let probe_state = Arc::new(ProbeState {
        config: app.config(),
        shared,
        kit: app.metrics().clone(),
        timeout_offset: app.flags().probe_timeout_offset,
    });
    app.route("/probe", get(probe::handler).with_state(probe_state));
    app.link(
        "/probe",
        "Probe (journey= or check= parameter, debug=true for logs)",
    );
    Ok(())
}

/// `GET /artifacts/<journey>/<run>/<file>`.
async fn artifact(
    State(shared): State<Arc<Shared>>,
    Path((journey, run, file)): Path<(String, String, String)>,
) -> Response {
    let Some(path) = shared.runner.store().file(&journey, &run, &file) else {
        return (StatusCode::BAD_REQUEST, "invalid artifact path\n").into_response();
    };
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        // Shown as text: the page's own HTML must not run on the exporter's origin.
        _ => "text/plain; charset=utf-8",
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], Body::from(bytes)).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such artifact\n").into_response(),
    }
}
