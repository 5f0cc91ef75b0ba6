//! Every metric name the kit registers, in one place. Names are relative to the exporter's
//! prefix (`rum_gateway_build_info`); counters get their `_total` suffix from the encoder.

pub const BUILD_INFO: &str = "build_info";
pub const CONFIG_LAST_RELOAD_SUCCESSFUL: &str = "config_last_reload_successful";
pub const CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP: &str =
    "config_last_reload_success_timestamp_seconds";
pub const HTTP_REQUESTS: &str = "http_requests";
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
pub const WEB_OPEN_CONNECTIONS: &str = "web_open_connections";
pub const WEB_CONNECTION_LIMIT_REACHED: &str = "web_connection_limit_reached";
pub const WEB_CONNECTION_ERRORS: &str = "web_connection_errors";
pub const PROBES: &str = "probes";
pub const PROBE_REQUESTS_REJECTED: &str = "probe_requests_rejected";

/// Per-probe metrics, unprefixed as in blackbox_exporter so the same dashboards work.
pub const PROBE_SUCCESS: &str = "probe_success";
pub const PROBE_DURATION: &str = "probe_duration_seconds";
