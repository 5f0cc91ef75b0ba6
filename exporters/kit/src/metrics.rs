//! The kit's own metrics, present on every exporter, and the `/metrics` encoding.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::names;
use crate::BuildInfo;

/// The OpenMetrics content type, sent to scrapers that ask for it.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format, for everyone else (promtool, curl, older scrapers).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    revision: String,
    rustc_version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandlerLabels {
    pub handler: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub handler: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProbeLabels {
    pub module: String,
    pub result: String,
}

/// Handles to the kit's metrics; cheap to clone, all clones update the same series.
#[derive(Clone)]
pub struct KitMetrics {
    pub reload_successful: Gauge,
    pub reload_success_timestamp: Gauge<f64, AtomicU64>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<HandlerLabels, Histogram>,
    pub open_connections: Gauge,
    pub connection_limit_reached: Counter,
    pub connection_errors: Family<ReasonLabels, Counter>,
    pub probes: Family<ProbeLabels, Counter>,
    pub probes_rejected: Family<ReasonLabels, Counter>,
}

impl KitMetrics {
    /// Registers the kit's metrics in `registry`, whose prefix is the exporter's name.
    pub fn register(registry: &mut Registry, build: &BuildInfo) -> KitMetrics {
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: build.version.to_string(),
                revision: build.revision.to_string(),
                rustc_version: build.rustc_version.to_string(),
            })
            .set(1);
        registry.register(
            names::BUILD_INFO,
            "A metric with a constant '1' value labelled by version, revision and rustc_version",
            build_info,
        );

        let metrics = KitMetrics {
            reload_successful: Gauge::default(),
            reload_success_timestamp: Gauge::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(request_histogram),
            open_connections: Gauge::default(),
            connection_limit_reached: Counter::default(),
            connection_errors: Family::default(),
            probes: Family::default(),
            probes_rejected: Family::default(),
        };
        metrics.register_into(registry);
        metrics
    }

    fn register_into(&self, registry: &mut Registry) {
        registry.register(
            names::CONFIG_LAST_RELOAD_SUCCESSFUL,
            "Whether the last configuration reload attempt was successful",
            self.reload_successful.clone(),
        );
        registry.register(
            names::CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP,
            "Timestamp of the last successful configuration reload",
            self.reload_success_timestamp.clone(),
        );
        registry.register(
            names::HTTP_REQUESTS,
            "HTTP requests served, by handler and status code",
            self.requests.clone(),
        );
        registry.register(
            names::HTTP_REQUEST_DURATION,
            "Time to answer HTTP requests, by handler",
            self.request_duration.clone(),
        );
        registry.register(
            names::WEB_OPEN_CONNECTIONS,
            "HTTP connections open now",
            self.open_connections.clone(),
        );
        registry.register(
            names::WEB_CONNECTION_LIMIT_REACHED,
            "Times a new connection had to wait because --web.max-connections were open",
            self.connection_limit_reached.clone(),
        );
        registry.register(
            names::WEB_CONNECTION_ERRORS,
            "HTTP connections that ended in an error, by reason",
            self.connection_errors.clone(),
        );
        registry.register(
            names::PROBES,
            "Probes run through /probe, by module and result",
            self.probes.clone(),
        );
        registry.register(
            names::PROBE_REQUESTS_REJECTED,
            "Requests to /probe answered 400, by reason",
            self.probes_rejected.clone(),
        );
    }
}

fn request_histogram() -> Histogram {
    Histogram::new([0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10.0])
}

/// Encodes `registry` in the format the scraper asked for in its Accept header.
pub fn encode(registry: &Registry, accept: Option<&str>) -> (&'static str, String) {
    let mut body = String::new();
    let wants_openmetrics = accept.is_some_and(|a| a.contains("application/openmetrics-text"));
    // Writing into a String cannot fail; the encoders only return fmt errors from the writer.
    if wants_openmetrics {
        let _ = prometheus_client::encoding::text::encode(&mut body, registry);
        (OPENMETRICS_CONTENT_TYPE, body)
    } else {
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut body, registry);
        (TEXT_CONTENT_TYPE, body)
    }
}
