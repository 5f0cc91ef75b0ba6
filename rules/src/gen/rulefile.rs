//! Prometheus rule files as data, serialised with a stable key order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::duration::Duration;

/// A rule file: `groups:` and nothing else.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule; keys in the order people read them.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    pub fn record(name: &str, expr: String, labels: BTreeMap<String, String>) -> Self {
        Rule {
            record: Some(name.to_string()),
            expr,
            labels,
            ..Rule::default()
        }
    }

    pub fn alert(name: &str, expr: String, labels: BTreeMap<String, String>) -> Self {
        Rule {
            alert: Some(name.to_string()),
            expr,
            labels,
            ..Rule::default()
        }
    }
}

/// Serialises `value` as YAML under the generated-file header.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let body = serde_yaml::to_string(value).expect("rule data always serialises");
    format!("# {}\n{body}", crate::names::GENERATED_NOTE)
}

/// A PromQL selector from label pairs, keys sorted: `{a="1", b="2"}`.
pub fn selector(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Escapes a label value for a PromQL string literal.
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prints a number as PromQL reads it, free of float noise (0.001, 14.4, 0.933333333333).
pub fn num(x: f64) -> String {
    format!("{}", crate::model::round_ratio(x))
}
