//! Alert packs for the toolkit's own exporters, on by default, thresholds overridable by name
//! in the spec's `packs.thresholds`.

use std::collections::BTreeMap;

use super::rulefile::{num, Group, Rule};
use super::Target;
use crate::duration::Duration;
use crate::model::{Detector, Direction, Packs, Query, Seasonality};
use crate::names as n;

/// Rule file stem the packs are written to.
pub const FILE_STEM: &str = "exporters";
/// Rule file stem of the packs' anomaly detectors, apart so their unit tests stay fast.
pub const BANDS_STEM: &str = "exporters-bands";
pub const EXPORTER_DOWN: &str = "ExporterDown";
pub const EXPORTER_ABSENT: &str = "ExporterAbsent";

/// The toolkit's exporters, as job names and metric prefixes.
pub const EXPORTERS: [(&str, &str); 4] = [
    ("rum-gateway", "rum_gateway"),
    ("webrtc-probe", "webrtc_probe"),
    ("synthetic-journey", "synthetic_journey"),
    ("db-slowquery", "db_slowquery"),
];

/// Every threshold a spec may override, with its default.
pub const THRESHOLDS: [(&str, f64); 12] = [
    ("response_time_p95_seconds", 1.0),
    ("error_rate_ratio", 0.05),
    ("webrtc_mos_min", 3.5),
    ("memory_growth_ratio_per_hour", 0.10),
    ("rum_lcp_p75_seconds", 2.5),
    ("rum_inp_p75_seconds", 0.2),
    ("rum_cls_p75", 0.1),
    ("rum_apdex_min", 0.85),
    ("rum_apdex_target_seconds", 0.5),
    ("synthetic_failure_window_minutes", 15.0),
    ("synthetic_failing_locations", 2.0),
    ("anomaly_sensitivity", 3.0),
];

struct Ctx<'a> {
    packs: &'a Packs,
    target: Target,
}

impl Ctx<'_> {
    /// The exporters the spec says are deployed.
    fn exporters(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        EXPORTERS
            .into_iter()
            .filter(|(job, _)| self.packs.exporters.iter().any(|e| e == job))
    }

    fn t(&self, name: &str) -> String {
        let default = THRESHOLDS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .expect("threshold names are constants of this module");
        num(*self.packs.thresholds.get(name).unwrap_or(&default))
    }
}

/// One alert of a pack.
struct Spec<'a> {
    name: &'a str,
    expr: String,
    for_: Duration,
    severity: &'a str,
    exporter: &'a str,
    summary: String,
    description: &'a str,
}

fn rule(s: Spec) -> Rule {
    let mut labels = BTreeMap::from([(n::LABEL_SEVERITY.to_string(), s.severity.to_string())]);
    if !s.exporter.is_empty() {
        labels.insert(n::LABEL_EXPORTER.to_string(), s.exporter.to_string());
    }
    let mut r = Rule::alert(s.name, s.expr, labels);
    r.for_ = (s.for_.seconds() > 0).then_some(s.for_);
    r.annotations = BTreeMap::from([
        ("summary".to_string(), s.summary),
        ("description".to_string(), s.description.to_string()),
    ]);
    r
}

/// The pack groups; their anomaly detectors come from [`detectors`].
/// `target` decides how the `le` values of bucket bounds are written.
pub fn groups(packs: &Packs, target: Target) -> Vec<Group> {
    let c = Ctx { packs, target };
    vec![
        group("pack-exporters", exporter_rules(&c)),
        group("pack-performance", performance_rules(&c)),
        group("pack-rum", rum_rules(&c)),
        group("pack-synthetic-journey", synthetic_rules(&c)),
        group("pack-webrtc-probe", webrtc_rules(&c)),
        group("pack-db-slowquery", db_rules()),
    ]
}

fn group(name: &str, rules: Vec<Rule>) -> Group {
    Group {
        name: name.to_string(),
        interval: None,
        rules,
    }
}

fn exporter_rules(c: &Ctx) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (job, prefix) in c.exporters() {
        rules.push(rule(Spec {
            name: EXPORTER_DOWN,
            expr: format!("up{{job=\"{job}\"}} == 0"),
            for_: Duration::minutes(2),
            severity: "critical",
            exporter: job,
            summary: format!("A {job} target is down."),
            description:
                "Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}.",
        }));
        rules.push(rule(Spec {
            name: EXPORTER_ABSENT,
            expr: format!("absent({prefix}_build_info)"),
            for_: Duration::minutes(10),
            severity: "critical",
            exporter: job,
            summary: format!("No {job} reports to Prometheus."),
            description:
                "No series of the exporter's build info exist: it is not deployed or not scraped.",
        }));
        rules.push(rule(Spec {
            name: "ExporterConfigReloadFailed",
            expr: format!("{prefix}_config_last_reload_successful == 0"),
            for_: Duration::minutes(5),
            severity: "warning",
            exporter: job,
            summary: format!("A {job} failed to reload its configuration."),
            description: "{{ $labels.instance }} keeps running on its previous configuration.",
        }));
    }
    rules
}

