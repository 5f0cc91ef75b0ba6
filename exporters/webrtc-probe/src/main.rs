use std::process::ExitCode;

use clap::Parser;
use webrtc_probe::config::Config;
use webrtc_probe::{WebrtcProber, INFO};

/// Probes STUN, TURN, peer connections and WHIP endpoints for Prometheus.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    exporter_kit::run::<Config>(INFO, cli.kit, |app| {
        app.serve_probes(WebrtcProber);
        Ok(())
    })
}
