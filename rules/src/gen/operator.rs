//! `PrometheusRule` resources of the prometheus-operator, holding the same groups.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rulefile::{to_yaml, RuleFile};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resource<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: &'a RuleFile,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    labels: BTreeMap<String, String>,
}

/// One resource per rule file, named after it.
pub fn resource(stem: &str, rules: &RuleFile) -> String {
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    to_yaml(&Resource {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: Metadata {
            name,
            labels: BTreeMap::from([
                ("app.kubernetes.io/component".into(), "slo".into()),
                ("app.kubernetes.io/managed-by".into(), "rulegen".into()),
            ]),
        },
        spec: rules,
    })
}
