//! `GET /probe?journey=NAME` or `?check=NAME`: one run now, in the kit's multi-target style
//! (deadline from the scrape timeout, a fresh registry, `probe_success`, `debug=true`). A probe
//! run leaves `/metrics` and the status board alone.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exporter_kit::axum::extract::{Query, State};
use exporter_kit::axum::http::{header, HeaderMap, StatusCode};
use exporter_kit::axum::response::{IntoResponse, Response};
use exporter_kit::metrics::{KitMetrics, ProbeLabels, ReasonLabels};
use exporter_kit::probe::{deadline, SCRAPE_TIMEOUT_HEADER};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::{CheckMetrics, JourneyMetrics};
use crate::scheduler::Shared;

/// What the handler reads.
pub struct ProbeState {
    pub config: watch::Receiver<Arc<Config>>,
    pub shared: Arc<Shared>,
    pub kit: KitMetrics,
    pub timeout_offset: Duration,
}

/// The item a request names.
enum Target {
    Journey(Arc<crate::config::Journey>),
    Check(Arc<crate::config::Check>),
}

/// `GET /probe`.
pub async fn handler(
    State(state): State<Arc<ProbeState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (module, target) = match find(&state.config.borrow(), &params) {
        Ok(found) => found,
        Err((reason, message)) => return reject(&state.kit, reason, message),
    };
    let own_timeout = match &target {
        Target::Journey(j) => j.timeout,
        Target::Check(c) => c.timeout,
    };
    let scrape_timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok());
    let limit = match deadline(own_timeout, scrape_timeout, state.timeout_offset) {
        Ok(limit) => limit,
        Err(message) => return reject(&state.kit, "invalid_scrape_timeout", message),
    };

    let started = Instant::now();
    let mut registry = Registry::default();
    let success = Gauge::<i64>::default();
    let duration = Gauge::<f64, AtomicU64>::default();
    registry.register(
        "probe_success",
        "Whether the probe succeeded",
        success.clone(),
    );
    registry.register(
        "probe_duration_seconds",
        "How long the probe took, in seconds",
        duration.clone(),
    );
    let mut logs = vec![format!("running {module} with a deadline of {limit:?}")];
    let ok = match tokio::time::timeout(
        limit,
        run(&state.shared, &target, limit, &mut registry, &mut logs),
    )
    .await
    {
        Ok(ok) => ok,
        Err(_) => {
            logs.push(format!("timed out after {limit:?}"));
            false
        }
    };
    success.set(i64::from(ok));
    duration.set(started.elapsed().as_secs_f64());
    let result = if ok { "success" } else { "failure" };
    state
        .kit
        .probes
        .get_or_create(&ProbeLabels {
            module: module.clone(),
            result: result.to_string(),
        })
        .inc();

    if params.get("debug").is_some_and(|v| v == "true") {
        return debug_page(&logs, &registry, &target);
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = exporter_kit::metrics::encode(&registry, accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

type Rejection = (&'static str, String);

fn find(config: &Config, params: &HashMap<String, String>) -> Result<(String, Target), Rejection> {
    let journey = params.get("journey").filter(|v| !v.is_empty());
    let check = params.get("check").filter(|v| !v.is_empty());
    match (journey, check) {
        (Some(name), None) => config
            .journeys
            .iter()
            .find(|j| &j.name == name)
            .map(|j| {
                (
                    format!("journey:{name}"),
                    Target::Journey(Arc::new(j.clone())),
                )
            })
            .ok_or(("unknown_journey", format!("unknown journey {name:?}"))),
        (None, Some(name)) => config
            .checks
            .iter()
            .find(|c| &c.name == name)
            .map(|c| (format!("check:{name}"), Target::Check(Arc::new(c.clone()))))
            .ok_or(("unknown_check", format!("unknown check {name:?}"))),
        (Some(_), Some(_)) => Err(("ambiguous", "give journey or check, not both".to_string())),
        (None, None) => Err((
            "missing_target",
            "journey or check parameter is missing".to_string(),
        )),
    }
}

async fn run(
    shared: &Shared,
    target: &Target,
    limit: Duration,
    registry: &mut Registry,
    logs: &mut Vec<String>,
) -> bool {
    match target {
        Target::Journey(journey) => {
            let metrics = JourneyMetrics::register(registry, false);
            let (outcome, lines) = shared.runner.run(journey.clone(), limit).await;
            logs.extend(lines);
            if let Some(reason) = &outcome.reason {
                logs.push(format!("failed: {reason}"));
            }
            logs.extend(
                outcome
                    .artifacts
                    .iter()
                    .map(|a| format!("artifact: /artifacts/{}/{a}", journey.name)),
            );
            metrics.record(&outcome);
            outcome.success
        }
        Target::Check(check) => {
            let metrics = CheckMetrics::register(registry, false);
            let mut bounded = (**check).clone();
            bounded.timeout = bounded.timeout.min(limit);
            let outcome = shared.checker.run(&bounded).await;
            if let Some(reason) = &outcome.reason {
                logs.push(format!("failed: {reason}"));
            }
            metrics.record(&outcome);
            outcome.success
        }
    }
}

fn reject(kit: &KitMetrics, reason: &str, message: String) -> Response {
    kit.probes_rejected
        .get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        })
        .inc();
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

fn debug_page(logs: &[String], registry: &Registry, target: &Target) -> Response {
    let (_, metrics) = exporter_kit::metrics::encode(registry, None);
    let config = match target {
        Target::Journey(j) => serde_yaml::to_string(&**j),
        Target::Check(c) => serde_yaml::to_string(&**c),
    }
    .unwrap_or_else(|e| format!("({e})\n"));
    let page = format!(
        "Logs for the probe:\n{}\n\n\nMetrics that would have been returned:\n{metrics}\n\n\
         Module configuration:\n{config}",
        logs.join("\n")
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page).into_response()
}
