//! The `db-slowquery` binary: parses the flags and hands over to its library.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use db_slowquery::config::Config;
use db_slowquery::digest::{self, Digest, Filter};
use db_slowquery::fingerprint::Options;
use db_slowquery::INFO;

/// Digests slow queries from MySQL, MariaDB and PostgreSQL for Prometheus.
///
/// Without a command it runs as an exporter; `digest` prints a report of slow logs.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: exporter_kit::Flags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Groups the entries of MySQL/MariaDB slow logs by fingerprint, heaviest first.
    Digest(DigestArgs),
}

#[derive(clap::Args)]
struct DigestArgs {
    /// Slow log files, plain or gzip (`.gz`); none or `-` reads standard input.
    files: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Most classes shown, heaviest first; 0 shows every class.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Skip entries before this time: Unix seconds, `YYYY-MM-DD[ HH:MM:SS]` (UTC) or a
    /// duration before now such as `1h`.
    #[arg(long)]
    since: Option<String>,
    /// Skip entries at or after this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// Keep digits inside identifiers (`users_2009`), like pt-query-digest's flag.
    #[arg(long)]
    preserve_embedded_numbers: bool,
}

#[derive(ValueEnum, Clone, Copy)]
enum Format {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli: Cli = exporter_kit::flags::parse(&INFO);
    match cli.command {
        Some(Command::Digest(args)) => match run_digest(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("db-slowquery digest: {error:#}");
                ExitCode::FAILURE
            }
        },
        None => exporter_kit::run::<Config>(INFO, cli.kit, db_slowquery::exporter::setup),
    }
}

fn run_digest(args: &DigestArgs) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let time = |value: &Option<String>, flag: &str| {
        value
            .as_deref()
            .map(|v| digest::parse_time_arg(v, now))
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let filter = Filter {
        since: time(&args.since, "--since")?,
        until: time(&args.until, "--until")?,
        options: Options {
            preserve_embedded_numbers: args.preserve_embedded_numbers,
        },
    };
    let mut digest = Digest::default();
    // One core parses; the others fingerprint.
    let workers =
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
    if args.files.is_empty() {
        digest.read_parallel(io::stdin().lock(), &filter, workers)?;
    }
    for path in &args.files {
        let input = open(path).with_context(|| format!("could not open {}", path.display()))?;
        digest
            .read_parallel(input, &filter, workers)
            .with_context(|| format!("could not read {}", path.display()))?;
    }
    let report = match args.format {
        Format::Table => digest::to_table(&digest, args.limit),
        Format::Json => digest::to_json(&digest, args.limit),
    };
    io::stdout().lock().write_all(report.as_bytes())?;
    Ok(())
}

fn open(path: &PathBuf) -> io::Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let file = BufReader::with_capacity(256 << 10, File::open(path)?);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(file)))
    } else {
        Ok(Box::new(file))
    }
}
