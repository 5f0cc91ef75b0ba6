//! The exporter kit's checks, run on the real `rum-gateway` binary.

exporter_kit::kit_checks!(env!("CARGO_BIN_EXE_rum-gateway"), rum_gateway::INFO);
