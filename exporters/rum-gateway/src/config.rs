//! The `--config.file` of rum-gateway.

use exporter_kit::{Problems, Validate};
use serde::Deserialize;

/// The whole config file. The exporter's own settings arrive with its own job; until then
/// the file must be an empty mapping, and any key is an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl Validate for Config {
    fn validate(&self, _problems: &mut Problems) {}
}
