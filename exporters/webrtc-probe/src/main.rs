//! The `webrtc-probe` binary: parses the flags and hands over to the exporter kit.

use std::process::ExitCode;

use clap::Parser;
use webrtc_probe::config::Config;
use webrtc_probe::{WebrtcProber, INFO};

/// Probes STUN, TURN, peer connections and WHIP endpoints for Prometheus.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,

    /// Most probes run at once; further ones fail at once at stage `concurrency` and count in
    /// webrtc_probe_probes_over_limit_total. A relayed peer probe costs a few MiB and some
    /// CPU (see BENCHMARKS.md).
    #[arg(long = "probe.max-concurrent", value_name = "N", default_value_t = 100)]
    max_concurrent: usize,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    let max_concurrent = cli.max_concurrent;
    exporter_kit::run::<Config>(INFO, cli.kit, move |app| {
        let prober = WebrtcProber::new(max_concurrent, app.registry());
        app.serve_probes(prober);
        Ok(())
    })
}
