//! SLO rules: SLI error ratios per window and over the period, budget and burn-rate records,
//! and the multi-window multi-burn-rate page and ticket alerts.

use std::collections::{BTreeMap, BTreeSet};

use super::rulefile::{num, selector, Group, Rule};
use super::Options;
use crate::duration::Duration;
use crate::model::{AlertSpec, Latency, Severity, Sli, Slo};
use crate::names as n;

/// The five minute window every SLO records, whatever its alert windows.
pub const BASE_WINDOW: Duration = Duration::minutes(5);

/// The rule groups of one SLO: SLI recordings, meta recordings, hourly trends, alerts.
pub fn groups(slo: &Slo, opts: &Options) -> Vec<Group> {
    let mut groups = vec![sli_group(slo, opts), meta_group(slo), trend_group(slo)];
    let alerts = alert_rules(slo);
    if !alerts.is_empty() {
        groups.push(Group {
            name: n::group_alerts(&slo.id),
            interval: None,
            rules: alerts,
        });
    }
    groups
}

/// Labels naming the SLO: `sloth_id`, `sloth_service`, `sloth_slo`.
pub fn id_labels(slo: &Slo) -> BTreeMap<String, String> {
    BTreeMap::from([
        (n::LABEL_ID.to_string(), slo.id.clone()),
        (n::LABEL_SERVICE.to_string(), slo.service.clone()),
        (n::LABEL_SLO.to_string(), slo.name.clone()),
    ])
}

/// Labels on every series of the SLO: the spec's labels, then the ID labels.
pub fn series_labels(slo: &Slo) -> BTreeMap<String, String> {
    let mut labels = slo.labels.clone();
    labels.extend(id_labels(slo));
    labels
}

fn windowed(slo: &Slo, window: &str) -> BTreeMap<String, String> {
    let mut labels = series_labels(slo);
    labels.insert(n::LABEL_WINDOW.to_string(), window.to_string());
    labels
}

/// Every window the alerts read, plus the base window, shortest first.
pub fn windows(slo: &Slo) -> Vec<Duration> {
    let mut set: BTreeSet<Duration> = BTreeSet::from([BASE_WINDOW]);
    for w in slo
        .alerting
        .windows
        .iter()
        .filter(|w| alert_enabled(slo, w.severity))
    {
        set.insert(w.short);
        set.insert(w.long);
    }
    set.into_iter().collect()
}

/// Whether the SLI counts events, so the period ratio can be weighted by requests.
pub fn counts_events(slo: &Slo) -> bool {
    !matches!(slo.sli, Sli::Raw { .. })
}

fn sli_group(slo: &Slo, opts: &Options) -> Group {
    let sel = selector(&id_labels(slo));
    let mut rules = Vec::new();
    let base = BASE_WINDOW.to_string();
    if counts_events(slo) {
        let (errors, total) = event_queries(slo, BASE_WINDOW, opts);
        rules.push(Rule::record(
            n::SLI_ERRORS_RATE5M,
            errors,
            windowed(slo, &base),
        ));
        rules.push(Rule::record(
            n::SLI_REQUESTS_RATE5M,
            total,
            windowed(slo, &base),
        ));
        let ratio = format!(
            "{}{sel}\n/\n{}{sel}",
            n::SLI_ERRORS_RATE5M,
            n::SLI_REQUESTS_RATE5M
        );
        rules.push(Rule::record(
            &n::sli_error_ratio(&base),
            ratio,
            windowed(slo, &base),
        ));
    }
    for w in windows(slo) {
        if w == BASE_WINDOW && counts_events(slo) {
            continue;
        }
        let ws = w.to_string();
        rules.push(Rule::record(
            &n::sli_error_ratio(&ws),
            ratio_query(slo, w, opts),
            windowed(slo, &ws),
        ));
    }
    // A period equal to an alert window is already recorded, straight from the metrics.
    if !windows(slo).contains(&slo.period) {
        let period = slo.period.to_string();
        rules.push(Rule::record(
            &n::sli_error_ratio(&period),
            period_query(slo),
            windowed(slo, &period),
        ));
    }
    Group {
        name: n::group_sli(&slo.id),
        interval: None,
        rules,
    }
}

/// Error ratio over the period, weighted by requests when the SLI counts events; an average
/// of five-minute ratios would give a quiet night the weight of a busy day.
fn period_query(slo: &Slo) -> String {
    let sel = selector(&id_labels(slo));
    let p = slo.period;
    if counts_events(slo) {
        format!(
            "sum_over_time({}{sel}[{p}])\n/\nsum_over_time({}{sel}[{p}])",
            n::SLI_ERRORS_RATE5M,
            n::SLI_REQUESTS_RATE5M
        )
    } else {
        format!(
            "avg_over_time({}{sel}[{p}])",
            n::sli_error_ratio(&BASE_WINDOW.to_string())
        )
    }
}

