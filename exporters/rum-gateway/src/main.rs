//! The `rum-gateway` binary: parses the flags and hands over to the exporter kit.

use std::process::ExitCode;

use clap::Parser;
use rum_gateway::config::Config;
use rum_gateway::INFO;

/// Receives Real User Monitoring beacons from browsers and exposes them as Prometheus metrics.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    exporter_kit::run::<Config>(INFO, cli.kit, |_app| Ok(()))
}
