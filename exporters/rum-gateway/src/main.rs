//! The `rum-gateway` binary: parses the flags and hands over to the exporter kit.

use std::process::ExitCode;

use clap::{FromArgMatches, Parser};
use rum_gateway::config::Config;
use rum_gateway::INFO;

/// mimalloc instead of the system allocator: request handling allocates and frees many
/// small buffers across the runtime's threads, where glibc's malloc measured slower (see
/// BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// How long a stopping gateway waits for Prometheus to collect what it flushed at shutdown,
/// unless `--web.final-scrape-wait` says otherwise: a scrape interval, within the 30 s an
/// orchestrator commonly allows for a graceful stop.
const FINAL_SCRAPE_WAIT: &str = "15s";

fn main() -> ExitCode {
    let command = exporter_kit::flags::command::<Cli>(&INFO).mut_arg("final_scrape_wait", |arg| {
        arg.default_value(FINAL_SCRAPE_WAIT)
    });
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    exporter_kit::run::<Config>(INFO, cli.kit, |app| {
        rum_gateway::setup(app, cli.intake_listen_address)
    })
}
