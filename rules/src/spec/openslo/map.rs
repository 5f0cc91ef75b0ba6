//! Mapping of OpenSLO values onto the model: periods, burn-rate conditions, objectives and
//! metric sources.

use super::schema::{
    ConditionSpec, DataSourceSpec, LabelValue, Metadata, MetricHolder, Objective, SliSpec,
    TimeWindow,
};
use super::{Named, SpecError};
use crate::duration::Duration;
use crate::model::{BurnWindow, Query, Severity, Sli};
use crate::source::Document;
use crate::spec::common::{check_objective, check_query};
use std::collections::BTreeMap;

/// Labels as strings; a list becomes its values joined by commas.
pub(super) fn labels(m: &Metadata) -> BTreeMap<String, String> {
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
pub(super) fn period(doc: &Document, windows: &[TimeWindow]) -> Result<Duration, SpecError> {
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
    if d.seconds() < 86_400 || !d.seconds().is_multiple_of(86_400) {
        return Err(SpecError::new(
            at,
            format!("duration {} must be a whole number of days", w.duration),
        ));
    }
    Ok(d)
}

/// One AlertCondition as a burn-rate window pair; the short window is a twelfth of the long.
pub(super) fn burn_window(
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
pub(super) struct Indicator {
    pub(super) doc: Document,
    pub(super) path: String,
    pub(super) spec: SliSpec,
}

/// The objective's target in percent, and the SLI it measures.
pub(super) fn objective(
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
