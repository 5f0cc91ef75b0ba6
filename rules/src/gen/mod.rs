//! Generators: each reads the model and adds its files to one in-memory output tree, so that
//! `generate` writes it and `check` compares it with what is on disk.

pub mod alertmanager;
pub mod anomaly;
pub mod dashboards;
pub mod operator;
pub mod packs;
pub mod rulefile;
pub mod slo;
pub mod synth;
pub mod unittest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::Model;
use rulefile::{to_yaml, Group, RuleFile};

/// Directory of rule files under the output directory.
pub const RULES_DIR: &str = "rules";
/// Directory of the promtool unit tests, under the rules directory.
pub const UNITTESTS_DIR: &str = "rules/unittests";
pub const DASHBOARDS_DIR: &str = "grafana/dashboards";
pub const ALERTMANAGER_FILE: &str = "alertmanager/alertmanager.yml";

/// Output file format of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Plain Prometheus rule files.
    #[default]
    Prometheus,
    /// `PrometheusRule` resources of the prometheus-operator.
    PrometheusOperator,
}

/// Prometheus version the rules are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Target {
    /// Prometheus 2.42 up to the last 2.x.
    #[default]
    #[value(name = "prometheus-2")]
    Prometheus2,
    /// Prometheus 3.x, which writes classic histogram `le` labels as floats (`1.0`).
    #[value(name = "prometheus-3")]
    Prometheus3,
}

impl Target {
    /// The `le` label value of a bucket boundary as this version stores it.
    pub fn le_value(self, threshold: &str) -> String {
        let integral = !threshold.contains(['.', 'e', 'E', 'I', 'N']);
        match self {
            Target::Prometheus3 if integral => format!("{threshold}.0"),
            _ => threshold.to_string(),
        }
    }

    /// A matcher on the `le` label of a bucket boundary. Prometheus 2 stores an integral bound
    /// as the exporter wrote it: `le="2"` from the text format, `le="2.0"` from OpenMetrics (the
    /// toolkit's exporters offer it, and Prometheus 2 prefers it), so both are matched there.
    pub fn le_matcher(self, threshold: &str) -> String {
        let value = self.le_value(threshold);
        let integral = !threshold.contains(['.', 'e', 'E', 'I', 'N']);
        match self {
            Target::Prometheus2 if integral => format!("le=~\"{value}|{value}\\\\.0\""),
            _ => format!("le=\"{value}\""),
        }
    }
}

/// How to generate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub format: Format,
    pub target: Target,
}

/// Generated files by path relative to the output directory.
#[derive(Debug, Default, PartialEq)]
pub struct Output {
    pub files: BTreeMap<PathBuf, String>,
}

impl Output {
    fn add(&mut self, path: impl AsRef<Path>, content: String) {
        self.files.insert(path.as_ref().to_path_buf(), content);
    }

    /// Rule files, for promtool.
    pub fn rule_files(&self) -> impl Iterator<Item = &PathBuf> {
        self.files.keys().filter(|p| is_rule_file(p))
    }

    /// Unit test files, for promtool.
    pub fn test_files(&self) -> impl Iterator<Item = &PathBuf> {
        self.files.keys().filter(|p| p.starts_with(UNITTESTS_DIR))
    }
}

fn is_rule_file(p: &Path) -> bool {
    p.parent() == Some(Path::new(RULES_DIR))
}

/// Runs every generator over the model.
pub fn generate(model: &Model, opts: &Options) -> Output {
    let mut out = Output::default();
    let mut files: BTreeMap<String, Vec<Group>> = BTreeMap::new();
    for slo in &model.slos {
        files
            .entry(slo.output.clone())
            .or_default()
            .extend(slo::groups(slo, opts));
    }
    if model.packs.enabled {
        files.insert(
            packs::FILE_STEM.to_string(),
            packs::groups(&model.packs, opts.target),
        );
    }
    for d in all_detectors(model) {
        files
            .entry(d.output.clone())
            .or_default()
            .push(anomaly::group(&d));
    }
    for (stem, groups) in &files {
        let rules = RuleFile {
            groups: groups.clone(),
        };
        let text = match opts.format {
            Format::Prometheus => to_yaml(&rules),
            Format::PrometheusOperator => operator::resource(stem, &rules),
        };
        out.add(Path::new(RULES_DIR).join(format!("{stem}.yml")), text);
    }
    if opts.format == Format::Prometheus {
        for (name, text) in unittest::files(model, &files, opts) {
            out.add(Path::new(UNITTESTS_DIR).join(name), text);
        }
    }
    for (name, text) in dashboards::files(model, opts) {
        out.add(Path::new(DASHBOARDS_DIR).join(name), text);
    }
    if let Some(routing) = &model.routing {
        out.add(ALERTMANAGER_FILE, alertmanager::file(routing, model));
    }
    out
}

/// The spec's anomaly detectors, then the packs' own when the packs are on.
pub fn all_detectors(model: &Model) -> Vec<crate::model::Detector> {
    let mut all = model.anomalies.clone();
    if model.packs.enabled {
        all.extend(packs::detectors(&model.packs));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_3_writes_whole_bucket_boundaries_as_floats() {
        assert_eq!(Target::Prometheus3.le_value("1"), "1.0");
        assert_eq!(Target::Prometheus3.le_value("0.3"), "0.3");
        assert_eq!(Target::Prometheus3.le_value("+Inf"), "+Inf");
        assert_eq!(Target::Prometheus2.le_matcher("2"), r#"le=~"2|2\\.0""#);
        assert_eq!(Target::Prometheus2.le_matcher("2.5"), r#"le="2.5""#);
        assert_eq!(Target::Prometheus3.le_matcher("2"), r#"le="2.0""#);
        assert_eq!(Target::Prometheus2.le_value("1"), "1");
    }
}
