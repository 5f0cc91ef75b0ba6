//! promtool unit tests written next to the rules: for every SLO, a fast burn fires the page, a
//! slow burn fires the ticket only, and no errors fire nothing; for every anomaly detector, a
//! spike outside the band fires and a steady signal does not.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rulefile::{num, to_yaml, Group};
use super::slo::{alert_enabled, alert_labels, counts_events, series_labels, windows, BASE_WINDOW};
use super::Options;
use crate::duration::Duration;
use crate::model::{Detector, Model, Seasonality, Severity, Sli, Slo};
use crate::names as n;

/// Sample spacing of the simulated series.
const INTERVAL: Duration = Duration::minutes(1);
/// When SLO alerts are checked; every window sees constant data long before.
const EVAL: Duration = Duration::hours(2);

#[derive(Debug, Serialize)]
pub struct TestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: Duration,
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Serialize)]
pub struct TestCase {
    pub name: String,
    pub interval: Duration,
    pub input_series: Vec<Series>,
    pub alert_rule_test: Vec<AlertTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promql_expr_test: Vec<ExprTest>,
}

#[derive(Debug, Serialize)]
pub struct ExprTest {
    pub expr: String,
    pub eval_time: Duration,
    pub exp_samples: Vec<Sample>,
}

#[derive(Debug, Serialize)]
pub struct Sample {
    pub labels: String,
    pub value: f64,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub series: String,
    pub values: String,
}

