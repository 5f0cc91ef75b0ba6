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

    /// Serve the public intakes on this address instead of --web.listen-address, which then
    /// serves only /metrics and the kit's endpoints (keep it private).
    #[arg(long = "intake.listen-address", value_name = "ADDRESS")]
    intake_listen_address: Option<String>,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    exporter_kit::run::<Config>(INFO, cli.kit, |app| {
        rum_gateway::setup(app, cli.intake_listen_address)
    })
}