fn performance_rules(c: &Ctx) -> Vec<Rule> {
    let jobs = jobs_regex(c);
    vec![
        rule(Spec {
            name: "HighResponseTime",
            expr: format!(
                "histogram_quantile(0.95, sum by (app, page, le) (rate(rum_time_to_first_byte_seconds_bucket[5m])))\n> {}",
                c.t("response_time_p95_seconds")
            ),
            for_: Duration::minutes(5),
            severity: "warning",
            exporter: "rum-gateway",
            summary: "Server response time seen by users is high.".into(),
            description: "p95 time to first byte of {{ $labels.app }} {{ $labels.page }} is above the threshold.",
        }),
        rule(Spec {
            name: "HighErrorRate",
            expr: format!(
                "sum by (journey) (rate(synthetic_journey_runs_total{{result!=\"success\"}}[5m]))\n/\nsum by (journey) (rate(synthetic_journey_runs_total[5m]))\n> {}",
                c.t("error_rate_ratio")
            ),
            for_: Duration::minutes(1),
            severity: "critical",
            exporter: "synthetic-journey",
            summary: "Synthetic journeys fail too often.".into(),
            description: "More than the allowed share of runs of journey {{ $labels.journey }} failed over 5 minutes.",
        }),
        rule(Spec {
            name: "WebRTCLowMOS",
            expr: format!(
                "histogram_quantile(0.5, sum by (app, le) (rate(rum_webrtc_mos_bucket[5m])))\n< {}",
                c.t("webrtc_mos_min")
            ),
            for_: Duration::minutes(3),
            severity: "warning",
            exporter: "rum-gateway",
            summary: "Real calls have a poor median MOS.".into(),
            description: "The median MOS estimate of calls in {{ $labels.app }} is below the threshold.",
        }),
        rule(Spec {
            name: "MemoryGrowing",
            expr: format!(
                "label_replace(\n  process_resident_memory_bytes{{job=~\"{jobs}\"}}\n  /\n  process_resident_memory_bytes{{job=~\"{jobs}\"}} offset 1h,\n  \"exporter\", \"$1\", \"job\", \"(.*)\"\n)\n> {}",
                num(1.0 + c.t("memory_growth_ratio_per_hour").parse::<f64>().unwrap_or(0.1))
            ),
            for_: Duration::hours(1),
            severity: "warning",
            exporter: "",
            summary: "An exporter's memory keeps growing.".into(),
            description: "Resident memory of {{ $labels.instance }} ({{ $labels.job }}) grew by more than the threshold every hour for an hour.",
        }),
    ]
}

fn jobs_regex(c: &Ctx) -> String {
    c.exporters().map(|(j, _)| j).collect::<Vec<_>>().join("|")
}

fn rum_rules(c: &Ctx) -> Vec<Rule> {
    let vital = |name: &'static str, metric: &str, threshold: &str, what: &'static str| {
        rule(Spec {
            name,
            expr: format!(
                "histogram_quantile(0.75, sum by (app, page, device, le) (rate({metric}_bucket[15m])))\n> {}",
                c.t(threshold)
            ),
            for_: Duration::minutes(15),
            severity: "warning",
            exporter: "rum-gateway",
            summary: format!("{what} at p75 is poor."),
            description: "p75 over 15 minutes for {{ $labels.app }} {{ $labels.page }} on {{ $labels.device }} is above the threshold.",
        })
    };
    let apdex_target = c.t("rum_apdex_target_seconds");
    let frustrated = c
        .target
        .le_matcher(&num(4.0 * apdex_target.parse::<f64>().unwrap_or(0.5)));
    let target = c.target.le_matcher(&apdex_target);
    vec![
        vital("RumLcpPoor", "rum_largest_contentful_paint_seconds", "rum_lcp_p75_seconds", "Largest contentful paint"),
        vital("RumInpPoor", "rum_interaction_to_next_paint_seconds", "rum_inp_p75_seconds", "Interaction to next paint"),
        vital("RumClsPoor", "rum_cumulative_layout_shift", "rum_cls_p75", "Cumulative layout shift"),
        rule(Spec {
            name: "RumApdexLow",
            expr: format!(
                "(\n  sum by (app) (rate(rum_page_load_seconds_bucket{{{target}}}[15m]))\n  + sum by (app) (rate(rum_page_load_seconds_bucket{{{frustrated}}}[15m]))\n) / 2\n/\nsum by (app) (rate(rum_page_load_seconds_count[15m]))\n< {}",
                c.t("rum_apdex_min")
            ),
            for_: Duration::minutes(15),
            severity: "warning",
            exporter: "rum-gateway",
            summary: "Apdex of page loads is low.".into(),
            description: "The page-load Apdex of {{ $labels.app }} over 15 minutes is below the threshold.",
        }),
    ]
}