#[derive(Debug, Serialize)]
pub struct AlertTest {
    pub eval_time: Duration,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

/// Test files by name: `<stem>.slo.yml` for the SLOs of a rule file, `<stem>.weekly.yml` and
/// `<stem>.daily.yml` for its anomaly detectors, which need days of data and so a coarser
/// evaluation interval.
pub fn files(
    model: &Model,
    rule_files: &BTreeMap<String, Vec<Group>>,
    opts: &Options,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (stem, all_groups) in rule_files {
        let by_name: HashMap<&str, &Group> =
            all_groups.iter().map(|g| (g.name.as_str(), g)).collect();
        let slo_tests: Vec<TestCase> = model
            .slos
            .iter()
            .filter(|s| &s.output == stem)
            .flat_map(|slo| {
                let alerts = by_name.get(n::group_alerts(&slo.id).as_str()).copied();
                slo_cases(slo, alerts, opts)
            })
            .collect();
        let detectors: Vec<Detector> = super::all_detectors(model)
            .into_iter()
            .filter(|d| &d.output == stem)
            .collect();
        let rule_file = format!("../{stem}.yml");
        if !slo_tests.is_empty() {
            out.push((
                format!("{stem}.slo.yml"),
                test_file(&rule_file, INTERVAL, slo_tests),
            ));
        }
        for (suffix, seasonality) in [
            ("weekly", Seasonality::Weekly),
            ("daily", Seasonality::Daily),
        ] {
            let tests: Vec<TestCase> = detectors
                .iter()
                .filter(|d| {
                    super::anomaly::test_interval(d.seasonality)
                        == super::anomaly::test_interval(seasonality)
                })
                .flat_map(|d| {
                    let group = by_name.get(n::group_anomaly(&d.name).as_str()).copied();
                    super::anomaly::cases(d, group)
                })
                .collect();
            if !tests.is_empty() {
                let interval = super::anomaly::test_interval(seasonality);
                let text = test_file(&rule_file, interval, tests);
                out.push((format!("{stem}.{suffix}.yml"), text));
            }
        }
    }
    out
}

fn test_file(rule_file: &str, interval: Duration, tests: Vec<TestCase>) -> String {
    to_yaml(&TestFile {
        rule_files: vec![rule_file.to_string()],
        evaluation_interval: interval,
        tests,
    })
}

/// Burn-rate thresholds (factor times budget) of the enabled pairs of one severity.
fn thresholds(slo: &Slo, severity: Severity) -> Vec<f64> {
    if !alert_enabled(slo, severity) {
        return Vec::new();
    }
    slo.alerting
        .windows
        .iter()
        .filter(|w| w.severity == severity)
        .map(|w| w.factor(slo.period) * slo.error_budget())
        .collect()
}

fn min(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::min)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

fn slo_cases(slo: &Slo, alerts: Option<&Group>, opts: &Options) -> Vec<TestCase> {
    let page = thresholds(slo, Severity::Page);
    let ticket = thresholds(slo, Severity::Ticket);
    if page.is_empty() && ticket.is_empty() {
        return Vec::new();
    }
    let mut cases = vec![slo_case(slo, alerts, opts, "no errors fire nothing", 0.0)];
    if let Some(hi) = max(&page) {
        let ratio = (hi * 1.5).min(1.0);
        cases.push(slo_case(
            slo,
            alerts,
            opts,
            "a fast burn fires the page",
            ratio,
        ));
    }
    if let Some(lo) = min(&ticket) {
        // Between the lowest ticket and the lowest page threshold: only tickets may fire.
        let ceiling = min(&page).unwrap_or(1.0).min(1.0);
        if lo < ceiling {
            let ratio = (lo + ceiling) / 2.0;
            cases.push(slo_case(
                slo,
                alerts,
                opts,
                "a slow burn fires the ticket only",
                ratio,
            ));
        }
    }
    cases
}

/// Events per second in the simulated traffic, enough to pass the min-events guard.
fn traffic(slo: &Slo) -> f64 {
    let shortest = slo
        .alerting
        .windows
        .iter()
        .map(|w| w.long.seconds())
        .min()
        .unwrap_or(3600);
    let needed = 2.0 * slo.alerting.min_events as f64 / shortest as f64;
    needed.max(10.0).ceil()
}

fn slo_case(slo: &Slo, alerts: Option<&Group>, opts: &Options, what: &str, ratio: f64) -> TestCase {
    let rps = traffic(slo);
    let synthetic = match &slo.sli {
        Sli::Latency(l) => Some(latency_series(slo, l, opts, ratio, rps)),
        Sli::Events { errors, total } => event_series(slo, errors, total, ratio, rps),
        Sli::Good { good, total } => event_series(slo, good, total, 1.0 - ratio, rps),
        Sli::Raw { .. } => None,
    };
    let (input_series, extra) = synthetic.unwrap_or_else(|| recorded_series(slo, ratio, rps));
    let mut series_labels = series_labels(slo);
    series_labels.extend(extra);
    let alerts = alerts.iter().flat_map(|g| &g.rules);
    let mut exp_alerts = Vec::new();
    for rule in alerts {
        let tier = rule.labels.get(n::LABEL_TIER).map(String::as_str);
        let severity = match tier {
            Some("page") => Severity::Page,
            _ => Severity::Ticket,
        };
        if thresholds(slo, severity).iter().any(|t| ratio > *t) {
            let mut labels = series_labels.clone();
            labels.extend(alert_labels(slo, severity));
            let annotations = rule
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), expand(v, &labels)))
                .collect();
            exp_alerts.push(ExpAlert {
                exp_labels: labels,
                exp_annotations: annotations,
            });
        }
    }
    let mut case = TestCase {
        name: format!("{}: {what} (error ratio {})", slo.id, num(ratio)),
        interval: INTERVAL,
        input_series,
        alert_rule_test: Vec::new(),
        promql_expr_test: Vec::new(),
    };
    let templated = exp_alerts
        .iter()
        .any(|a| a.exp_annotations.values().any(|v| v.contains("{{")));
    if templated {
        // Annotations that use more than `$labels` cannot be predicted here: check the
        // firing alerts through the ALERTS series, which carries the labels only.
        case.promql_expr_test.push(firing_alerts(slo, exp_alerts));
    } else {
        case.alert_rule_test.push(AlertTest {
            eval_time: eval_time(slo),
            alertname: slo.alerting.name.clone(),
            exp_alerts,
        });
    }
    case
}

fn firing_alerts(slo: &Slo, exp_alerts: Vec<ExpAlert>) -> ExprTest {
    let alert = BTreeMap::from([
        ("alertname".to_string(), slo.alerting.name.clone()),
        ("alertstate".to_string(), "firing".to_string()),
        (n::LABEL_ID.to_string(), slo.id.clone()),
    ]);
    let exp_samples = exp_alerts
        .into_iter()
        .map(|a| {
            let mut labels = a.exp_labels;
            labels.insert("alertname".into(), slo.alerting.name.clone());
            labels.insert("alertstate".into(), "firing".into());
            Sample {
                labels: format!("ALERTS{}", super::rulefile::selector(&labels)),
                value: 1.0,
            }
        })
        .collect();
    ExprTest {
        expr: format!("ALERTS{}", super::rulefile::selector(&alert)),
        eval_time: eval_time(slo),
        exp_samples,
    }
}

/// When an SLO's alerts are checked: two hours of burning, plus their `for`.
fn eval_time(slo: &Slo) -> Duration {
    let longest_for = [Severity::Page, Severity::Ticket]
        .iter()
        .filter_map(|s| super::slo::alert_spec(slo, *s).for_)
        .max()
        .unwrap_or_default();
    Duration(EVAL.seconds() + longest_for.seconds())
}

