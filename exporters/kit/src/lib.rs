//! The exporter kit: everything an exporter of this toolkit needs that is not its own job.
//!
//! An exporter describes itself with an [`ExporterInfo`], flattens [`Flags`] into its clap
//! parser, and hands a setup function to [`run`], which wires logging, config loading and
//! reloading, the web config (TLS, basic auth), the HTTP server and graceful shutdown.

pub mod app;
pub mod config;
pub mod flags;
mod http;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod probe;
mod reload;
pub mod secret;
mod server;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webconfig;

pub use app::{check_config, run, App};
pub use config::{Config, ConfigError, ConfigErrors, Problems, Validate};
pub use flags::Flags;
pub use http::escape;
pub use probe::{ProbeContext, ProbeModules, Prober};
pub use secret::Secret;

/// Re-exported so exporters use the same versions as the kit.
pub use axum;
pub use prometheus_client;

/// The git revision the workspace was built from.
pub const GIT_REVISION: &str = env!("KIT_GIT_REVISION");
/// The `rustc --version` of the compiler that built the kit.
pub const RUSTC_VERSION: &str = env!("KIT_RUSTC_VERSION");

/// What goes into `<exporter>_build_info` and `--version`.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    pub rustc_version: &'static str,
}

impl BuildInfo {
    /// The line `--version` prints after the program name.
    pub fn version_line(&self) -> String {
        format!(
            "{} (revision {}, {})",
            self.version, self.revision, self.rustc_version
        )
    }
}

/// The build info of the calling crate: its own version, the workspace revision.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            revision: $crate::GIT_REVISION,
            rustc_version: $crate::RUSTC_VERSION,
        }
    };
}

/// Who an exporter is: its name (also the metric prefix, with `_` for `-`), its default
/// port, the config it runs on when given no `--config.file`, and its build.
#[derive(Debug, Clone, Copy)]
pub struct ExporterInfo {
    pub name: &'static str,
    pub default_port: u16,
    pub default_config: &'static str,
    pub build: BuildInfo,
}

impl ExporterInfo {
    /// The prefix of the exporter's own metrics, such as `rum_gateway`.
    pub fn metric_prefix(&self) -> String {
        self.name.replace('-', "_")
    }
}
