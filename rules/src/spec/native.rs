//! Loader of the project's own spec format, `apiVersion: rulegen/v1`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::common::{
    check_labels, check_name, check_objective, check_query, decode, query, slo_output,
};
use super::SpecError;
use crate::duration::Duration;
use crate::model::{
    self, AlertSpec, Alerting, BurnWindow, Latency, Model, Packs, Severity, Sli, Slo,
};
use crate::source::Document;

mod anomaly;
mod routing;

use anomaly::{detector, DetectorSpec};

/// A spec document. Every section is optional, so a file may hold only routing or only
/// anomaly detectors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    /// Always `rulegen/v1`.
    #[allow(dead_code)]
    api_version: String,
    /// Service the SLOs of this document belong to; required when `slos` is not empty.
    #[serde(default)]
    service: Option<String>,
    /// Labels put on every rule of every SLO of the document.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// The service level objectives.
    #[serde(default)]
    slos: Vec<SloSpec>,
    /// Anomaly detectors.
    #[serde(default)]
    anomalies: Vec<DetectorSpec>,
    /// The built-in alert packs for the toolkit's exporters; at most one document sets them.
    #[serde(default)]
    packs: Option<PacksSpec>,
    /// Alertmanager routing; at most one document over all specs holds it.
    #[serde(default)]
    routing: Option<routing::RoutingSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SloSpec {
    /// Name of the SLO, unique within the service.
    name: String,
    /// What the SLO promises, in a sentence.
    #[serde(default)]
    description: String,
    /// Objective in percent, above 0 and below 100 (e.g. 99.9).
    objective: f64,
    /// Rolling period the error budget is counted over, in whole days (default 30d).
    #[serde(default = "default_period")]
    period: Duration,
    /// Labels added to the document's labels for this SLO.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// How errors are measured: exactly one of `availability`, `latency` or `raw`.
    sli: SliSpec,
    /// The burn-rate alerts.
    #[serde(default)]
    alerting: AlertingSpec,
}