/// Error ratio of the SLI over `window`, straight from the user's metrics.
fn ratio_query(slo: &Slo, window: Duration, opts: &Options) -> String {
    match &slo.sli {
        Sli::Raw { error_ratio } => format!("({})", error_ratio.render(window)),
        _ => {
            let (errors, total) = event_queries(slo, window, opts);
            format!("(\n{}\n)\n/\n(\n{}\n)", indent(&errors), indent(&total))
        }
    }
}

/// Rates of bad events and of all events over `window`.
pub fn event_queries(slo: &Slo, window: Duration, opts: &Options) -> (String, String) {
    match &slo.sli {
        Sli::Events { errors, total } => (errors.render(window), total.render(window)),
        Sli::Good { good, total } => (
            format!("({})\n-\n({})", total.render(window), good.render(window)),
            total.render(window),
        ),
        Sli::Latency(l) => latency_queries(l, window, opts),
        Sli::Raw { .. } => unreachable!("raw SLIs have no event queries"),
    }
}

fn latency_queries(l: &Latency, window: Duration, opts: &Options) -> (String, String) {
    let by = if l.by.is_empty() {
        String::new()
    } else {
        format!(" by ({}) ", l.by.join(", "))
    };
    let sel = selector(&l.matchers);
    let le = opts.target.le_matcher(&l.threshold);
    let bucket = match sel.strip_suffix('}') {
        Some("{") | None => format!("{{{le}}}"),
        Some(head) => format!("{head}, {le}}}"),
    };
    let total = format!("sum{by}(rate({}_count{sel}[{window}]))", l.histogram);
    let good = format!("sum{by}(rate({}_bucket{bucket}[{window}]))", l.histogram);
    (format!("{total}\n-\n{good}"), total)
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn meta_group(slo: &Slo) -> Group {
    let labels = series_labels(slo);
    let sel = selector(&id_labels(slo));
    let on = format!(
        "on ({}, {}, {}) group_left",
        n::LABEL_ID,
        n::LABEL_SERVICE,
        n::LABEL_SLO
    );
    let period = slo.period.to_string();
    let mut info = labels.clone();
    info.insert("sloth_objective".to_string(), num(slo.objective));
    info.insert("sloth_period".to_string(), period.clone());
    let rules = vec![
        Rule::record(
            n::OBJECTIVE,
            format!("vector({})", num(slo.objective_ratio())),
            labels.clone(),
        ),
        Rule::record(
            n::ERROR_BUDGET,
            format!("vector({})", num(slo.error_budget())),
            labels.clone(),
        ),
        Rule::record(
            n::PERIOD_DAYS,
            format!("vector({})", slo.period.seconds() / 86_400),
            labels.clone(),
        ),
        Rule::record(
            n::CURRENT_BURN_RATE,
            format!(
                "{}{sel}\n/ {on}\n{}{sel}",
                n::sli_error_ratio(&BASE_WINDOW.to_string()),
                n::ERROR_BUDGET
            ),
            labels.clone(),
        ),
        Rule::record(
            n::PERIOD_BURN_RATE,
            format!(
                "{}{sel}\n/ {on}\n{}{sel}",
                n::sli_error_ratio(&period),
                n::ERROR_BUDGET
            ),
            labels.clone(),
        ),
        Rule::record(
            n::BUDGET_REMAINING,
            format!("1 - {}{sel}", n::PERIOD_BURN_RATE),
            labels,
        ),
        Rule::record(n::SLO_INFO, "vector(1)".to_string(), info),
    ];
    Group {
        name: n::group_meta(&slo.id),
        interval: None,
        rules,
    }
}

/// Hourly records feeding the 30- and 90-day trend and calendar-month panels cheaply.
fn trend_group(slo: &Slo) -> Group {
    let sel = selector(&id_labels(slo));
    let labels = series_labels(slo);
    let rules = if counts_events(slo) {
        vec![
            Rule::record(
                n::TREND_ERRORS,
                format!("avg_over_time({}{sel}[1h]) * 3600", n::SLI_ERRORS_RATE5M),
                labels.clone(),
            ),
            Rule::record(
                n::TREND_REQUESTS,
                format!("avg_over_time({}{sel}[1h]) * 3600", n::SLI_REQUESTS_RATE5M),
                labels,
            ),
        ]
    } else {
        vec![Rule::record(
            n::TREND_RATIO,
            format!(
                "avg_over_time({}{sel}[1h])",
                n::sli_error_ratio(&BASE_WINDOW.to_string())
            ),
            labels,
        )]
    };
    Group {
        name: n::group_trend(&slo.id),
        interval: Some(Duration::hours(1)),
        rules,
    }
}

/// The page and ticket alerts that are enabled.
fn alert_rules(slo: &Slo) -> Vec<Rule> {
    [Severity::Page, Severity::Ticket]
        .into_iter()
        .filter(|s| alert_enabled(slo, *s))
        .map(|s| alert_rule(slo, s))
        .collect()
}

/// The page or the ticket alert of an SLO.
pub fn alert_spec(slo: &Slo, severity: Severity) -> &AlertSpec {
    match severity {
        Severity::Page => &slo.alerting.page,
        Severity::Ticket => &slo.alerting.ticket,
    }
}

pub fn alert_enabled(slo: &Slo, severity: Severity) -> bool {
    let spec = alert_spec(slo, severity);
    spec.enabled && slo.alerting.windows.iter().any(|w| w.severity == severity)
}

fn alert_rule(slo: &Slo, severity: Severity) -> Rule {
    let pairs: Vec<String> = slo
        .alerting
        .windows
        .iter()
        .filter(|w| w.severity == severity)
        .map(|w| pair_expr(slo, w.short, w.long, w.factor(slo.period)))
        .collect();
    let expr = pairs.join("\nor\n");
    let mut rule = Rule::alert(&slo.alerting.name, expr, alert_labels(slo, severity));
    rule.for_ = alert_spec(slo, severity).for_;
    rule.annotations = annotations(slo, severity);
    rule
}

fn pair_expr(slo: &Slo, short: Duration, long: Duration, factor: f64) -> String {
    let sel = selector(&id_labels(slo));
    let threshold = format!("({} * {})", num(factor), num(slo.error_budget()));
    let side = |w: Duration| {
        format!(
            "  max({}{sel} > {threshold}) without ({})",
            n::sli_error_ratio(&w.to_string()),
            n::LABEL_WINDOW
        )
    };
    let mut expr = format!("(\n{}\nand\n{}", side(short), side(long));
    if counts_events(slo) && slo.alerting.min_events > 0 {
        expr.push_str(&format!(
            "\nand ignoring ({})\n  avg_over_time({}{sel}[{long}]) * {} >= {}",
            n::LABEL_WINDOW,
            n::SLI_REQUESTS_RATE5M,
            long.seconds(),
            slo.alerting.min_events
        ));
    }
    expr.push_str("\n)");
    expr
}

/// Routing labels first, then the spec's, then the stable tier label.
pub fn alert_labels(slo: &Slo, severity: Severity) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (
            n::LABEL_SEVERITY.to_string(),
            severity.severity().to_string(),
        ),
        (n::LABEL_ROUTE_SERVICE.to_string(), slo.service.clone()),
        (n::LABEL_ROUTE_SLO.to_string(), slo.name.clone()),
    ]);
    labels.extend(slo.alerting.labels.clone());
    let spec = match severity {
        Severity::Page => &slo.alerting.page,
        Severity::Ticket => &slo.alerting.ticket,
    };
    labels.extend(spec.labels.clone());
    labels.insert(n::LABEL_TIER.to_string(), severity.tier().to_string());
    labels
}

