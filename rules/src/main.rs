//! The `rulegen` command: parses flags and wires the library's loaders, generators and checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use rulegen::gen::{self, Format, Options, Target};

#[derive(Debug, Parser)]
#[command(name = "rulegen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write rules, unit tests, dashboards and Alertmanager config from the specs.
    Generate(Common),
    /// Regenerate in memory; exit 1 listing every stale, missing or orphaned file.
    Check(Common),
    /// Generate into a temporary directory and run promtool and amtool over the result.
    Validate {
        #[command(flatten)]
        common: Common,
        /// promtool binary.
        #[arg(long, default_value = "promtool", env = "RULEGEN_PROMTOOL")]
        promtool: PathBuf,
        /// amtool binary.
        #[arg(long, default_value = "amtool", env = "RULEGEN_AMTOOL")]
        amtool: PathBuf,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Spec files or directories (default: rules/specs under the repository root).
    #[arg(long = "spec", value_name = "PATH")]
    specs: Vec<PathBuf>,
    /// Output directory (default: the repository root).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Rule file format.
    #[arg(long, value_enum, default_value_t = Format::Prometheus)]
    format: Format,
    /// Prometheus version the rules are written for.
    #[arg(long, value_enum, default_value_t = Target::Prometheus2)]
    target: Target,
}

impl Common {
    fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(repository_root)
    }

    fn spec_paths(&self) -> Vec<PathBuf> {
        if self.specs.is_empty() {
            vec![repository_root().join("rules/specs")]
        } else {
            self.specs.clone()
        }
    }

    fn load(&self) -> anyhow::Result<rulegen::model::Model> {
        rulegen::spec::load_paths(&self.spec_paths()).context("could not load specs")
    }

    fn options(&self) -> Options {
        Options {
            format: self.format,
            target: self.target,
        }
    }

    fn generate(&self) -> anyhow::Result<gen::Output> {
        Ok(gen::generate(&self.load()?, &self.options()))
    }
}

/// The nearest directory upwards holding `.git`, or the current directory.
fn repository_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rulegen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Generate(c) => {
            let out = c.generate()?;
            let dir = c.out_dir();
            let written = rulegen::output::write(&out, &dir)?;
            println!(
                "{} files generated, {} changed in {}",
                out.files.len(),
                written.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(c) => {
            let out = c.generate()?;
            let drift = rulegen::output::check(&out, &c.out_dir())?;
            for d in &drift {
                println!("{d}");
            }
            if drift.is_empty() {
                println!("{} generated files up to date", out.files.len());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("run `rulegen generate` to update them");
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Validate {
            common,
            promtool,
            amtool,
        } => {
            let model = common.load()?;
            // promtool reads plain rule files; the operator format wraps the same groups.
            let opts = Options {
                format: Format::Prometheus,
                ..common.options()
            };
            let out = gen::generate(&model, &opts);
            let routing = model.routing.as_ref();
            let report = rulegen::validate::validate(&out, routing, &promtool, &amtool)?;
            for line in report.lines {
                print!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
