//! Loader of Sloth `version: prometheus/v1` specs, read as Sloth reads them so that a Sloth
//! user keeps alert names and labels. Sloth has no per-SLO period: every SLO gets 30 days,
//! Sloth's default; plugins cannot run here and are refused.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::common::{
    check_labels, check_name, check_objective, check_query, decode, query, slo_output,
};
use super::native::check_alert_name;
use super::SpecError;
use crate::duration::Duration;
use crate::model::{self, AlertSpec, Alerting, Model, Sli, Slo};
use crate::source::Document;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    version: String,
    service: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    slo_plugins: Option<serde_yaml::Value>,
    slos: Vec<SloSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SloSpec {
    name: String,
    #[serde(default)]
    description: String,
    objective: f64,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    plugins: Option<serde_yaml::Value>,
    sli: SliSpec,
    #[serde(default)]
    alerting: AlertingSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliSpec {
    #[serde(default)]
    events: Option<Events>,
    #[serde(default)]
    raw: Option<Raw>,
    #[serde(default)]
    plugin: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Events {
    error_query: String,
    total_query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    error_ratio_query: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingSpec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    page_alert: AlertToggle,
    #[serde(default)]
    ticket_alert: AlertToggle,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertToggle {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Maps one Sloth document onto the model.
pub fn load(doc: &Document, model: &mut Model) -> Result<(), Vec<SpecError>> {
    let spec: Spec = decode(doc)?;
    let mut errors = check_labels(doc, "labels", &spec.labels);
    errors.extend(check_name(doc, "service", "service", &spec.service).err());
    if spec.slo_plugins.is_some() {
        errors.push(plugins_error(doc, "slo_plugins"));
    }
    if spec.slos.is_empty() {
        errors.push(SpecError::new(
            doc.locate("slos"),
            "a Sloth spec needs at least one SLO",
        ));
    }
    for (i, s) in spec.slos.iter().enumerate() {
        match slo(doc, i, &spec, s) {
            Ok(slo) => model.slos.push(slo),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn plugins_error(doc: &Document, path: &str) -> SpecError {
    SpecError::new(
        doc.locate(path),
        "Sloth plugins are not supported: rulegen cannot run them; write the SLI as events or raw",
    )
}

fn slo(doc: &Document, i: usize, spec: &Spec, s: &SloSpec) -> Result<Slo, Vec<SpecError>> {
    let path = format!("slos.{i}");
    let at = |k: &str| format!("{path}.{k}");
    let mut errors = Vec::new();
    errors.extend(check_name(doc, &at("name"), "SLO", &s.name).err());
    errors.extend(check_objective(doc, &at("objective"), s.objective).err());
    errors.extend(check_labels(doc, &at("labels"), &s.labels));
    if s.plugins.is_some() {
        errors.push(plugins_error(doc, &at("plugins")));
    }
    let sli = sli(doc, &at("sli"), &s.sli);
    let alerting = alerting(doc, &at("alerting"), &s.alerting);
    match (sli, alerting) {
        (Ok(sli), Ok(alerting)) if errors.is_empty() => {
            let mut labels = spec.labels.clone();
            labels.extend(s.labels.clone());
            let id = format!("{}-{}", spec.service, s.name);
            Ok(Slo {
                output: slo_output(&id),
                id,
                service: spec.service.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                objective: s.objective,
                period: Duration::days(30),
                sli,
                labels,
                alerting,
                location: doc.locate(&path),
            })
        }
        (sli, alerting) => {
            errors.extend(sli.err().unwrap_or_default());
            errors.extend(alerting.err().unwrap_or_default());
            Err(errors)
        }
    }
}

fn sli(doc: &Document, path: &str, s: &SliSpec) -> Result<Sli, Vec<SpecError>> {
    if s.plugin.is_some() {
        return Err(vec![plugins_error(doc, &format!("{path}.plugin"))]);
    }
    let sli = match (&s.events, &s.raw) {
        (Some(e), None) => {
            if e.error_query.trim() == e.total_query.trim() {
                return Err(vec![SpecError::new(
                    doc.locate(&format!("{path}.events.total_query")),
                    "error_query and total_query must differ",
                )]);
            }
            Sli::Events {
                errors: query(doc, &format!("{path}.events.error_query"), &e.error_query),
                total: query(doc, &format!("{path}.events.total_query"), &e.total_query),
            }
        }
        (None, Some(r)) => Sli::Raw {
            error_ratio: query(
                doc,
                &format!("{path}.raw.error_ratio_query"),
                &r.error_ratio_query,
            ),
        },
        _ => {
            return Err(vec![SpecError::new(
                doc.locate(path),
                "sli needs exactly one of `events`, `raw` or `plugin`",
            )])
        }
    };
    let errors: Vec<SpecError> = super::native::sli_queries(&sli)
        .into_iter()
        .filter_map(|q| check_query(q, true).err())
        .collect();
    if errors.is_empty() {
        Ok(sli)
    } else {
        Err(errors)
    }
}

fn alerting(doc: &Document, path: &str, a: &AlertingSpec) -> Result<Alerting, Vec<SpecError>> {
    let mut errors = check_labels(doc, &format!("{path}.labels"), &a.labels);
    let both_disabled = a.page_alert.disable && a.ticket_alert.disable;
    let name = match &a.name {
        Some(n) => {
            errors.extend(check_alert_name(doc, &format!("{path}.name"), n));
            n.clone()
        }
        None if both_disabled => String::new(),
        None => {
            errors.push(SpecError::new(
                doc.locate(path),
                "alerting.name is required unless both page_alert and ticket_alert are disabled",
            ));
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let toggle = |t: &AlertToggle| AlertSpec {
        enabled: !t.disable,
        labels: t.labels.clone(),
        annotations: t.annotations.clone(),
        for_: None,
    };
    Ok(Alerting {
        name,
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        page: toggle(&a.page_alert),
        ticket: toggle(&a.ticket_alert),
        windows: model::default_windows(),
        min_events: 0,
        runbook_url: None,
        dashboard_url: None,
    })
}
