//! `rum-gateway`: receives Real User Monitoring beacons from browsers (Grafana Faro,
//! web-vitals, Elastic APM RUM, WebRTC call summaries) and exposes them as Prometheus
//! histograms and counters with bounded cardinality.

pub mod bytesize;
pub mod config;
pub mod dedupe;
pub mod emodel;
pub mod gateway;
pub mod handler;
pub mod intake;
pub mod listener;
pub mod metrics;
pub mod names;
pub mod pages;
pub mod protect;
pub mod resolve;
pub mod useragent;
pub mod vitals;

use exporter_kit::app::{App, SetupError};
use exporter_kit::ExporterInfo;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics::RumMetrics;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "rum-gateway",
    default_port: 9470,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};

/// Registers the metrics, starts the re-report releaser and serves the intakes: on the
/// kit's listener, or on `intake_address` when given (so `/metrics` stays private). At
/// shutdown, once no request is in flight, the vitals held for re-reports are observed.
pub fn setup(app: &mut App<Config>, intake_address: Option<String>) -> Result<(), SetupError> {
    let config = app.config().borrow().clone();
    let target = config.page_load_apdex_target.as_secs_f64();
    let metrics = RumMetrics::register(app.registry(), target);
    let gateway = Gateway::new(app.config(), metrics);
    gateway.spawn_releaser();
    let routes = handler::routes(&gateway, &config);
    let intake = match intake_address {
        None => {
            for (path, router) in routes {
                app.route(&path, router);
            }
            None
        }
        Some(address) => {
            let limits = listener::Limits::from_flags(app.flags());
            Some(listener::spawn(address, routes, limits)?)
        }
    };
    app.on_shutdown(move || async move {
        if let Some(intake) = intake {
            intake.stop().await;
        }
        let flushed = gateway.flush();
        tracing::info!(flushed, "held web vitals observed at shutdown");
    });
    app.link(&config.paths.beacon, "web-vitals beacon intake (POST)");
    Ok(())
}
