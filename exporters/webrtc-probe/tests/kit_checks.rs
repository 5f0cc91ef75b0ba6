//! The exporter kit's checks, run on the real `webrtc-probe` binary.

exporter_kit::kit_checks!(env!("CARGO_BIN_EXE_webrtc-probe"), webrtc_probe::INFO);
