//! `rum-gateway`: Receives Real User Monitoring beacons from browsers and exposes them as Prometheus metrics.

pub mod config;

use exporter_kit::ExporterInfo;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "rum-gateway",
    default_port: 9470,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
