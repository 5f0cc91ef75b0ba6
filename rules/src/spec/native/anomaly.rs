//! Anomaly detectors of a `rulegen/v1` spec.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::common::{check_labels, check_name, check_query, detector_output, query};
use super::super::SpecError;
use super::default_true;
use crate::duration::Duration;
use crate::model::{Detector, Direction, Seasonality};
use crate::source::Document;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DetectorSpec {
    /// Name of the detector, used in the `anomaly` label.
    name: String,
    /// The signal, as PromQL (an aggregated rate or gauge).
    expr: String,
    /// `weekly` (default), `daily` or `none`.
    #[serde(default)]
    seasonality: Option<String>,
    /// Band half-width in standard deviations (default 3).
    #[serde(default = "default_sensitivity")]
    sensitivity: f64,
    /// Which side alerts: `up`, `down` or `both` (default).
    #[serde(default)]
    direction: Option<String>,
    /// How long the value must stay outside the band (default 10m).
    #[serde(default = "default_for", rename = "for")]
    for_: Duration,
    /// Clamp the lower band at zero (default true).
    #[serde(default = "default_true")]
    non_negative: bool,
    /// Labels on the alert.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Annotations on the alert, overriding the generated ones.
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn default_sensitivity() -> f64 {
    3.0
}

fn default_for() -> Duration {
    Duration::minutes(10)
}

/// Maps and checks one detector.
pub(super) fn detector(
    doc: &Document,
    i: usize,
    d: &DetectorSpec,
) -> Result<Detector, Vec<SpecError>> {
    let path = format!("anomalies.{i}");
    let at = |k: &str| doc.locate(&format!("{path}.{k}"));
    let mut errors = Vec::new();
    errors.extend(check_name(doc, &format!("{path}.name"), "detector", &d.name).err());
    let seasonality = match d.seasonality.as_deref().unwrap_or("weekly") {
        "weekly" => Seasonality::Weekly,
        "daily" => Seasonality::Daily,
        "none" => Seasonality::None,
        s => {
            errors.push(SpecError::new(
                at("seasonality"),
                format!("unknown seasonality {s:?}, expected weekly, daily or none"),
            ));
            Seasonality::None
        }
    };
    let direction = match d.direction.as_deref().unwrap_or("both") {
        "up" => Direction::Up,
        "down" => Direction::Down,
        "both" => Direction::Both,
        s => {
            errors.push(SpecError::new(
                at("direction"),
                format!("unknown direction {s:?}, expected up, down or both"),
            ));
            Direction::Both
        }
    };
    if !(d.sensitivity > 0.0 && d.sensitivity.is_finite()) {
        errors.push(SpecError::new(
            at("sensitivity"),
            "sensitivity must be a positive number",
        ));
    }
    errors.extend(check_labels(doc, &format!("{path}.labels"), &d.labels));
    let longest = Duration(seasonality.season().seconds() / 12);
    if d.for_ > longest {
        errors.push(SpecError::new(
            at("for"),
            format!(
                "for {} is too long: an anomaly lasting more than {longest} (a twelfth of the \
                 season) moves its own band",
                d.for_
            ),
        ));
    }
    let expr = query(doc, &format!("{path}.expr"), &d.expr);
    errors.extend(check_query(&expr, false).err());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Detector {
        name: d.name.clone(),
        expr,
        seasonality,
        sensitivity: d.sensitivity,
        direction,
        for_: d.for_,
        non_negative: d.non_negative,
        labels: d.labels.clone(),
        annotations: d.annotations.clone(),
        output: detector_output(&d.name),
        location: doc.locate(&path),
    })
}
