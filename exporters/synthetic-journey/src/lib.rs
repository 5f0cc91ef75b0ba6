//! `synthetic-journey`: walks scripted user journeys in headless Chromium and runs HTTP and
//! WebSocket checks, on a schedule, for Prometheus.

pub mod artifacts;
pub mod browser;
pub mod cdp;
pub mod checks;
pub mod config;
pub mod exporter;
pub mod journey;
pub mod keys;
pub mod metrics;
pub mod names;
pub mod page;
pub mod probe;
pub mod runner;
pub mod scheduler;
pub mod status;
pub mod template;

use exporter_kit::ExporterInfo;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "synthetic-journey",
    default_port: 9472,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
