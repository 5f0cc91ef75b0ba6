//! The multi-target pattern of blackbox_exporter: `GET /probe?module=NAME&target=T`, a fresh
//! registry per request, `probe_success` and `probe_duration_seconds`, and `debug=true`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::{self, KitMetrics, ProbeLabels, ReasonLabels};
use crate::names;

/// The header in which Prometheus tells how long it will wait for the scrape.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// Log lines kept per probe for `debug=true`; more are counted, not kept.
const MAX_LOG_LINES: usize = 1000;

/// A config that names probe modules.
pub trait ProbeModules: Config {
    type Module: Serialize + Send + Sync + 'static;

    /// The module called `name`, if configured.
    fn module(&self, name: &str) -> Option<&Self::Module>;

    /// The longest a probe of `module` may take.
    fn timeout(module: &Self::Module) -> Duration;
}

/// Runs one probe of one target; `true` means success. Metrics go to `ctx.registry`.
pub trait Prober<C: ProbeModules>: Send + Sync + 'static {
    fn probe(
        &self,
        module: &C::Module,
        target: &str,
        ctx: &mut ProbeContext,
    ) -> impl Future<Output = bool> + Send;
}

/// What a probe writes to: its own registry and its own log.
pub struct ProbeContext {
    pub registry: Registry,
    /// When the probe must be done; the kit also enforces it.
    pub deadline: Instant,
    logs: Vec<String>,
    dropped_logs: usize,
    started: Instant,
}

impl ProbeContext {
    fn new(deadline: Instant) -> ProbeContext {
        ProbeContext {
            registry: Registry::default(),
            deadline,
            logs: Vec::new(),
            dropped_logs: 0,
            started: Instant::now(),
        }
    }

    /// Records a line for `debug=true` and logs it at debug level.
    pub fn log(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::debug!(probe_log = %message, "probe");
        if self.logs.len() < MAX_LOG_LINES {
            let at = self.started.elapsed().as_secs_f64();
            self.logs.push(format!("{at:>9.6}s {message}"));
        } else {
            self.dropped_logs += 1;
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// The probe deadline: the module's timeout, or Prometheus' scrape timeout less `offset` when
/// that is shorter.
pub fn deadline(
    module_timeout: Duration,
    scrape_timeout: Option<&str>,
    offset: Duration,
) -> Result<Duration, String> {
    let Some(header) = scrape_timeout else {
        return Ok(module_timeout);
    };
    let seconds: f64 = header
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("invalid X-Prometheus-Scrape-Timeout-Seconds {header:?}"))?;
    let scrape = Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("invalid X-Prometheus-Scrape-Timeout-Seconds {header:?}"))?;
    Ok(module_timeout.min(scrape.saturating_sub(offset)))
}

/// What the `/probe` handler reads.
pub struct ProbeState<C, P> {
    pub config: watch::Receiver<Arc<C>>,
    pub prober: P,
    pub metrics: KitMetrics,
    pub timeout_offset: Duration,
}

/// `GET /probe`.
pub async fn handler<C: ProbeModules, P: Prober<C>>(
    State(state): State<Arc<ProbeState<C, P>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let config = state.config.borrow().clone();
    let (module_name, module, target) = match checked_params(&*config, &params) {
        Ok(found) => found,
        Err((reason, message)) => return reject(&state.metrics, reason, message),
    };
    let scrape_timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok());
    let limit = match deadline(C::timeout(module), scrape_timeout, state.timeout_offset) {
        Ok(limit) => limit,
        Err(message) => return reject(&state.metrics, "invalid_scrape_timeout", message),
    };

