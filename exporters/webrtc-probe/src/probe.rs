//! What every prober shares: the failure it reports, its deadline, and the gauges it sets.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use exporter_kit::ProbeContext;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// Time kept back from the kit's deadline so a late stage is still reported as such, rather
/// than cut off by the kit with nothing recorded.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// A probe that did not succeed: the stage it failed at and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub stage: &'static str,
    pub reason: String,
    /// The STUN/TURN error code, when the server gave one.
    pub code: Option<u16>,
}

impl Failure {
    pub fn new(stage: &'static str, reason: impl ToString) -> Failure {
        Failure {
            stage,
            reason: reason.to_string(),
            code: None,
        }
    }
}

/// When the probe must end, with a margin before the kit's own cut-off.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    pub fn for_probe(ctx: &ProbeContext) -> Deadline {
        let budget = ctx.remaining();
        let margin = DEADLINE_MARGIN.min(budget / 10);
        Deadline(Instant::now() + budget - margin)
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Runs `work` for `stage`, failing that stage if the deadline comes first.
    pub async fn within<T>(
        &self,
        stage: &'static str,
        work: impl Future<Output = T>,
    ) -> Result<T, Failure> {
        tokio::time::timeout_at(self.0.into(), work)
            .await
            .map_err(|_| Failure::new(stage, "deadline reached"))
    }
}

/// Registers `name` in the probe's registry with `value`.
pub fn gauge(ctx: &mut ProbeContext, name: &str, help: &str, value: f64) {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(value);
    ctx.registry.register(name, help, gauge);
}

/// Registers `name` with one series per `(labels, value)`.
pub fn gauges<L>(ctx: &mut ProbeContext, name: &str, help: &str, series: &[(L, f64)])
where
    L: EncodeLabelSet + Clone + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Gauge<f64, AtomicU64>>::default();
    for (labels, value) in series {
        family.get_or_create(labels).set(*value);
    }
    ctx.registry.register(name, help, family);
}

/// Seconds, as a gauge value.
pub fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}
