//! The OpenSLO v1 documents as they are written, decoded strictly.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Envelope<S> {
    #[allow(dead_code)]
    pub(super) api_version: String,
    #[allow(dead_code)]
    pub(super) kind: String,
    pub(super) metadata: Metadata,
    pub(super) spec: S,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Metadata {
    pub(super) name: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, LabelValue>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum LabelValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SloSpec {
    #[serde(default)]
    pub(super) description: String,
    pub(super) service: String,
    #[serde(default)]
    pub(super) indicator: Option<InlineSli>,
    #[serde(default)]
    pub(super) indicator_ref: Option<String>,
    pub(super) time_window: Vec<TimeWindow>,
    pub(super) budgeting_method: String,
    pub(super) objectives: Vec<Objective>,
    #[serde(default)]
    pub(super) alert_policies: Vec<PolicyItem>,
}

/// An SLI written inside its SLO.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InlineSli {
    #[allow(dead_code)]
    pub(super) metadata: Metadata,
    pub(super) spec: SliSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TimeWindow {
    pub(super) duration: String,
    #[serde(default)]
    pub(super) is_rolling: Option<bool>,
    #[serde(default)]
    pub(super) calendar: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Objective {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) op: Option<String>,
    #[serde(default)]
    pub(super) value: Option<f64>,
    #[serde(default)]
    pub(super) target: Option<f64>,
    #[serde(default)]
    pub(super) target_percent: Option<f64>,
    #[serde(default)]
    pub(super) time_slice_target: Option<f64>,
    #[serde(default)]
    pub(super) time_slice_window: Option<String>,
    #[serde(default)]
    pub(super) indicator: Option<serde_yaml::Value>,
    #[serde(default)]
    pub(super) indicator_ref: Option<String>,
    #[serde(default)]
    pub(super) composite_weight: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PolicyItem {
    #[serde(default)]
    pub(super) alert_policy_ref: Option<String>,
    #[serde(default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) metadata: Option<Metadata>,
    #[serde(default)]
    pub(super) spec: Option<PolicySpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SliSpec {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) threshold_metric: Option<MetricHolder>,
    #[serde(default)]
    pub(super) ratio_metric: Option<RatioMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RatioMetric {
    #[serde(default)]
    pub(super) counter: bool,
    #[serde(default)]
    pub(super) good: Option<MetricHolder>,
    #[serde(default)]
    pub(super) bad: Option<MetricHolder>,
    #[serde(default)]
    pub(super) total: Option<MetricHolder>,
    #[serde(default)]
    pub(super) raw_type: Option<String>,
    #[serde(default)]
    pub(super) raw: Option<MetricHolder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct MetricHolder {
    pub(super) metric_source: MetricSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct MetricSource {
    #[serde(default)]
    pub(super) metric_source_ref: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) type_: Option<String>,
    pub(super) spec: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PolicySpec {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) alert_when_no_data: bool,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) alert_when_resolved: bool,
    #[serde(default = "yes")]
    pub(super) alert_when_breaching: bool,
    pub(super) conditions: Vec<ConditionItem>,
    #[serde(default)]
    pub(super) notification_targets: Vec<serde_yaml::Value>,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ConditionItem {
    #[serde(default)]
    pub(super) alert_condition_ref: Option<String>,
    #[serde(default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) metadata: Option<Metadata>,
    #[serde(default)]
    pub(super) spec: Option<ConditionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ConditionSpec {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    pub(super) severity: String,
    pub(super) condition: Condition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Condition {
    pub(super) kind: String,
    pub(super) op: String,
    pub(super) threshold: f64,
    pub(super) lookback_window: String,
    #[serde(default)]
    pub(super) alert_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ServiceSpec {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DataSourceSpec {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    #[serde(rename = "type")]
    pub(super) type_: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) connection_details: Option<serde_yaml::Value>,
}
