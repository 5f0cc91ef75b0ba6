//! Grafana dashboards (schema 39): SLO overview with calendar-month compliance and 30/90-day
//! trends, anomaly bands, RUM, WebRTC, synthetic journeys, database and a global overview.
//! Every dashboard takes its Prometheus data source from a `datasource` variable and keeps a
//! fixed `uid`, so links in alert annotations stay valid across regenerations.

use serde_json::{json, Value};

use super::{Options, Target};
use crate::model::Model;
use crate::names as n;

/// Grafana's dashboard schema version the JSON follows.
pub const SCHEMA_VERSION: u64 = 39;
const DS: &str = "${datasource}";

/// A panel query: expression and legend.
struct Q(&'static str, String);

fn q(legend: &'static str, expr: impl Into<String>) -> Q {
    Q(legend, expr.into())
}

/// A panel before layout.
struct Panel {
    kind: &'static str,
    title: &'static str,
    unit: &'static str,
    queries: Vec<Q>,
    /// Relative time override, e.g. `now/M` or `90d`.
    time_from: Option<&'static str>,
    /// Time shift, e.g. `1M/M` for the previous calendar month.
    time_shift: Option<&'static str>,
    instant: bool,
    width: u64,
}

fn panel(kind: &'static str, title: &'static str, unit: &'static str, queries: Vec<Q>) -> Panel {
    Panel {
        kind,
        title,
        unit,
        queries,
        time_from: None,
        time_shift: None,
        instant: false,
        width: 12,
    }
}

impl Panel {
    fn from(mut self, t: &'static str) -> Self {
        self.time_from = Some(t);
        self
    }

    fn shift(mut self, t: &'static str) -> Self {
        self.time_shift = Some(t);
        self
    }

    fn instant(mut self) -> Self {
        self.instant = true;
        self
    }

    fn wide(mut self) -> Self {
        self.width = 24;
        self
    }
}

/// A `query` variable over the values of a label.
fn label_var(name: &str, metric: &str, label: &str) -> Value {
    json!({
        "name": name,
        "label": name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": DS},
        "query": {"query": format!("label_values({metric}, {label})"), "refId": "var"},
        "definition": format!("label_values({metric}, {label})"),
        "refresh": 2,
        "multi": true,
        "includeAll": true,
        "allValue": ".*",
        "current": {"selected": true, "text": "All", "value": "$__all"},
        "sort": 1,
    })
}

fn datasource_var() -> Value {
    json!({
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "refresh": 1,
        "current": {},
    })
}

/// Lays panels out two per row (or one when wide) and wraps them in a dashboard.
fn dashboard(uid: &str, title: &str, vars: Vec<Value>, panels: Vec<Panel>) -> Value {
    let (mut x, mut y) = (0, 0);
    let mut out = Vec::new();
    for (i, p) in panels.into_iter().enumerate() {
        if x + p.width > 24 {
            x = 0;
            y += 8;
        }
        out.push(panel_json(i as u64 + 1, &p, x, y));
        x += p.width;
    }
    let mut templating = vec![datasource_var()];
    templating.extend(vars);
    json!({
        "uid": uid,
        "title": title,
        "description": crate::names::GENERATED_NOTE,
        "tags": ["rulegen"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": false,
        "graphTooltip": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "templating": {"list": templating},
        "annotations": {"list": []},
        "links": [],
        "panels": out,
    })
}

fn panel_json(id: u64, p: &Panel, x: u64, y: u64) -> Value {
    let targets: Vec<Value> = p
        .queries
        .iter()
        .enumerate()
        .map(|(i, Q(legend, expr))| {
            let mut t = json!({
                "refId": ((b'A' + i as u8) as char).to_string(),
                "datasource": {"type": "prometheus", "uid": DS},
                "expr": expr,
                "legendFormat": legend,
                "range": !p.instant,
                "instant": p.instant,
            });
            if p.kind == "table" {
                t["format"] = json!("table");
            }
            t
        })
        .collect();
    let mut v = json!({
        "id": id,
        "type": p.kind,
        "title": p.title,
        "datasource": {"type": "prometheus", "uid": DS},
        "gridPos": {"x": x, "y": y, "w": p.width, "h": 8},
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "options": {},
        "targets": targets,
    });
    if let Some(t) = p.time_from {
        v["timeFrom"] = json!(t);
    }
    if let Some(t) = p.time_shift {
        v["timeShift"] = json!(t);
    }
    v
}

/// Every dashboard as (file name, JSON text).
pub fn files(_model: &Model, opts: &Options) -> Vec<(String, String)> {
    [
        ("slo-overview.json", slo_overview()),
        ("anomaly-bands.json", anomaly_bands()),
        ("rum.json", rum(opts.target)),
        ("webrtc.json", webrtc()),
        ("synthetic.json", synthetic()),
        ("database.json", database()),
        ("overview.json", overview()),
    ]
    .into_iter()
    .map(|(name, d)| {
        let text = serde_json::to_string_pretty(&d).expect("dashboards always serialise");
        (name.to_string(), text + "\n")
    })
    .collect()
}

/// Error ratio over the panel's whole time range, from the hourly trend records: weighted by
/// requests where the SLI counts them, the hourly mean otherwise.
fn compliance(range: &str) -> String {
    let sel = "{sloth_id=~\"$slo_id\"}";
    format!(
        "1 - (\n  sum by (sloth_id) (sum_over_time({e}{sel}[{range}]))\n  /\n  sum by (sloth_id) (sum_over_time({r}{sel}[{range}]))\n  or\n  avg by (sloth_id) (avg_over_time({t}{sel}[{range}]))\n)",
        e = n::TREND_ERRORS,
        r = n::TREND_REQUESTS,
        t = n::TREND_RATIO,
    )
}

fn slo_overview() -> Value {
    let sel = "{sloth_id=~\"$slo_id\"}";
    let on = "on (sloth_id, sloth_service, sloth_slo)";
    let period_sli = format!(
        "1 - (\n  {}{sel}\n  * {on}\n  {}{sel}\n)",
        n::PERIOD_BURN_RATE,
        n::ERROR_BUDGET
    );
    let panels = vec![
        panel(
            "table",
            "SLOs: objective, SLI over the period, budget remaining, burn rate",
            "percentunit",
            vec![
                q("objective", format!("{}{sel}", n::OBJECTIVE)),
                q("sli", period_sli.clone()),
                q("budget remaining", format!("{}{sel}", n::BUDGET_REMAINING)),
                q("burn rate", format!("{}{sel}", n::CURRENT_BURN_RATE)),
            ],
        )
        .instant()
        .wide(),
        panel(
            "timeseries",
            "SLI over the period",
            "percentunit",
            vec![q("{{sloth_id}}", period_sli)],
        ),
        panel(
            "timeseries",
            "Error budget remaining",
            "percentunit",
            vec![q("{{sloth_id}}", format!("{}{sel}", n::BUDGET_REMAINING))],
        ),
        panel(
            "timeseries",
            "Burn rate (5m)",
            "short",
            vec![q("{{sloth_id}}", format!("{}{sel}", n::CURRENT_BURN_RATE))],
        ),
        panel(
            "timeseries",
            "Error ratio (5m)",
            "percentunit",
            vec![q(
                "{{sloth_id}}",
                format!("{}{sel}", n::sli_error_ratio("5m")),
            )],
        ),
        panel(
            "stat",
            "Compliance this calendar month",
            "percentunit",
            vec![q("{{sloth_id}}", compliance("$__range"))],
        )
        .instant()
        .from("now/M"),
        panel(
            "stat",
            "Compliance last calendar month",
            "percentunit",
            vec![q("{{sloth_id}}", compliance("$__range"))],
        )
        .instant()
        .from("now/M")
        .shift("1M/M"),
        panel(
            "stat",
            "Compliance two calendar months ago",
            "percentunit",
            vec![q("{{sloth_id}}", compliance("$__range"))],
        )
        .instant()
        .from("now/M")
        .shift("2M/M"),
        panel(
            "timeseries",
            "30-day trend (daily SLI)",
            "percentunit",
            vec![q("{{sloth_id}}", compliance("1d"))],
        )
        .from("30d"),
        panel(
            "timeseries",
            "90-day trend (daily SLI)",
            "percentunit",
            vec![q("{{sloth_id}}", compliance("1d"))],
        )
        .from("90d"),
    ];
    dashboard(
        n::DASHBOARD_SLO_UID,
        "SLO overview",
        vec![label_var("slo_id", n::OBJECTIVE, n::LABEL_ID)],
        panels,
    )
}

fn anomaly_bands() -> Value {
    let sel = "{anomaly=~\"$anomaly\"}";
    let panels = vec![
        panel(
            "timeseries",
            "Value inside its band",
            "short",
            vec![
                q("{{anomaly}} value", format!("{}{sel}", n::ANOMALY_VALUE)),
                q("{{anomaly}} upper", format!("{}{sel}", n::ANOMALY_UPPER)),
                q("{{anomaly}} lower", format!("{}{sel}", n::ANOMALY_LOWER)),
                q(
                    "{{anomaly}} prediction",
                    format!("{}{sel}", n::ANOMALY_PREDICTION),
                ),
            ],
        )
        .wide(),
        panel(
            "timeseries",
            "z-score",
            "short",
            vec![q("{{anomaly}}", format!("{}{sel}", n::ANOMALY_ZSCORE))],
        ),
        panel(
            "table",
            "Alerts firing",
            "short",
            vec![q(
                "",
                format!(
                    "ALERTS{{alertname=\"{}\", alertstate=\"firing\", anomaly=~\"$anomaly\"}}",
                    n::ANOMALY_ALERT
                ),
            )],
        )
        .instant(),
    ];
    dashboard(
        "rulegen-anomaly-bands",
        "Anomaly bands",
        vec![label_var("anomaly", n::ANOMALY_VALUE, n::LABEL_ANOMALY)],
        panels,
    )
}

fn p75(metric: &str) -> String {
    format!(
        "histogram_quantile(0.75, sum by (page, device, le) (rate({metric}_bucket{{app=~\"$app\", page=~\"$page\", device=~\"$device\"}}[$__rate_interval])))"
    )
}

fn rum(target: Target) -> Value {
    let f = "{app=~\"$app\", page=~\"$page\", device=~\"$device\"}";
    let panels = vec![
        panel("timeseries", "LCP p75 by page and device", "s", vec![q("{{page}} {{device}}", p75("rum_largest_contentful_paint_seconds"))]),
        panel("timeseries", "INP p75 by page and device", "s", vec![q("{{page}} {{device}}", p75("rum_interaction_to_next_paint_seconds"))]),
        panel("timeseries", "CLS p75 by page and device", "short", vec![q("{{page}} {{device}}", p75("rum_cumulative_layout_shift"))]),
        panel("timeseries", "FCP and TTFB p75", "s", vec![
            q("FCP {{page}} {{device}}", p75("rum_first_contentful_paint_seconds")),
            q("TTFB {{page}} {{device}}", p75("rum_time_to_first_byte_seconds")),
        ]),
        panel("bargauge", "Rating shares", "percentunit", vec![q("{{rating}}", format!(
            "sum by (rating) (rate(rum_web_vitals_rating_total{f}[$__rate_interval]))\n/ ignoring (rating) group_left\nsum(rate(rum_web_vitals_rating_total{f}[$__rate_interval]))"
        ))]),
        panel("timeseries", "Apdex of page loads (target 0.5 s)", "short", vec![q("{{app}}", format!(
            "(\n  sum by (app) (rate(rum_page_load_seconds_bucket{{app=~\"$app\", {satisfied}}}[$__rate_interval]))\n  + sum by (app) (rate(rum_page_load_seconds_bucket{{app=~\"$app\", {tolerating}}}[$__rate_interval]))\n) / 2\n/\nsum by (app) (rate(rum_page_load_seconds_count{{app=~\"$app\"}}[$__rate_interval]))",
            satisfied = target.le_matcher("0.5"),
            tolerating = target.le_matcher("2"),
        ))]),
        panel("timeseries", "Errors per second", "short", vec![q("{{page}}", format!("sum by (page) (rate(rum_errors_total{f}[$__rate_interval]))"))]),
        panel("timeseries", "Frustration signals per second", "short", vec![q("{{signal}}", format!("sum by (signal) (rate(rum_frustration_signals_total{f}[$__rate_interval]))"))]),
        panel("timeseries", "Page views per second", "short", vec![q("{{page}}", format!("sum by (page) (rate(rum_page_views_total{f}[$__rate_interval]))"))]),
    ];
    let vars = vec![
        label_var("app", "rum_page_views_total", "app"),
        label_var("page", "rum_page_views_total{app=~\"$app\"}", "page"),
        label_var("device", "rum_page_views_total{app=~\"$app\"}", "device"),
    ];
    dashboard("rulegen-rum", "Real user monitoring", vars, panels)
}

fn webrtc() -> Value {
    let r = "{region=~\"$region\"}";
    let panels = vec![
        panel("timeseries", "Calls: median MOS by country", "short", vec![q("{{country}}", "histogram_quantile(0.5, sum by (country, le) (rate(rum_webrtc_mos_bucket[$__rate_interval])))")]),
        panel("bargauge", "Calls: quality classes", "percentunit", vec![q("{{class}}", "sum by (class) (rate(rum_webrtc_quality_total[$__rate_interval]))\n/ ignoring (class) group_left\nsum(rate(rum_webrtc_quality_total[$__rate_interval]))")]),
        panel("timeseries", "Calls: round-trip time p95", "s", vec![q("{{country}}", "histogram_quantile(0.95, sum by (country, le) (rate(rum_webrtc_round_trip_time_seconds_bucket[$__rate_interval])))")]),
        panel("timeseries", "Calls: jitter p95 and loss p95", "short", vec![
            q("jitter {{country}}", "histogram_quantile(0.95, sum by (country, le) (rate(rum_webrtc_jitter_seconds_bucket[$__rate_interval])))"),
            q("loss {{country}}", "histogram_quantile(0.95, sum by (country, le) (rate(rum_webrtc_packet_loss_ratio_bucket[$__rate_interval])))"),
        ]),
        panel("timeseries", "Probes: MOS by region", "short", vec![q("{{region}} {{instance}}", format!("webrtc_probe_mos{r}"))]),
        panel("timeseries", "Probes: RTT, jitter and loss", "short", vec![
            q("rtt p50 {{region}}", "webrtc_probe_round_trip_time_seconds{region=~\"$region\", quantile=\"0.5\"}"),
            q("jitter {{region}}", format!("webrtc_probe_jitter_seconds{r}")),
            q("loss {{region}}", format!("webrtc_probe_packet_loss_ratio{r}")),
        ]),
        panel("timeseries", "Probes: success by region", "percentunit", vec![q("{{region}}", "avg by (region) (probe_success{job=\"webrtc-probe\", region=~\"$region\"})")]),
        panel("table", "Probes: failed stages", "short", vec![q("", format!("webrtc_probe_failed_stage{r} == 1"))]).instant(),
    ];
    dashboard(
        "rulegen-webrtc",
        "WebRTC",
        vec![label_var("region", "webrtc_probe_mos", "region")],
        panels,
    )
}

fn synthetic() -> Value {
    let j = "{journey=~\"$journey\"}";
    let panels = vec![
        panel("timeseries", "Journey success by location", "percentunit", vec![q("{{journey}} {{location}}", format!("avg by (journey, location) (avg_over_time(synthetic_journey_success{j}[$__rate_interval]))"))]),
        panel("timeseries", "Journey duration", "s", vec![q("{{journey}} {{location}}", format!("synthetic_journey_duration_seconds{j}"))]),
        panel("timeseries", "Step durations", "s", vec![q("{{journey}} {{step}}", format!("synthetic_journey_step_duration_seconds{j}"))]).wide(),
        panel("timeseries", "Page vitals: LCP, FCP, TTFB", "s", vec![
            q("LCP {{journey}} {{step}}", format!("synthetic_page_largest_contentful_paint_seconds{j}")),
            q("FCP {{journey}} {{step}}", format!("synthetic_page_first_contentful_paint_seconds{j}")),
            q("TTFB {{journey}} {{step}}", format!("synthetic_page_time_to_first_byte_seconds{j}")),
        ]),
        panel("timeseries", "Page CLS", "short", vec![q("{{journey}} {{step}}", format!("synthetic_page_cumulative_layout_shift{j}"))]),
        panel("timeseries", "Checks: success and duration", "short", vec![
            q("success {{check}}", "synthetic_check_success"),
            q("duration {{check}}", "synthetic_check_duration_seconds"),
        ]),
        panel("table", "Failed steps", "short", vec![q("", format!("synthetic_journey_failed_step{j} == 1"))]).instant(),
    ];
    dashboard(
        "rulegen-synthetic",
        "Synthetic journeys",
        vec![label_var("journey", "synthetic_journey_success", "journey")],
        panels,
    )
}

fn database() -> Value {
    let s = "{source=~\"$source\"}";
    let panels = vec![
        panel("table", "Top slow queries by total time", "s", vec![q("", format!(
            "topk(20,\n  sum by (source, query_id) (increase(db_slowquery_exec_seconds_total{s}[$__range]))\n)\n* on (source, query_id) group_left (fingerprint)\nmax by (source, query_id, fingerprint) (db_slowquery_query_info{s})"
        ))]).instant().wide(),
        panel("timeseries", "Slow queries per second by source", "short", vec![q("{{source}}", format!("sum by (source) (rate(db_slowquery_queries_total{s}[$__rate_interval]))"))]),
        panel("timeseries", "Execution time per second by source", "s", vec![q("{{source}}", format!("sum by (source) (rate(db_slowquery_exec_seconds_total{s}[$__rate_interval]))"))]),
        panel("timeseries", "Rows examined and sent per second", "short", vec![
            q("examined {{source}}", format!("sum by (source) (rate(db_slowquery_rows_examined_total{s}[$__rate_interval]))")),
            q("sent {{source}}", format!("sum by (source) (rate(db_slowquery_rows_sent_total{s}[$__rate_interval]))")),
        ]),
        panel("timeseries", "Running queries and longest running", "short", vec![
            q("running {{source}}", format!("db_slowquery_running_queries{s}")),
            q("longest {{source}}", format!("db_slowquery_longest_running_seconds{s}")),
        ]),
        panel("stat", "Sources up", "short", vec![q("{{source}}", format!("db_slowquery_source_up{s}"))]).instant(),
    ];
    dashboard(
        "rulegen-database",
        "Database slow queries",
        vec![label_var("source", "db_slowquery_source_up", "source")],
        panels,
    )
}

fn overview() -> Value {
    let panels = vec![
        panel("table", "Targets up by service and region", "percentunit", vec![q("", "avg by (job, region) (up{region=~\"$region\"})")]).instant().wide(),
        panel("bargauge", "Error budget remaining by service", "percentunit", vec![q("{{sloth_service}}", format!("min by (sloth_service) ({})", n::BUDGET_REMAINING))]),
        panel("table", "Alerts firing by service and severity", "short", vec![q("", "count by (service, severity) (ALERTS{alertstate=\"firing\"})")]).instant(),
        panel("timeseries", "Journey success by region", "percentunit", vec![q("{{region}}", "avg by (region) (synthetic_journey_success{region=~\"$region\"})")]),
        panel("timeseries", "Probe success by region", "percentunit", vec![q("{{region}} {{job}}", "avg by (job, region) (probe_success{region=~\"$region\"})")]),
        panel("timeseries", "Real-user LCP p75 by country", "s", vec![q("{{country}}", "histogram_quantile(0.75, sum by (country, le) (rate(rum_largest_contentful_paint_seconds_bucket[$__rate_interval])))")]),
        panel("timeseries", "Slow queries per second by source", "short", vec![q("{{source}}", "sum by (source) (rate(db_slowquery_queries_total[$__rate_interval]))")]),
    ];
    dashboard(
        "rulegen-overview",
        "Overview",
        vec![label_var("region", "up", "region")],
        panels,
    )
}
