//! The flags every exporter shares, named as Prometheus exporters name them, each also
//! settable from an environment variable (`RUM_GATEWAY_WEB_LISTEN_ADDRESS` and so on).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, ValueEnum};
use humantime_serde::re::humantime;

use crate::ExporterInfo;

/// Flags of the kit; an exporter flattens them into its own clap parser.
#[derive(Args, Debug, Clone)]
pub struct Flags {
    /// Address to listen on for the web interface and telemetry (`:PORT` means every interface).
    #[arg(
        long = "web.listen-address",
        value_name = "ADDRESS",
        default_value = ":0"
    )]
    pub listen_address: String,

    /// Path to a web configuration file (exporter-toolkit format) enabling TLS and basic auth.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Most connections served at once; further ones wait in the listen backlog.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 512)]
    pub max_connections: usize,

    /// Time a client has to send a request's headers (and to finish a TLS handshake).
    #[arg(long = "web.header-read-timeout", value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// Largest request body accepted by the kit's endpoints; larger ones get 413.
    #[arg(long = "web.max-request-body-bytes", value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_request_body_bytes: usize,

    /// After a shutdown signal, once requests in flight finished and shutdown hooks ran, keep
    /// answering the kit's endpoints (`/metrics` among them) on the same address until one
    /// scrape of `/metrics` was answered or this long passed; `0s` exits at once.
    #[arg(long = "web.final-scrape-wait", value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub final_scrape_wait: Duration,

    /// Path to the configuration file; without it the exporter runs on its embedded default.
    #[arg(long = "config.file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,

    /// Validate the configuration (and web configuration) files, print the verdict and exit.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Least severe log level written.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Log line format.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,

    /// Time subtracted from Prometheus' scrape timeout to give a probe its deadline.
    #[arg(long = "probe.timeout-offset", value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub probe_timeout_offset: Duration,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Parses the command line of exporter `info` into `T`, which flattens [`Flags`]: sets the
/// exporter's default port and binds every flag to its environment variable.
pub fn parse<T: CommandFactory + FromArgMatches>(info: &ExporterInfo) -> T {
    let command = command::<T>(info);
    let matches = command.get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The clap command of exporter `info`, for [`parse`] and for tests.
pub fn command<T: CommandFactory>(info: &ExporterInfo) -> clap::Command {
    let prefix = info.name.to_uppercase().replace('-', "_");
    let mut command = T::command()
        .name(info.name)
        .version(info.build.version_line())
        .mut_arg("listen_address", |arg| {
            arg.default_value(format!(":{}", info.default_port))
        });
    let longs: Vec<(String, String)> = command
        .get_arguments()
        .filter_map(|arg| Some((arg.get_id().to_string(), arg.get_long()?.to_string())))
        .filter(|(_, long)| long != "help" && long != "version")
        .collect();
    for (id, long) in longs {
        let variable = format!("{prefix}_{}", long.to_uppercase().replace(['.', '-'], "_"));
        command = command.mut_arg(id, |arg| arg.env(variable));
    }
    command
}
