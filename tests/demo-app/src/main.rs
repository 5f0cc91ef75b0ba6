//! The `demo-app` binary: parses the flags and serves the application.

use std::process::ExitCode;

use clap::Parser;
use demo_app::{serve, Options};

fn main() -> ExitCode {
    let options = Options::parse();
    demo_app::main_with(serve(options), "demo-app")
}