fn annotations(slo: &Slo, severity: Severity) -> BTreeMap<String, String> {
    let speed = match severity {
        Severity::Page => "fast",
        Severity::Ticket => "steadily",
    };
    let pairs: Vec<String> = slo
        .alerting
        .windows
        .iter()
        .filter(|w| w.severity == severity)
        .map(|w| {
            format!(
                "{}x over {} and {} (spends {}% of the budget in {})",
                num(w.factor(slo.period)),
                w.short,
                w.long,
                num(w.budget_percent),
                w.long
            )
        })
        .collect();
    let mut a = BTreeMap::from([
        (
            "summary".to_string(),
            format!(
                "SLO {} of {} is burning its error budget {speed}.",
                slo.name, slo.service
            ),
        ),
        (
            "description".to_string(),
            format!(
                "The error ratio of {{{{ $labels.{} }}}} is above a burn rate of {}; the \
                 objective is {}% over {}.",
                n::LABEL_ID,
                pairs.join(", or "),
                num(slo.objective),
                slo.period
            ),
        ),
        ("dashboard_url".to_string(), dashboard_url(slo)),
    ]);
    if let Some(r) = &slo.alerting.runbook_url {
        a.insert("runbook_url".to_string(), r.clone());
    }
    if let Some(d) = &slo.alerting.dashboard_url {
        a.insert("dashboard_url".to_string(), d.clone());
    }
    a.extend(slo.alerting.annotations.clone());
    let spec = match severity {
        Severity::Page => &slo.alerting.page,
        Severity::Ticket => &slo.alerting.ticket,
    };
    a.extend(spec.annotations.clone());
    a
}

/// Grafana path of the SLO overview, filtered to this SLO.
fn dashboard_url(slo: &Slo) -> String {
    format!(
        "/d/{}/slo-overview?var-slo_id={}",
        n::DASHBOARD_SLO_UID,
        slo.id
    )
}