fn steps(slo: &Slo) -> u64 {
    eval_time(slo).seconds() / INTERVAL.seconds()
}

/// A counter growing by `per_step` every interval, from zero.
fn counter(slo: &Slo, per_step: f64) -> String {
    format!("0+{}x{}", num(per_step), steps(slo))
}

/// A constant gauge.
fn gauge(slo: &Slo, value: f64) -> String {
    format!("{}+0x{}", num(value), steps(slo))
}

fn series(name: &str, labels: &BTreeMap<String, String>, values: String) -> Series {
    let selector = if labels.is_empty() {
        String::new()
    } else {
        super::rulefile::selector(labels)
    };
    Series {
        series: format!("{name}{selector}"),
        values,
    }
}

/// Raw histogram series whose share above the threshold is `ratio`.
fn latency_series(
    slo: &Slo,
    l: &crate::model::Latency,
    opts: &Options,
    ratio: f64,
    rps: f64,
) -> (Vec<Series>, BTreeMap<String, String>) {
    let mut labels = l.matchers.clone();
    let by: BTreeMap<String, String> =
        l.by.iter()
            .map(|b| (b.clone(), format!("test-{b}")))
            .collect();
    labels.extend(by.clone());
    let per_step = rps * INTERVAL.seconds() as f64;
    let mut le = labels.clone();
    le.insert("le".into(), opts.target.le_value(&l.threshold));
    let mut inf = labels.clone();
    inf.insert("le".into(), "+Inf".into());
    let out = vec![
        series(
            &format!("{}_bucket", l.histogram),
            &le,
            counter(slo, per_step * (1.0 - ratio)),
        ),
        series(
            &format!("{}_bucket", l.histogram),
            &inf,
            counter(slo, per_step),
        ),
        series(
            &format!("{}_count", l.histogram),
            &labels,
            counter(slo, per_step),
        ),
    ];
    (out, by)
}

/// Raw counters the SLI's own queries read, when their shape allows it (see `synth`).
fn event_series(
    slo: &Slo,
    part: &crate::model::Query,
    total: &crate::model::Query,
    fraction: f64,
    rps: f64,
) -> Option<(Vec<Series>, BTreeMap<String, String>)> {
    let counters = super::synth::counters(
        &part.render(BASE_WINDOW),
        &total.render(BASE_WINDOW),
        fraction,
    )?;
    let per_step = rps * INTERVAL.seconds() as f64;
    let series = counters
        .iter()
        .map(|c| series(&c.name, &c.labels, counter(slo, per_step * c.share)))
        .collect();
    Some((series, BTreeMap::new()))
}

/// The SLI's own recorded series, for SLIs whose queries cannot be fed synthetic data: the
/// recording rules over the user's metrics find nothing and leave these untouched.
fn recorded_series(slo: &Slo, ratio: f64, rps: f64) -> (Vec<Series>, BTreeMap<String, String>) {
    let mut out = Vec::new();
    let windowed = |w: String| {
        let mut l = series_labels(slo);
        l.insert(n::LABEL_WINDOW.to_string(), w);
        l
    };
    let base = BASE_WINDOW.to_string();
    if counts_events(slo) {
        out.push(series(
            n::SLI_ERRORS_RATE5M,
            &windowed(base.clone()),
            gauge(slo, rps * ratio),
        ));
        out.push(series(
            n::SLI_REQUESTS_RATE5M,
            &windowed(base.clone()),
            gauge(slo, rps),
        ));
    }
    for w in windows(slo) {
        if w == BASE_WINDOW && counts_events(slo) {
            continue;
        }
        out.push(series(
            &n::sli_error_ratio(&w.to_string()),
            &windowed(w.to_string()),
            gauge(slo, ratio),
        ));
    }
    (out, BTreeMap::new())
}

/// Expands `{{ $labels.x }}` references the way Prometheus renders them.
pub fn expand(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (k, v) in labels {
        for pattern in [
            format!("{{{{ $labels.{k} }}}}"),
            format!("{{{{$labels.{k}}}}}"),
        ] {
            out = out.replace(&pattern, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_references_are_expanded_with_or_without_spaces() {
        let labels = BTreeMap::from([("sloth_id".to_string(), "shop-lcp".to_string())]);
        assert_eq!(
            expand("{{ $labels.sloth_id }}/{{$labels.sloth_id}}", &labels),
            "shop-lcp/shop-lcp"
        );
        assert_eq!(expand("{{ $value }}", &labels), "{{ $value }}");
    }
}