    let mut ctx = ProbeContext::new(Instant::now() + limit);
    let success_gauge = Gauge::<i64>::default();
    let duration_gauge = Gauge::<f64, AtomicU64>::default();
    ctx.registry.register(
        names::PROBE_SUCCESS,
        "Whether the probe succeeded",
        success_gauge.clone(),
    );
    ctx.registry.register(
        names::PROBE_DURATION,
        "How long the probe took, in seconds",
        duration_gauge.clone(),
    );
    ctx.log(format!(
        "beginning probe of {target:?} with module {module_name:?}, deadline {limit:?}"
    ));
    let outcome = tokio::time::timeout(limit, state.prober.probe(module, target, &mut ctx)).await;
    let success = outcome.unwrap_or_else(|_| {
        ctx.log(format!("probe timed out after {limit:?}"));
        false
    });
    let elapsed = ctx.started.elapsed().as_secs_f64();
    ctx.log(format!(
        "probe {} after {elapsed:.6}s",
        if success { "succeeded" } else { "failed" }
    ));
    success_gauge.set(i64::from(success));
    duration_gauge.set(elapsed);
    count_probe(&state.metrics, module_name, success);

    if params.get("debug").is_some_and(|v| v == "true") {
        return debug_page(&ctx, module);
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = metrics::encode(&ctx.registry, accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

type Rejection = (&'static str, String);

fn checked_params<'a, C: ProbeModules>(
    config: &'a C,
    params: &'a HashMap<String, String>,
) -> Result<(&'a str, &'a C::Module, &'a str), Rejection> {
    let module_name = params
        .get("module")
        .filter(|m| !m.is_empty())
        .ok_or(("missing_module", "module parameter is missing".to_string()))?;
    let target = params
        .get("target")
        .filter(|t| !t.is_empty())
        .ok_or(("missing_target", "target parameter is missing".to_string()))?;
    let module = config
        .module(module_name)
        .ok_or_else(|| ("unknown_module", format!("unknown module {module_name:?}")))?;
    Ok((module_name, module, target))
}

fn reject(metrics: &KitMetrics, reason: &str, message: String) -> Response {
    metrics
        .probes_rejected
        .get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        })
        .inc();
    tracing::debug!(reason, %message, "probe request rejected");
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

fn count_probe(metrics: &KitMetrics, module: &str, success: bool) {
    let result = if success { "success" } else { "failure" };
    metrics
        .probes
        .get_or_create(&ProbeLabels {
            module: module.to_string(),
            result: result.to_string(),
        })
        .inc();
}

fn debug_page<M: Serialize>(ctx: &ProbeContext, module: &M) -> Response {
    let mut page = String::from("Logs for the probe:\n");
    for line in &ctx.logs {
        page.push_str(line);
        page.push('\n');
    }
    if ctx.dropped_logs > 0 {
        page.push_str(&format!("({} more lines not kept)\n", ctx.dropped_logs));
    }
    let (_, metrics_text) = metrics::encode(&ctx.registry, None);
    page.push_str("\n\nMetrics that would have been returned:\n");
    page.push_str(&metrics_text);
    page.push_str("\n\nModule configuration:\n");
    page.push_str(&serde_yaml::to_string(module).unwrap_or_else(|e| format!("({e})\n")));
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSET: Duration = Duration::from_millis(500);

    #[test]
    fn without_the_header_the_module_timeout_is_the_deadline() {
        assert_eq!(
            deadline(Duration::from_secs(5), None, OFFSET),
            Ok(Duration::from_secs(5))
        );
    }

    #[test]
    fn a_shorter_scrape_timeout_less_the_offset_wins() {
        let got = deadline(Duration::from_secs(5), Some("3"), OFFSET);
        assert_eq!(got, Ok(Duration::from_millis(2500)));
    }

    #[test]
    fn a_shorter_module_timeout_wins() {
        let got = deadline(Duration::from_secs(1), Some("10.5"), OFFSET);
        assert_eq!(got, Ok(Duration::from_secs(1)));
    }

    #[test]
    fn a_scrape_timeout_below_the_offset_leaves_no_time() {
        assert_eq!(
            deadline(Duration::from_secs(5), Some("0.2"), OFFSET),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn a_malformed_scrape_timeout_is_refused() {
        for bad in ["abc", "-1", "0", "NaN", "inf"] {
            assert!(
                deadline(Duration::from_secs(5), Some(bad), OFFSET).is_err(),
                "{bad}"
            );
        }
    }
}
