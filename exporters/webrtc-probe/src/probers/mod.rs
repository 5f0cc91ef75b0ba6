//! The probers, one file each, all of one signature and chosen by [`run`].

mod peer;
mod stun;
mod turn;
mod whip;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use exporter_kit::{ProbeContext, Prober};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use crate::client::{Client, ClientError, TlsSetup, Transport};
use crate::config::{self, Config, Module, ProberKind};
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};
use crate::target::HostPort;

/// Runs the module's kind of probe: metrics and logs into `ctx`, `Err` for the failed stage.
/// Each kind's future is boxed: the caller's future holds a pointer, not room for the
/// largest kind.
fn run<'a>(
    module: &'a Module,
    target: &'a str,
    ctx: &'a mut ProbeContext,
    deadline: Deadline,
) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>> {
    match module.prober {
        ProberKind::Stun => Box::pin(stun::probe(module, target, ctx, deadline)),
        ProberKind::Turn => Box::pin(turn::probe(module, target, ctx, deadline)),
        ProberKind::Peer => Box::pin(peer::probe(module, target, ctx, deadline)),
        ProberKind::Whip => Box::pin(whip::probe(module, target, ctx, deadline)),
    }
}

/// The exporter's prober: bounds concurrent probes, dispatches to the module's kind and
/// reports the failed stage.
#[derive(Debug)]
pub struct WebrtcProber {
    slots: Arc<Semaphore>,
    in_flight: Gauge,
    over_limit: Counter,
}

impl WebrtcProber {
    /// A prober running at most `max_concurrent` probes at once; its own metrics (probes in
    /// flight, probes refused over the limit) go to `registry`, served on `/metrics`.
    pub fn new(max_concurrent: usize, registry: &mut Registry) -> WebrtcProber {
        let prober = WebrtcProber {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            in_flight: Gauge::default(),
            over_limit: Counter::default(),
        };
        let help = "Probes running now";
        registry.register(names::IN_FLIGHT, help, prober.in_flight.clone());
        let help = "Probes refused because --probe.max-concurrent were already running";
        registry.register(names::OVER_LIMIT, help, prober.over_limit.clone());
        prober
    }
}

/// Counts a probe in flight until dropped, also when the kit cuts the probe short.
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

impl Prober<Config> for WebrtcProber {
    async fn probe(&self, module: &Module, target: &str, ctx: &mut ProbeContext) -> bool {
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            self.over_limit.inc();
            let failure = Failure::new(stage::CONCURRENCY, "too many probes running at once");
            report_failure(ctx, target, failure);
            return false;
        };
        self.in_flight.inc();
        let _in_flight = InFlight(self.in_flight.clone());
        let deadline = Deadline::for_probe(ctx);
        let Err(failure) = run(module, target, ctx, deadline).await else {
            return true;
        };
        report_failure(ctx, target, failure);
        false
    }
}

/// Logs the failure and sets `webrtc_probe_failed_stage` (and the error code, if any).
fn report_failure(ctx: &mut ProbeContext, target: &str, failure: Failure) {
    ctx.log(format!("failed at {}: {}", failure.stage, failure.reason));
    tracing::debug!(target, stage = failure.stage, reason = %failure.reason, "probe failed");
    let labels = StageLabels {
        stage: failure.stage.to_string(),
    };
    let help = "The stage at which the probe failed (1)";
    probe::gauges(ctx, names::FAILED_STAGE, help, &[(labels, 1.0)]);
    if let Some(code) = failure.code {
        let help = "The STUN/TURN error code the server answered with";
        probe::gauge(ctx, names::TURN_ERROR_CODE, help, f64::from(code));
    }
}

/// Opens the module's transport to `server`, timing the connection over TCP and TLS.
pub(crate) async fn connect(
    module: &Module,
    target: &HostPort,
    server: SocketAddr,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<Client, Failure> {
    let tls = match module.transport {
        config::Transport::Tls => Some(tls_setup(module, target)?),
        _ => None,
    };
    let started = Instant::now();
    let connecting = Transport::connect(module.transport, server, tls.as_ref());
    let transport =
        deadline
            .within(stage::CONNECT, connecting)
            .await?
            .map_err(|error| match error {
                crate::client::ConnectError::Connect(_) => Failure::new(stage::CONNECT, error),
                _ => Failure::new(stage::TLS, error),
            })?;
    if module.transport != config::Transport::Udp {
        let help = "Time to connect to the server (TCP, and the TLS handshake if any)";
        probe::gauge(ctx, names::CONNECT, help, probe::seconds(started.elapsed()));
    }
    ctx.log(format!(
        "connected to {server} over {} from {}",
        module.transport.as_str(),
        transport.local_addr()
    ));
    Ok(Client::new(transport))
}

fn tls_setup(module: &Module, target: &HostPort) -> Result<TlsSetup, Failure> {
    let config = crate::tls::client_config(&module.tls).map_err(|e| Failure::new(stage::TLS, e))?;
    let server_name = module
        .tls
        .server_name
        .clone()
        .unwrap_or_else(|| target.host.clone());
    Ok(TlsSetup {
        config,
        server_name,
    })
}

/// A failure of `stage` from a client error, keeping the server's error code.
pub(crate) fn client_failure(stage: &'static str, error: ClientError) -> Failure {
    Failure {
        stage,
        code: error.code(),
        reason: error.to_string(),
    }
}