fn synthetic_rules(c: &Ctx) -> Vec<Rule> {
    let window = format!("{}m", c.t("synthetic_failure_window_minutes"));
    vec![
        rule(Spec {
            name: "SyntheticJourneyFailing",
            expr: format!(
                "max_over_time(synthetic_journey_success[{window}]) == 0\nand\nchanges(synthetic_journey_last_run_timestamp_seconds[{window}]) >= 1"
            ),
            for_: Duration(0),
            severity: "critical",
            exporter: "synthetic-journey",
            summary: "A synthetic journey failed twice in a row.".into(),
            description: "Journey {{ $labels.journey }} on {{ $labels.instance }} failed on its last two runs or more.",
        }),
        rule(Spec {
            name: "SyntheticJourneyFailingFromManyLocations",
            expr: format!(
                "count by (journey) (synthetic_journey_success == 0)\n>= {}",
                c.t("synthetic_failing_locations")
            ),
            for_: Duration(0),
            severity: "critical",
            exporter: "synthetic-journey",
            summary: "A synthetic journey fails from several locations at once.".into(),
            description: "Journey {{ $labels.journey }} fails from more than one location: the service, not a location, is likely at fault.",
        }),
    ]
}

fn webrtc_rules(c: &Ctx) -> Vec<Rule> {
    vec![
        rule(Spec {
            name: "WebRTCProbeFailing",
            expr: "webrtc_probe_failed_stage == 1".into(),
            for_: Duration::minutes(2),
            severity: "critical",
            exporter: "webrtc-probe",
            summary: "A WebRTC probe fails.".into(),
            description: "Probes of {{ $labels.instance }} fail at stage {{ $labels.stage }}.",
        }),
        rule(Spec {
            name: "WebRTCTurnAllocationFailing",
            expr: "webrtc_probe_failed_stage{stage=~\".*alloc.*\"} == 1".into(),
            for_: Duration::minutes(2),
            severity: "critical",
            exporter: "webrtc-probe",
            summary: "TURN allocations fail.".into(),
            description: "The TURN server probed through {{ $labels.instance }} refuses or drops allocations.",
        }),
        rule(Spec {
            name: "WebRTCProbeLowMOS",
            expr: format!("webrtc_probe_mos < {}", c.t("webrtc_mos_min")),
            for_: Duration::minutes(3),
            severity: "warning",
            exporter: "webrtc-probe",
            summary: "The probed media path has a poor MOS estimate.".into(),
            description: "The MOS estimate of probes of {{ $labels.instance }} is below the threshold.",
        }),
    ]
}

fn db_rules() -> Vec<Rule> {
    vec![rule(Spec {
        name: "DBSlowquerySourceDown",
        expr: "db_slowquery_source_up == 0".into(),
        for_: Duration::minutes(2),
        severity: "critical",
        exporter: "db-slowquery",
        summary: "A slow-query source is unreachable.".into(),
        description: "db-slowquery cannot read source {{ $labels.source }}.",
    })]
}

/// Built-in detectors: step durations of journeys, slow-query rate per source.
pub fn detectors(packs: &Packs) -> Vec<Detector> {
    // The detectors name no bucket bound, so the target does not matter to them.
    let c = &Ctx {
        packs,
        target: Target::default(),
    };
    let sensitivity: f64 = c.t("anomaly_sensitivity").parse().unwrap_or(3.0);
    let d = |name: &str, expr: &str, exporter: &str| Detector {
        name: name.to_string(),
        expr: Query {
            template: expr.to_string(),
            location: Default::default(),
        },
        seasonality: Seasonality::Weekly,
        sensitivity,
        direction: Direction::Up,
        for_: Duration::minutes(15),
        non_negative: true,
        labels: BTreeMap::from([(n::LABEL_EXPORTER.to_string(), exporter.to_string())]),
        annotations: BTreeMap::new(),
        output: BANDS_STEM.to_string(),
        location: Default::default(),
    };
    vec![
        d(
            "synthetic-step-duration",
            "avg_over_time(synthetic_journey_step_duration_seconds[15m])",
            "synthetic-journey",
        ),
        d(
            "db-slowquery-rate",
            "sum by (source) (rate(db_slowquery_queries_total[5m]))",
            "db-slowquery",
        ),
    ]
}
