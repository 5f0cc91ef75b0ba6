//! The exporter kit's checks, run on the real `db-slowquery` binary.

exporter_kit::kit_checks!(env!("CARGO_BIN_EXE_db-slowquery"), db_slowquery::INFO);
