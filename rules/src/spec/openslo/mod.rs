//! Loader of OpenSLO `apiVersion: openslo/v1` documents: SLO, SLI, AlertPolicy,
//! AlertCondition, Service and DataSource, resolved by reference across all files. What the
//! model cannot honour (Timeslices budgeting, calendar windows, composite SLOs, alerting on
//! missing data, notification targets) is refused with the reason.

use std::collections::{BTreeMap, HashMap};

use super::common::{check_labels, check_name, decode};
use super::SpecError;
use crate::duration::Duration;
use crate::model::{AlertSpec, Alerting, Model, Severity, Slo};
use crate::source::Document;

mod map;
mod schema;

use map::{burn_window, labels, objective, period, Indicator};

use schema::{
    ConditionItem, ConditionSpec, DataSourceSpec, Envelope, PolicyItem, PolicySpec, ServiceSpec,
    SliSpec, SloSpec,
};

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
