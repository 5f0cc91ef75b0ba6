//! `db-slowquery`: Digests slow queries from MySQL, MariaDB and PostgreSQL for Prometheus.

pub mod aggregate;
pub mod auto_explain;
pub mod config;
pub mod digest;
pub mod explain;
pub mod exporter;
mod find;
pub mod fingerprint;
pub mod metrics;
pub mod mysql;
pub mod names;
mod polling;
pub mod postgres;
pub mod slowlog;
pub mod stats;
pub mod tail;

use exporter_kit::ExporterInfo;

/// Who this exporter is, for the kit.
pub const INFO: ExporterInfo = ExporterInfo {
    name: "db-slowquery",
    default_port: 9473,
    default_config: include_str!("default.yml"),
    build: exporter_kit::build_info!(),
};
