//! `webrtc-probe`: probes STUN, TURN, peer connections and WHIP endpoints for Prometheus,
//! blackbox_exporter style (`GET /probe?module=NAME&target=HOST:PORT`).

pub mod client;
pub mod config;
pub mod credentials;
pub mod link;
pub mod names;
pub mod probe;
pub mod probers;
pub mod quality;
pub mod stream;
pub mod target;
pub mod tls;

use exporter_kit::ExporterInfo;

pub use probers::WebrtcProber;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "webrtc-probe",
    default_port: 9471,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
