//! The exporter kit's checks, run on the real `synthetic-journey` binary.

exporter_kit::kit_checks!(
    env!("CARGO_BIN_EXE_synthetic-journey"),
    synthetic_journey::INFO
);
