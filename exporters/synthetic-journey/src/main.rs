//! The `synthetic-journey` binary: parses the flags and hands over to the exporter kit.

use std::process::ExitCode;

use clap::Parser;
use synthetic_journey::config::Config;
use synthetic_journey::INFO;

/// Walks scripted user journeys in headless Chromium and runs HTTP and WebSocket checks for
/// Prometheus.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,
    #[command(flatten)]
    own: synthetic_journey::exporter::Flags,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    let code = exporter_kit::run::<Config>(INFO, cli.kit, |app| {
        synthetic_journey::exporter::setup(app, cli.own)
    });
    // Chromium does not exit with its parent.
    synthetic_journey::exporter::stop_browser();
    code
}
