//! Re-reading the config and web config files on `POST /-/reload` and SIGHUP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{watch, Mutex};

use crate::config::{self, Config, ConfigErrors, Source};
use crate::metrics::KitMetrics;
use crate::webconfig::WebConfig;

/// Loads configs and publishes them to everything watching.
pub struct Reloader<C> {
    pub config_file: Option<PathBuf>,
    pub web_config_file: Option<PathBuf>,
    pub default_config: &'static str,
    pub config: watch::Sender<Arc<C>>,
    pub web: watch::Sender<WebConfig>,
    pub metrics: KitMetrics,
    /// Two reloads at once would race to publish; one at a time.
    pub running: Mutex<()>,
}

/// Both configs as read from disk, not yet published.
pub struct Loaded<C> {
    pub config: C,
    pub web: WebConfig,
}

/// Reads the config (or the embedded default) and the web config.
pub fn load_all<C: Config>(
    config_file: Option<&PathBuf>,
    web_config_file: Option<&PathBuf>,
    default_config: &str,
) -> Result<Loaded<C>, ConfigErrors> {
    let config = match config_file {
        Some(path) => config::load_file(path)?,
        None => config::load_str(default_config, &Source::Embedded)?,
    };
    let web = match web_config_file {
        Some(path) => WebConfig::load(path)?,
        None => WebConfig::default(),
    };
    Ok(Loaded { config, web })
}

impl<C: Config> Reloader<C> {
    /// Reloads both files; on any error nothing changes and the error is returned.
    pub async fn reload(&self) -> Result<(), ConfigErrors> {
        let _one_at_a_time = self.running.lock().await;
        let loaded = load_all::<C>(
            self.config_file.as_ref(),
            self.web_config_file.as_ref(),
            self.default_config,
        );
        match loaded {
            Ok(loaded) => {
                self.config.send_replace(Arc::new(loaded.config));
                self.web.send_replace(loaded.web);
                self.mark_success();
                tracing::info!("configuration reloaded");
                Ok(())
            }
            Err(errors) => {
                self.metrics.reload_successful.set(0);
                tracing::error!(error = %errors, "configuration reload failed; keeping the previous one");
                Err(errors)
            }
        }
    }

    /// Records a successful load, at start or on reload.
    pub fn mark_success(&self) {
        self.metrics.reload_successful.set(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.metrics.reload_success_timestamp.set(now);
    }
}