fn default_period() -> Duration {
    Duration::days(30)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliSpec {
    /// Bad (or good) events over all events, as PromQL with `{{.window}}` ranges.
    #[serde(default)]
    availability: Option<AvailabilitySpec>,
    /// Share of requests slower than a threshold, from a classic histogram.
    #[serde(default)]
    latency: Option<LatencySpec>,
    /// An expression that already is the error ratio (0 to 1) over `{{.window}}`.
    #[serde(default)]
    raw: Option<RawSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilitySpec {
    /// Rate of bad events, e.g. `sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`.
    #[serde(default)]
    bad: Option<String>,
    /// Rate of good events; give either `bad` or `good`.
    #[serde(default)]
    good: Option<String>,
    /// Rate of all events.
    total: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencySpec {
    /// Histogram name without `_bucket`, e.g. `http_request_duration_seconds`.
    histogram: String,
    /// Equality matchers selecting the histogram's series.
    #[serde(default)]
    matchers: BTreeMap<String, String>,
    /// Requests slower than this many seconds are errors; must be a bucket boundary.
    threshold: f64,
    /// Labels to keep, one SLI series per value (default: none).
    #[serde(default)]
    by: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    /// The error ratio over `{{.window}}`.
    error_ratio: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingSpec {
    /// Alert name shared by the page and the ticket alert (default `ErrorBudgetBurn`).
    #[serde(default)]
    name: Option<String>,
    /// Labels on both alerts.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Annotations on both alerts, overriding the generated ones.
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    /// `runbook_url` annotation.
    #[serde(default)]
    runbook_url: Option<String>,
    /// `dashboard_url` annotation.
    #[serde(default)]
    dashboard_url: Option<String>,
    /// Minimum events in a pair's long window before it may alert (default 100); needs an
    /// SLI that counts events (not `raw`).
    #[serde(default)]
    min_events: Option<u64>,
    /// The page alert (`severity: critical`).
    #[serde(default)]
    page: AlertToggle,
    /// The ticket alert (`severity: warning`).
    #[serde(default)]
    ticket: AlertToggle,
    /// Burn-rate window pairs replacing the SRE workbook's four.
    #[serde(default)]
    windows: Option<Vec<WindowSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertToggle {
    /// Set to true to drop this alert.
    #[serde(default)]
    disable: bool,
    /// How long the burn must last before the alert fires (default: at once); at most 1h.
    #[serde(default, rename = "for")]
    for_: Option<Duration>,
    /// Labels for this alert only.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Annotations for this alert only.
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowSpec {
    /// `page` or `ticket`.
    severity: String,
    /// Percent of the period's budget the pair alerts on spending within `long`.
    budget_percent: f64,
    /// Short window, confirming the burn is still going on.
    short: Duration,
    /// Long window.
    long: Duration,
}

pub(super) fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PacksSpec {
    /// Set to false to leave out every exporter alert pack.
    #[serde(default = "default_true")]
    enabled: bool,
    /// Thresholds overriding the packs' defaults, by name (see the README).
    #[serde(default)]
    thresholds: BTreeMap<String, f64>,
    /// Exporters that are deployed (default: all four); the others get no alerts about
    /// being down or absent.
    #[serde(default)]
    exporters: Option<Vec<String>>,
}

/// Maps one `rulegen/v1` document onto the model.
pub fn load(doc: &Document, model: &mut Model) -> Result<(), Vec<SpecError>> {
    let spec: Spec = decode(doc)?;
    let mut errors = check_labels(doc, "labels", &spec.labels);
    if !spec.slos.is_empty() && spec.service.is_none() {
        errors.push(SpecError::new(
            doc.locate("slos"),
            "missing `service`, required for SLOs",
        ));
    }
    let service = spec.service.clone().unwrap_or_default();
    if let Some(Err(e)) = spec
        .service
        .as_ref()
        .map(|s| check_name(doc, "service", "service", s))
    {
        errors.push(e);
    }
    for (i, s) in spec.slos.iter().enumerate() {
        match slo(doc, i, &service, &spec.labels, s) {
            Ok(slo) => model.slos.push(slo),
            Err(e) => errors.extend(e),
        }
    }
    for (i, d) in spec.anomalies.iter().enumerate() {
        match detector(doc, i, d) {
            Ok(d) => model.anomalies.push(d),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(p) = spec.packs {
        model.packs = packs(doc, p, &mut errors);
    }
    if let Some(r) = &spec.routing {
        if model.routing.is_some() {
            errors.push(SpecError::new(
                doc.locate("routing"),
                "a second routing section; only one spec may hold `routing`",
            ));
        }
        match routing::load(doc, r) {
            Ok(r) => model.routing = Some(r),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn packs(doc: &Document, p: PacksSpec, errors: &mut Vec<SpecError>) -> Packs {
    for k in p.thresholds.keys() {
        if !crate::gen::packs::THRESHOLDS.iter().any(|(n, _)| n == k) {
            errors.push(SpecError::new(
                doc.locate(&format!("packs.thresholds.{k}")),
                format!("unknown pack threshold {k:?}"),
            ));
        }
    }
    let known = crate::gen::packs::EXPORTERS.map(|(job, _)| job);
    for (i, e) in p.exporters.iter().flatten().enumerate() {
        if !known.contains(&e.as_str()) {
            errors.push(SpecError::new(
                doc.locate(&format!("packs.exporters.{i}")),
                format!(
                    "unknown exporter {e:?}, expected one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let default = Packs::default();
    Packs {
        enabled: p.enabled,
        thresholds: p.thresholds,
        exporters: p.exporters.unwrap_or(default.exporters),
    }
}

fn slo(
    doc: &Document,
    i: usize,
    service: &str,
    doc_labels: &BTreeMap<String, String>,
    s: &SloSpec,
) -> Result<Slo, Vec<SpecError>> {
    let path = format!("slos.{i}");
    let mut errors = Vec::new();
    let mut push = |r: Result<(), SpecError>| errors.extend(r.err());
    push(check_name(doc, &format!("{path}.name"), "SLO", &s.name));
    push(check_objective(
        doc,
        &format!("{path}.objective"),
        s.objective,
    ));
    push(check_period(doc, &format!("{path}.period"), s.period));
    errors.extend(check_labels(doc, &format!("{path}.labels"), &s.labels));
    let sli = sli(doc, &format!("{path}.sli"), &s.sli);
    let period_ok = errors
        .iter()
        .all(|e| e.location != doc.locate(&format!("{path}.period")));
    let alerting = alerting(
        doc,
        &format!("{path}.alerting"),
        &s.alerting,
        s.period,
        period_ok,
    );
    let (sli, alerting) = match (sli, alerting) {
        (Ok(a), Ok(b)) if errors.is_empty() => (a, b),
        (a, b) => {
            errors.extend(a.err().unwrap_or_default());
            errors.extend(b.err().unwrap_or_default());
            return Err(errors);
        }
    };
    if alerting.min_events > 0 && matches!(sli, Sli::Raw { .. }) && s.alerting.min_events.is_some()
    {
        return Err(vec![SpecError::new(
            doc.locate(&format!("{path}.alerting.min_events")),
            "min_events needs an SLI that counts events; a raw SLI has no event count",
        )]);
    }
    let mut labels = doc_labels.clone();
    labels.extend(s.labels.clone());
    let id = format!("{service}-{}", s.name);
    Ok(Slo {
        output: slo_output(&id),
        id,
        service: service.to_string(),
        name: s.name.clone(),
        description: s.description.clone(),
        objective: s.objective,
        period: s.period,
        sli,
        labels,
        alerting,
        location: doc.locate(&path),
    })
}

/// Periods are whole days, and at least one day.
pub(crate) fn check_period(doc: &Document, path: &str, period: Duration) -> Result<(), SpecError> {
    if period.seconds() >= 86_400 && period.seconds().is_multiple_of(86_400) {
        Ok(())
    } else {
        Err(SpecError::new(
            doc.locate(path),
            format!("period {period} must be a whole number of days, at least 1d"),
        ))
    }
}

fn sli(doc: &Document, path: &str, s: &SliSpec) -> Result<Sli, Vec<SpecError>> {
    let given = [
        s.availability.is_some(),
        s.latency.is_some(),
        s.raw.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(vec![SpecError::new(
            doc.locate(path),
            "sli needs exactly one of `availability`, `latency` or `raw`",
        )]);
    }
    let sli = if let Some(a) = &s.availability {
        availability(doc, &format!("{path}.availability"), a)?
    } else if let Some(l) = &s.latency {
        Sli::Latency(latency(doc, &format!("{path}.latency"), l)?)
    } else {
        let raw = s.raw.as_ref().expect("one SLI kind is set");
        Sli::Raw {
            error_ratio: query(doc, &format!("{path}.raw.error_ratio"), &raw.error_ratio),
        }
    };
    let errors: Vec<SpecError> = sli_queries(&sli)
        .into_iter()
        .filter_map(|q| check_query(q, true).err())
        .collect();
    if errors.is_empty() {
        Ok(sli)
    } else {
        Err(errors)
    }
}

/// The user-written queries of an SLI.
pub(crate) fn sli_queries(sli: &Sli) -> Vec<&model::Query> {
    match sli {
        Sli::Events { errors, total } => vec![errors, total],
        Sli::Good { good, total } => vec![good, total],
        Sli::Raw { error_ratio } => vec![error_ratio],
        Sli::Latency(_) => vec![],
    }
}

fn availability(doc: &Document, path: &str, a: &AvailabilitySpec) -> Result<Sli, Vec<SpecError>> {
    let total = query(doc, &format!("{path}.total"), &a.total);
    match (&a.bad, &a.good) {
        (Some(bad), None) => Ok(Sli::Events {
            errors: query(doc, &format!("{path}.bad"), bad),
            total,
        }),
        (None, Some(good)) => Ok(Sli::Good {
            good: query(doc, &format!("{path}.good"), good),
            total,
        }),
        _ => Err(vec![SpecError::new(
            doc.locate(path),
            "availability needs exactly one of `bad` or `good`, and `total`",
        )]),
    }
}

fn latency(doc: &Document, path: &str, l: &LatencySpec) -> Result<Latency, Vec<SpecError>> {
    let mut errors = Vec::new();
    let selector_ok = crate::spec::common::valid_label_name(&l.histogram.replace(':', "_"));
    if !selector_ok || l.histogram.ends_with("_bucket") {
        errors.push(SpecError::new(
            doc.locate(&format!("{path}.histogram")),
            format!(
                "invalid histogram name {:?}: give the name without `_bucket`",
                l.histogram
            ),
        ));
    }
    if !(l.threshold > 0.0 && l.threshold.is_finite()) {
        errors.push(SpecError::new(
            doc.locate(&format!("{path}.threshold")),
            format!(
                "threshold {} must be a positive number of seconds",
                l.threshold
            ),
        ));
    }
    errors.extend(check_labels(doc, &format!("{path}.matchers"), &l.matchers));
    for (i, b) in l.by.iter().enumerate() {
        if !crate::spec::common::valid_label_name(b) {
            errors.push(SpecError::new(
                doc.locate(&format!("{path}.by.{i}")),
                format!("invalid label name {b:?}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Latency {
        histogram: l.histogram.clone(),
        matchers: l.matchers.clone(),
        threshold: l.threshold.to_string(),
        by: l.by.clone(),
        location: doc.locate(path),
    })
}

fn alerting(
    doc: &Document,
    path: &str,
    a: &AlertingSpec,
    period: Duration,
    period_ok: bool,
) -> Result<Alerting, Vec<SpecError>> {
    let mut errors = check_labels(doc, &format!("{path}.labels"), &a.labels);
    let windows = match &a.windows {
        None => model::default_windows(),
        Some(ws) => windows(doc, &format!("{path}.windows"), ws, period, &mut errors),
    };
    if a.windows.is_none() && period < Duration::days(3) && period_ok {
        errors.push(SpecError::new(
            doc.locate(&path.replace(".alerting", ".period")),
            format!("period {period} is shorter than the default 3d alert window; set `alerting.windows`"),
        ));
    }
    if let Some(name) = &a.name {
        errors.extend(check_alert_name(doc, &format!("{path}.name"), name));
    }
    for (key, t) in [("page", &a.page), ("ticket", &a.ticket)] {
        if t.for_.is_some_and(|f| f > Duration::hours(1)) {
            errors.push(SpecError::new(
                doc.locate(&format!("{path}.{key}.for")),
                "for must be at most 1h: a burn-rate alert that waits longer pages too late",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let toggle = |t: &AlertToggle| AlertSpec {
        enabled: !t.disable,
        labels: t.labels.clone(),
        annotations: t.annotations.clone(),
        for_: t.for_,
    };
    Ok(Alerting {
        name: a
            .name
            .clone()
            .unwrap_or_else(|| crate::names::DEFAULT_SLO_ALERT.to_string()),
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        page: toggle(&a.page),
        ticket: toggle(&a.ticket),
        windows,
        min_events: a.min_events.unwrap_or(100),
        runbook_url: a.runbook_url.clone(),
        dashboard_url: a.dashboard_url.clone(),
    })
}

pub(crate) fn check_alert_name(doc: &Document, path: &str, name: &str) -> Option<SpecError> {
    let ok = crate::spec::common::valid_label_name(name);
    (!ok).then(|| {
        SpecError::new(
            doc.locate(path),
            format!("invalid alert name {name:?}: use letters, digits and '_'"),
        )
    })
}

fn windows(
    doc: &Document,
    path: &str,
    ws: &[WindowSpec],
    period: Duration,
    errors: &mut Vec<SpecError>,
) -> Vec<BurnWindow> {
    let mut out = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        let at = |k: &str| doc.locate(&format!("{path}.{i}.{k}"));
        let severity = match w.severity.as_str() {
            "page" => Severity::Page,
            "ticket" => Severity::Ticket,
            s => {
                errors.push(SpecError::new(
                    at("severity"),
                    format!("unknown severity {s:?}, expected page or ticket"),
                ));
                continue;
            }
        };
        if !(w.budget_percent > 0.0 && w.budget_percent <= 100.0) {
            errors.push(SpecError::new(
                at("budget_percent"),
                "budget_percent must be in (0, 100]",
            ));
        }
        if w.short.seconds() == 0 || w.short >= w.long {
            errors.push(SpecError::new(
                at("short"),
                "short window must be shorter than long",
            ));
        }
        if w.long > period {
            errors.push(SpecError::new(
                at("long"),
                format!("long window exceeds the period {period}"),
            ));
        }
        out.push(BurnWindow {
            severity,
            budget_percent: w.budget_percent,
            short: w.short,
            long: w.long,
        });
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(SpecError::new(
            doc.locate(path),
            "windows must not be empty",
        ));
    }
    out
}
