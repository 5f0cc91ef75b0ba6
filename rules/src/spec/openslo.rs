//! Loader of OpenSLO `apiVersion: openslo/v1` documents: SLO, SLI, AlertPolicy,
//! AlertCondition, Service and DataSource, resolved by reference across all files. What the
//! model cannot honour (Timeslices budgeting, calendar windows, composite SLOs, alerting on
//! missing data, notification targets) is refused with the reason.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::common::{check_labels, check_name, check_objective, check_query, decode};
use super::SpecError;
use crate::duration::Duration;
use crate::model::{AlertSpec, Alerting, BurnWindow, Model, Query, Severity, Sli, Slo};
use crate::source::Document;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    spec: S,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    display_name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, LabelValue>,
    #[serde(default)]
    #[allow(dead_code)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum LabelValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SloSpec {
    #[serde(default)]
    description: String,
    service: String,
    #[serde(default)]
    indicator: Option<InlineSli>,
    #[serde(default)]
    indicator_ref: Option<String>,
    time_window: Vec<TimeWindow>,
    budgeting_method: String,
    objectives: Vec<Objective>,
    #[serde(default)]
    alert_policies: Vec<PolicyItem>,
}

/// An SLI written inside its SLO.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineSli {
    #[allow(dead_code)]
    metadata: Metadata,
    spec: SliSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[serde(default)]
    #[allow(dead_code)]
    display_name: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
    #[serde(default)]
    time_slice_target: Option<f64>,
    #[serde(default)]
    time_slice_window: Option<String>,
    #[serde(default)]
    indicator: Option<serde_yaml::Value>,
    #[serde(default)]
    indicator_ref: Option<String>,
    #[serde(default)]
    composite_weight: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyItem {
    #[serde(default)]
    alert_policy_ref: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    spec: Option<PolicySpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SliSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    threshold_metric: Option<MetricHolder>,
    #[serde(default)]
    ratio_metric: Option<RatioMetric>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetric {
    #[serde(default)]
    counter: bool,
    #[serde(default)]
    good: Option<MetricHolder>,
    #[serde(default)]
    bad: Option<MetricHolder>,
    #[serde(default)]
    total: Option<MetricHolder>,
    #[serde(default)]
    raw_type: Option<String>,
    #[serde(default)]
    raw: Option<MetricHolder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricHolder {
    metric_source: MetricSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricSource {
    #[serde(default)]
    metric_source_ref: Option<String>,
    #[serde(default, rename = "type")]
    type_: Option<String>,
    spec: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicySpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    alert_when_no_data: bool,
    #[serde(default)]
    #[allow(dead_code)]
    alert_when_resolved: bool,
    #[serde(default = "yes")]
    alert_when_breaching: bool,
    conditions: Vec<ConditionItem>,
    #[serde(default)]
    notification_targets: Vec<serde_yaml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConditionItem {
    #[serde(default)]
    alert_condition_ref: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    spec: Option<ConditionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConditionSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    severity: String,
    condition: Condition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Condition {
    kind: String,
    op: String,
    threshold: f64,
    lookback_window: String,
    #[serde(default)]
    alert_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DataSourceSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(rename = "type")]
    type_: String,
    #[serde(default)]
    #[allow(dead_code)]
    connection_details: Option<serde_yaml::Value>,
}

/// A named document with the document it came from, for error locations.
type Named<T> = HashMap<String, (Document, T)>;

/// Gathers OpenSLO documents from every file, since they refer to each other by name.
#[derive(Default)]
pub struct Collector {
    slos: Vec<(Document, Envelope<SloSpec>)>,
    slis: Named<SliSpec>,
    policies: Named<PolicySpec>,
    conditions: Named<ConditionSpec>,
    data_sources: Named<DataSourceSpec>,
}

impl Collector {
    /// Decodes one document by its kind.
    pub fn add(&mut self, doc: &Document) -> Result<(), Vec<SpecError>> {
        let value: serde_yaml::Value = decode(doc)?;
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        match kind {
            "SLO" => self.slos.push((doc.clone(), decode(doc)?)),
            "SLI" => insert(&mut self.slis, doc, decode(doc)?)?,
            "AlertPolicy" => insert(&mut self.policies, doc, decode(doc)?)?,
            "AlertCondition" => insert(&mut self.conditions, doc, decode(doc)?)?,
            "DataSource" => {
                let ds: Envelope<DataSourceSpec> = decode(doc)?;
                if !ds.spec.type_.eq_ignore_ascii_case("prometheus") {
                    return Err(vec![SpecError::new(
                        doc.locate("spec.type"),
                        format!(
                            "data source type {:?} is not supported, only Prometheus",
                            ds.spec.type_
                        ),
                    )]);
                }
                insert(&mut self.data_sources, doc, ds)?;
            }
            "Service" => {
                let _: Envelope<ServiceSpec> = decode(doc)?;
            }
            other => {
                return Err(vec![SpecError::new(
                    doc.locate("kind"),
                    format!(
                        "OpenSLO kind {other:?} is not supported; expected SLO, SLI, AlertPolicy, \
                         AlertCondition, Service or DataSource"
                    ),
                )])
            }
        }
        Ok(())
    }

    /// Resolves references and maps every SLO objective onto the model.
    pub fn finish(self, model: &mut Model) -> Result<(), Vec<SpecError>> {
        let mut errors = Vec::new();
        for (doc, slo) in &self.slos {
            match self.slo(doc, slo) {
                Ok(slos) => model.slos.extend(slos),
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn slo(&self, doc: &Document, slo: &Envelope<SloSpec>) -> Result<Vec<Slo>, Vec<SpecError>> {
        let s = &slo.spec;
        let mut errors = Vec::new();
        errors.extend(check_name(doc, "metadata.name", "SLO", &slo.metadata.name).err());
        errors.extend(check_name(doc, "spec.service", "service", &s.service).err());
        let labels = labels(&slo.metadata);
        errors.extend(check_labels(doc, "metadata.labels", &labels));
        let period = period(doc, &s.time_window);
        if s.budgeting_method != "Occurrences" {
            errors.push(SpecError::new(
                doc.locate("spec.budgetingMethod"),
                format!(
                    "budgetingMethod {:?} is not supported: rulegen counts events \
                     (Occurrences); time slices would need a different SLI",
                    s.budgeting_method
                ),
            ));
        }
        let sli = self.indicator(doc, s);
        let alerting = period.as_ref().ok().map(|p| self.alerting(doc, s, *p));
        let (period, sli, alerting) = match (period, sli, alerting) {
            (Ok(p), Ok(sli), Some(Ok(a))) if errors.is_empty() => (p, sli, a),
            (p, sli, a) => {
                errors.extend(p.err());
                errors.extend(sli.err().unwrap_or_default());
                errors.extend(a.and_then(Result::err).unwrap_or_default());
                return Err(errors);
            }
        };
        let mut out = Vec::new();
        for (i, o) in s.objectives.iter().enumerate() {
            let at = format!("spec.objectives.{i}");
            let name = if s.objectives.len() == 1 {
                slo.metadata.name.clone()
            } else {
                format!("{}-{i}", slo.metadata.name)
            };
            match objective(doc, &at, o, &sli, &self.data_sources) {
                Ok((objective, sli)) => out.push(Slo {
                    id: format!("{}-{name}", s.service),
                    output: super::common::slo_output(&format!("{}-{name}", s.service)),
                    service: s.service.clone(),
                    name,
                    description: s.description.clone(),
                    objective,
                    period,
                    sli,
                    labels: labels.clone(),
                    alerting: alerting.clone(),
                    location: doc.locate(&at),
                }),
                Err(e) => errors.extend(e),
            }
        }
        if s.objectives.is_empty() {
            errors.push(SpecError::new(
                doc.locate("spec.objectives"),
                "an SLO needs an objective",
            ));
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The SLI, inline or by reference, with the document it was written in.
    fn indicator(&self, doc: &Document, s: &SloSpec) -> Result<Indicator, Vec<SpecError>> {
        match (&s.indicator, &s.indicator_ref) {
            (Some(sli), None) => Ok(Indicator {
                doc: doc.clone(),
                path: "spec.indicator.spec".into(),
                spec: sli.spec.clone(),
            }),
            (None, Some(name)) => match self.slis.get(name) {
                Some((d, sli)) => Ok(Indicator {
                    doc: d.clone(),
                    path: "spec".into(),
                    spec: sli.clone(),
                }),
                None => Err(vec![SpecError::new(
                    doc.locate("spec.indicatorRef"),
                    format!("no SLI named {name:?}"),
                )]),
            },
            _ => Err(vec![SpecError::new(
                doc.locate("spec"),
                "an SLO needs exactly one of `indicator` or `indicatorRef`",
            )]),
        }
    }

    fn alerting(
        &self,
        doc: &Document,
        s: &SloSpec,
        period: Duration,
    ) -> Result<Alerting, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut windows = Vec::new();
        let mut waits: BTreeMap<Severity, Duration> = BTreeMap::new();
        for (i, item) in s.alert_policies.iter().enumerate() {
            let at = format!("spec.alertPolicies.{i}");
            let Some((pdoc, ppath, policy)) = self.policy(doc, &at, item, &mut errors) else {
                continue;
            };
            for (j, c) in policy.conditions.iter().enumerate() {
                let cat = format!("{ppath}.conditions.{j}");
                let Some((cdoc, cpath, cond)) = self.condition(&pdoc, &cat, c, &mut errors) else {
                    continue;
                };
                match burn_window(&cdoc, &cpath, &cond, period) {
                    Ok((w, wait)) => {
                        if let Some(wait) = wait {
                            if waits
                                .insert(w.severity, wait)
                                .is_some_and(|old| old != wait)
                            {
                                errors.push(SpecError::new(
                                    cdoc.locate(&format!("{cpath}.condition.alertAfter")),
                                    "conditions of one severity must share alertAfter",
                                ));
                            }
                        }
                        windows.push(w);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let toggle = |sev: Severity| AlertSpec {
            enabled: windows.iter().any(|w| w.severity == sev),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            for_: waits.get(&sev).copied(),
        };
        Ok(Alerting {
            name: crate::names::DEFAULT_SLO_ALERT.to_string(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            page: toggle(Severity::Page),
            ticket: toggle(Severity::Ticket),
            windows: windows.clone(),
            min_events: 0,
            runbook_url: None,
            dashboard_url: None,
        })
    }

    fn policy(
        &self,
        doc: &Document,
        at: &str,
        item: &PolicyItem,
        errors: &mut Vec<SpecError>,
    ) -> Option<(Document, String, PolicySpec)> {
        let (pdoc, path, spec) = match (&item.alert_policy_ref, &item.spec) {
            (Some(name), None) => match self.policies.get(name) {
                Some((d, p)) => (d.clone(), "spec".to_string(), p.clone()),
                None => {
                    errors.push(SpecError::new(
                        doc.locate(&format!("{at}.alertPolicyRef")),
                        format!("no AlertPolicy named {name:?}"),
                    ));
                    return None;
                }
            },
            (None, Some(spec))
                if item.kind.as_deref() == Some("AlertPolicy") && item.metadata.is_some() =>
            {
                (doc.clone(), format!("{at}.spec"), spec.clone())
            }
            _ => {
                errors.push(SpecError::new(
                    doc.locate(at),
                    "an alert policy is either `alertPolicyRef` or an inline AlertPolicy",
                ));
                return None;
            }
        };
        let refuse =
            |key: &str, why: &str| SpecError::new(pdoc.locate(&format!("{path}.{key}")), why);
        if spec.alert_when_no_data {
            errors.push(refuse("alertWhenNoData", "alertWhenNoData is not supported: burn-rate alerts cannot fire on missing data; add an absent() alert"));
        }
        if !spec.alert_when_breaching {
            errors.push(refuse("alertWhenBreaching", "alertWhenBreaching: false is not supported: burn-rate alerts fire when the budget burns"));
        }
        if !spec.notification_targets.is_empty() {
            errors.push(refuse("notificationTargets", "notificationTargets are not supported: route alerts in the rulegen routing section"));
        }
        Some((pdoc, path, spec))
    }

    fn condition(
        &self,
        doc: &Document,
        at: &str,
        item: &ConditionItem,
        errors: &mut Vec<SpecError>,
    ) -> Option<(Document, String, ConditionSpec)> {
        match (&item.alert_condition_ref, &item.spec) {
            (Some(name), None) => match self.conditions.get(name) {
                Some((d, c)) => Some((d.clone(), "spec".to_string(), c.clone())),
                None => {
                    errors.push(SpecError::new(
                        doc.locate(&format!("{at}.alertConditionRef")),
                        format!("no AlertCondition named {name:?}"),
                    ));
                    None
                }
            },
            (None, Some(spec))
                if item.kind.as_deref() == Some("AlertCondition") && item.metadata.is_some() =>
            {
                Some((doc.clone(), format!("{at}.spec"), spec.clone()))
            }
            _ => {
                errors.push(SpecError::new(
                    doc.locate(at),
                    "an alert condition is either `alertConditionRef` or an inline AlertCondition",
                ));
                None
            }
        }
    }
}

fn insert<T>(map: &mut Named<T>, doc: &Document, e: Envelope<T>) -> Result<(), Vec<SpecError>> {
    let name = e.metadata.name.clone();
    if let Some((first, _)) = map.get(&name) {
        return Err(vec![SpecError::new(
            doc.locate("metadata.name"),
            format!(
                "duplicate {} {name:?}, first defined at {}",
                e.kind,
                first.locate("metadata.name")
            ),
        )]);
    }
    map.insert(name, (doc.clone(), e.spec));
    Ok(())
}

/// Labels as strings; a list becomes its values joined by commas.
fn labels(m: &Metadata) -> BTreeMap<String, String> {
    m.labels
        .iter()
        .map(|(k, v)| {
            let v = match v {
                LabelValue::One(s) => s.clone(),
                LabelValue::Many(l) => l.join(","),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The rolling window, in whole days or weeks; months and longer have no fixed length.
fn period(doc: &Document, windows: &[TimeWindow]) -> Result<Duration, SpecError> {
    let [w] = windows else {
        return Err(SpecError::new(
            doc.locate("spec.timeWindow"),
            "timeWindow needs exactly one window",
        ));
    };
    if w.calendar.is_some() || w.is_rolling == Some(false) {
        return Err(SpecError::new(
            doc.locate("spec.timeWindow.0"),
            "calendar time windows are not supported: Prometheus rules measure rolling windows",
        ));
    }
    let at = doc.locate("spec.timeWindow.0.duration");
    if w.duration.ends_with(['M', 'Q', 'Y']) {
        return Err(SpecError::new(
            at,
            format!(
                "duration {:?} has no fixed length; give it in days or weeks (e.g. 28d, 4w)",
                w.duration
            ),
        ));
    }
    let d: Duration = w
        .duration
        .parse()
        .map_err(|e: String| SpecError::new(at.clone(), e))?;
    if d.seconds() < 86_400 || d.seconds() % 86_400 != 0 {
        return Err(SpecError::new(
            at,
            format!("duration {} must be a whole number of days", w.duration),
        ));
    }
    Ok(d)
}

/// One AlertCondition as a burn-rate window pair; the short window is a twelfth of the long.
fn burn_window(
    doc: &Document,
    path: &str,
    c: &ConditionSpec,
    period: Duration,
) -> Result<(BurnWindow, Option<Duration>), SpecError> {
    let at = |k: &str| doc.locate(&format!("{path}.{k}"));
    let severity = match c.severity.to_ascii_lowercase().as_str() {
        "page" | "critical" => Severity::Page,
        "ticket" | "warning" => Severity::Ticket,
        s => {
            return Err(SpecError::new(
                at("severity"),
                format!(
                    "severity {s:?} is not supported, expected page, critical, ticket or warning"
                ),
            ))
        }
    };
    if c.condition.kind != "burnrate" {
        return Err(SpecError::new(
            at("condition.kind"),
            format!(
                "condition kind {:?} is not supported, only burnrate",
                c.condition.kind
            ),
        ));
    }
    if !matches!(c.condition.op.as_str(), "gt" | "gte") {
        return Err(SpecError::new(
            at("condition.op"),
            "a burn-rate condition needs op gt or gte",
        ));
    }
    let long: Duration = c
        .condition
        .lookback_window
        .parse()
        .map_err(|e: String| SpecError::new(at("condition.lookbackWindow"), e))?;
    if long.seconds() < 720 || long > period {
        return Err(SpecError::new(
            at("condition.lookbackWindow"),
            format!("lookbackWindow must be between 12m and the period {period}"),
        ));
    }
    let wait = match &c.condition.alert_after {
        Some(a) => Some(
            a.parse::<Duration>()
                .map_err(|e| SpecError::new(at("condition.alertAfter"), e))?,
        ),
        None => None,
    };
    let budget_percent = c.condition.threshold * long.as_hours() / period.as_hours() * 100.0;
    let window = BurnWindow {
        severity,
        budget_percent,
        short: Duration(long.seconds() / 12),
        long,
    };
    Ok((window, wait))
}

/// An SLI with the place it was written.
struct Indicator {
    doc: Document,
    path: String,
    spec: SliSpec,
}

/// The objective's target in percent, and the SLI it measures.
fn objective(
    doc: &Document,
    at: &str,
    o: &Objective,
    sli: &Indicator,
    sources: &Named<DataSourceSpec>,
) -> Result<(f64, Sli), Vec<SpecError>> {
    let refuse = |k: &str, why: &str| vec![SpecError::new(doc.locate(&format!("{at}.{k}")), why)];
    if o.time_slice_target.is_some() || o.time_slice_window.is_some() {
        return Err(refuse(
            "timeSliceTarget",
            "time slices are not supported: rulegen counts events (Occurrences)",
        ));
    }
    if o.indicator.is_some() || o.indicator_ref.is_some() || o.composite_weight.is_some() {
        return Err(refuse(
            "indicator",
            "composite SLOs (an indicator per objective) are not supported",
        ));
    }
    let objective = match (o.target, o.target_percent) {
        (Some(t), None) => t * 100.0,
        (None, Some(p)) => p,
        _ => {
            return Err(refuse(
                "target",
                "an objective needs exactly one of target or targetPercent",
            ))
        }
    };
    check_objective(
        doc,
        &format!("{at}.target"),
        crate::model::round_ratio(objective),
    )
    .map_err(|e| vec![e])?;
    let sli = map_sli(sli, o, sources).map_err(|e| vec![e])?;
    Ok((crate::model::round_ratio(objective), sli))
}

fn map_sli(
    ind: &Indicator,
    o: &Objective,
    sources: &Named<DataSourceSpec>,
) -> Result<Sli, SpecError> {
    let (doc, p) = (&ind.doc, ind.path.as_str());
    if let Some(r) = &ind.spec.ratio_metric {
        let q = |key: &str, m: &Option<MetricHolder>| -> Result<Option<Query>, SpecError> {
            m.as_ref()
                .map(|m| {
                    let kind = if r.counter {
                        Source::Counter
                    } else {
                        Source::Gauge
                    };
                    source_query(doc, &format!("{p}.ratioMetric.{key}"), m, kind, sources)
                })
                .transpose()
        };
        let (good, bad, total, raw) = (
            q("good", &r.good)?,
            q("bad", &r.bad)?,
            q("total", &r.total)?,
            q("raw", &r.raw)?,
        );
        return match (good, bad, total, raw) {
            (Some(good), None, Some(total), None) => Ok(Sli::Good { good, total }),
            (None, Some(errors), Some(total), None) => Ok(Sli::Events { errors, total }),
            (None, None, None, Some(mut raw)) => {
                match r.raw_type.as_deref() {
                    Some("failure") => {}
                    Some("success") => raw.template = format!("1 - ({})", raw.template),
                    _ => {
                        return Err(SpecError::new(
                            doc.locate(&format!("{p}.ratioMetric")),
                            "a raw ratioMetric needs rawType success or failure",
                        ))
                    }
                }
                Ok(Sli::Raw { error_ratio: raw })
            }
            _ => Err(SpecError::new(
                doc.locate(&format!("{p}.ratioMetric")),
                "ratioMetric needs good and total, bad and total, or raw",
            )),
        };
    }
    if let Some(t) = &ind.spec.threshold_metric {
        let q = source_query(
            doc,
            &format!("{p}.thresholdMetric"),
            t,
            Source::Sampled,
            sources,
        )?;
        let op = match o.op.as_deref() {
            Some("lte") => "<=",
            Some("lt") => "<",
            Some("gte") => ">=",
            Some("gt") => ">",
            _ => {
                return Err(SpecError::new(
                    doc.locate(&format!("{p}.thresholdMetric")),
                    "a thresholdMetric objective needs op lte, lt, gte or gt",
                ))
            }
        };
        let Some(value) = o.value else {
            return Err(SpecError::new(
                doc.locate(&format!("{p}.thresholdMetric")),
                "a thresholdMetric objective needs a value",
            ));
        };
        // Each evaluation of the metric is one event: good when it meets the threshold.
        let template = format!(
            "1 - avg_over_time(({} {op} bool {})[{{{{.window}}}}:1m])",
            q.template, value
        );
        return Ok(Sli::Raw {
            error_ratio: Query {
                template,
                location: q.location,
            },
        });
    }
    Err(SpecError::new(
        doc.locate(p),
        "an SLI needs ratioMetric or thresholdMetric",
    ))
}

/// How a metric source's values are read.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// A counter: its rate over the window.
    Counter,
    /// A gauge of events per second: its average over the window.
    Gauge,
    /// A value compared with a threshold at every evaluation; it takes no window.
    Sampled,
}

/// The Prometheus query of a metric source. For ratios it becomes a per-second rate over
/// `{{.window}}`: plain selectors are wrapped in `sum(rate(...))` (counters) or
/// `sum(avg_over_time(...))` (gauges); other queries must hold `{{.window}}` themselves.
fn source_query(
    doc: &Document,
    path: &str,
    m: &MetricHolder,
    kind: Source,
    sources: &Named<DataSourceSpec>,
) -> Result<Query, SpecError> {
    let src = &m.metric_source;
    let at = |k: &str| doc.locate(&format!("{path}.metricSource.{k}"));
    if let Some(r) = &src.metric_source_ref {
        if !sources.contains_key(r) {
            return Err(SpecError::new(
                at("metricSourceRef"),
                format!("no DataSource named {r:?}"),
            ));
        }
    }
    if let Some(t) = &src.type_ {
        if !t.eq_ignore_ascii_case("prometheus") {
            return Err(SpecError::new(
                at("type"),
                format!("metric source type {t:?} is not supported, only Prometheus"),
            ));
        }
    }
    let Some(text) = src.spec.get("query").and_then(|q| q.as_str()) else {
        return Err(SpecError::new(
            at("spec"),
            "a Prometheus metric source needs spec.query",
        ));
    };
    let mut q = Query {
        template: text.trim().to_string(),
        location: at("spec.query"),
    };
    let windowed = crate::model::has_window(&q.template);
    match kind {
        Source::Sampled if windowed => {
            return Err(SpecError::new(
                q.location,
                "a thresholdMetric query is sampled as it is; it takes no {{.window}}",
            ));
        }
        Source::Sampled => {}
        _ if windowed => {}
        _ => {
            let plain = matches!(
                promql_parser::parser::parse(&q.template),
                Ok(promql_parser::parser::Expr::VectorSelector(_))
            );
            if !plain {
                return Err(SpecError::new(
                    q.location,
                    "a ratioMetric query must be a plain selector or use {{.window}}",
                ));
            }
            let f = if kind == Source::Counter {
                "rate"
            } else {
                "avg_over_time"
            };
            q.template = format!("sum({f}({}[{{{{.window}}}}]))", q.template);
        }
    }
    check_query(&q, false)?;
    Ok(q)
}
