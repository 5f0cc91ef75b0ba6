//! `synthetic-journey`: Walks scripted user journeys in headless Chromium and runs HTTP and WebSocket checks for Prometheus.

pub mod config;

use exporter_kit::ExporterInfo;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "synthetic-journey",
    default_port: 9472,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
