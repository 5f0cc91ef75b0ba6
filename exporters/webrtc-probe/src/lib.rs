//! `webrtc-probe`: Probes STUN, TURN, peer connections and WHIP endpoints for Prometheus.

pub mod config;

use exporter_kit::ExporterInfo;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "webrtc-probe",
    default_port: 9471,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
