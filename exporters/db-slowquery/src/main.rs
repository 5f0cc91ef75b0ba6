//! The `db-slowquery` binary: parses the flags and hands over to the exporter kit.

use std::process::ExitCode;

use clap::Parser;
use db_slowquery::config::Config;
use db_slowquery::INFO;

/// Digests slow queries from MySQL, MariaDB and PostgreSQL for Prometheus.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    exporter_kit::run::<Config>(INFO, cli.kit, |_app| Ok(()))
}
