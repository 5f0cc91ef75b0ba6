//! The whole stack, started by `scripts/demo.sh` exactly as `make demo` does (on free ports,
//! with short intervals): targets up in both regions and at the centre, every generated rule
//! loaded and evaluating, every exporter's series at the centre with its region, every
//! dashboard expression returning data, and a fault drill whose alerts go through Alertmanager
//! to the webhook receiver, with the inhibition applied, and resolve.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{eventually, get_json, post, query, Stack};
use serde_json::Value;

/// Scrape jobs and target counts per region (the probe targets are three modules of one
/// webrtc-probe job).
const TARGETS: [(&str, &[&str], usize); 2] = [
    (
        "eu",
        &[
            "alertmanager",
            "db-slowquery",
            "demo-app",
            "prometheus",
            "prometheus-central",
            "rum-gateway",
            "synthetic-journey",
            "webrtc-probe",
        ],
        11,
    ),
    (
        "us",
        &["prometheus", "synthetic-journey", "webrtc-probe"],
        6,
    ),
];

/// Each exporter's main series, and the regions they must come from at the centre.
const SERIES: [(&str, &[&str]); 17] = [
    ("demo_app_http_requests_total", &["eu"]),
    ("rum_page_views_total", &["eu"]),
    ("rum_largest_contentful_paint_seconds_bucket", &["eu"]),
    ("rum_errors_total", &["eu"]),
    ("rum_webrtc_mos_count", &["eu"]),
    ("db_slowquery_queries_total{source=\"mariadb\"}", &["eu"]),
    ("db_slowquery_queries_total{source=\"postgres\"}", &["eu"]),
    ("db_slowquery_source_up == 1", &["eu"]),
    ("probe_success{module=\"stun_udp\"} == 1", &["eu", "us"]),
    ("probe_success{module=\"turn_udp\"} == 1", &["eu", "us"]),
    ("probe_success{module=\"peer_relay\"} == 1", &["eu", "us"]),
    ("webrtc_probe_turn_allocate_seconds", &["eu", "us"]),
    ("webrtc_probe_mos", &["eu", "us"]),
    ("synthetic_journey_success == 1", &["eu", "us"]),
    ("synthetic_journey_step_duration_seconds", &["eu", "us"]),
    (
        "synthetic_check_success{check=\"websocket_echo\"} == 1",
        &["eu", "us"],
    ),
    (
        "synthetic_check_success{check=\"api_health\"} == 1",
        &["eu", "us"],
    ),
];

/// Dashboard expressions that return nothing while all is well, each with the reason. Those
/// marked `true` are shown to return data during the fault drill.
const NO_DATA_WHEN_HEALTHY: [(&str, &str, bool); 5] = [
    (
        "ALERTS{alertstate=\"firing\"}",
        "counts firing alerts: none while all is well",
        true,
    ),
    (
        "synthetic_journey_failed_step{",
        "shows the step where a journey failed",
        true,
    ),
    (
        "webrtc_probe_failed_stage{",
        "shows the stage where a WebRTC probe failed; the drill breaks the app, not coturn",
        false,
    ),
    (
        "ALERTS{alertname=\"AnomalyOutsideBand\"",
        "anomaly alerts need a week of history to compare with",
        false,
    ),
    (
        ":increase1h",
        "fed by the hourly recording group, first evaluated up to an hour after Prometheus starts",
        false,
    ),
];

#[test]
fn the_demo_stack_monitors_the_app_alerts_through_alertmanager_and_stops_cleanly() {
    let mut stack = Stack::start();
    let started = Instant::now();

    every_target_is_up_in_both_regions_and_at_the_centre(&stack);
    eprintln!("targets up after {:?}", started.elapsed());
    every_generated_rule_is_loaded_and_evaluates(&stack);
    every_exporter_series_reaches_the_centre_with_its_region(&stack);
    eprintln!("series at the centre after {:?}", started.elapsed());
    every_dashboard_expression_returns_data(&stack);
    eprintln!("dashboards checked after {:?}", started.elapsed());
    the_fault_drill_pages_inhibits_the_ticket_and_resolves(&stack);
    eprintln!("drill done after {:?}", started.elapsed());

    let leaked = stack.stop();
    assert!(
        leaked.is_empty(),
        "processes left running after demo.sh stopped: {leaked:?}"
    );
    assert!(stack.output().contains("stopped "), "{}", stack.output());
}

fn every_target_is_up_in_both_regions_and_at_the_centre(stack: &Stack) {
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    for (region, jobs, count) in TARGETS {
        let agent = stack.url(&format!("DEMO_PROMETHEUS_{}_PORT", region.to_uppercase()));
        eventually(
            &format!("every {region} target is up"),
            Duration::from_secs(60),
            || {
                let targets = get_json(&format!("{agent}/api/v1/targets"))?;
                let active = targets["data"]["activeTargets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let found: BTreeSet<&str> = active
                    .iter()
                    .filter_map(|t| t["labels"]["job"].as_str())
                    .collect();
                let down: Vec<&Value> = active.iter().filter(|t| t["health"] != "up").collect();
                if found != jobs.iter().copied().collect()
                    || active.len() != count
                    || !down.is_empty()
                {
                    return Err(format!(
                        "jobs {found:?}, {} targets, down: {down:?}",
                        active.len()
                    ));
                }
                Ok(())
            },
        );
        eventually(
            &format!("the centre sees every {region} target up"),
            Duration::from_secs(30),
            || {
                let up = query(&central, &format!("up{{region=\"{region}\"}} == 1"))?;
                (up.len() == count)
                    .then_some(())
                    .ok_or(format!("{} of {count}: {up:?}", up.len()))
            },
        );
    }
}

/// The groups of every generated rule file, by name, with their rule count and interval.
fn generated_groups(stack: &Stack) -> BTreeMap<String, (usize, Option<String>)> {
    let mut groups = BTreeMap::new();
    let dir = stack.state().join("generated/rules");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let file: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in file["groups"].as_sequence().unwrap() {
            let name = group["name"].as_str().unwrap().to_string();
            let rules = group["rules"].as_sequence().unwrap().len();
            let interval = group["interval"].as_str().map(str::to_string);
            groups.insert(name, (rules, interval));
        }
    }
    assert!(
        groups.len() > 5,
        "too few generated groups in {}: {groups:?}",
        dir.display()
    );
    groups
}

fn every_generated_rule_is_loaded_and_evaluates(stack: &Stack) {
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    let expected = generated_groups(stack);
    eventually(
        "every generated rule is loaded and evaluated without error",
        Duration::from_secs(60),
        || {
            let rules = get_json(&format!("{central}/api/v1/rules"))?;
            let loaded = rules["data"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut seen = BTreeSet::new();
            for group in &loaded {
                let name = group["name"].as_str().unwrap_or_default().to_string();
                let Some((count, interval)) = expected.get(&name) else {
                    return Err(format!("group {name} was not generated"));
                };
                let members = group["rules"].as_array().cloned().unwrap_or_default();
                if members.len() != *count {
                    return Err(format!(
                        "group {name}: {} rules loaded, {count} generated",
                        members.len()
                    ));
                }
                for rule in &members {
                    rule_evaluates(&central, &name, interval.as_deref(), rule)?;
                }
                seen.insert(name);
            }
            let missing: Vec<&String> = expected.keys().filter(|g| !seen.contains(*g)).collect();
            missing
                .is_empty()
                .then_some(())
                .ok_or(format!("groups not loaded: {missing:?}"))
        },
    );
}

/// A rule evaluated without error. Rules of an hourly group may not have run yet ("unknown"):
/// their expression is then evaluated by a query, which must succeed.
fn rule_evaluates(
    central: &str,
    group: &str,
    interval: Option<&str>,
    rule: &Value,
) -> Result<(), String> {
    let name = rule["name"].as_str().unwrap_or_default();
    let error = rule["lastError"].as_str().unwrap_or_default();
    match rule["health"].as_str() {
        Some("ok") if error.is_empty() => Ok(()),
        Some("unknown") if interval == Some("1h") => {
            query(central, rule["query"].as_str().unwrap_or_default()).map(|_| ())
        }
        Some("err") => panic!("rule {name} of {group} fails: {error}"),
        health => Err(format!("rule {name} of {group}: health {health:?} {error}")),
    }
}

fn every_exporter_series_reaches_the_centre_with_its_region(stack: &Stack) {
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    eventually(
        "every exporter's series are at the centre",
        Duration::from_secs(150),
        || {
            for (series, regions) in SERIES {
                let result = query(&central, series)?;
                let found: BTreeSet<&str> = result
                    .iter()
                    .filter_map(|s| s["metric"]["region"].as_str())
                    .collect();
                if found != regions.iter().copied().collect() {
                    return Err(format!("{series}: regions {found:?}, expected {regions:?}"));
                }
            }
            Ok(())
        },
    );
}

/// Every `expr` of every panel of every generated dashboard.
fn dashboard_expressions(stack: &Stack) -> Vec<(String, String)> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(expr)) = map.get("expr") {
                    out.push(expr.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dir = stack.state().join("generated/grafana/dashboards");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut exprs = Vec::new();
        walk(&dashboard["panels"], &mut exprs);
        let title = dashboard["title"].as_str().unwrap_or_default().to_string();
        all.extend(exprs.into_iter().map(|e| (title.clone(), e)));
    }
    assert!(
        all.len() > 30,
        "too few panel expressions in {}: {}",
        dir.display(),
        all.len()
    );
    all
}

/// Grafana's variables as a dashboard with "All" selected would send them.
fn substitute(expr: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h");
    while let Some(start) = out.find('$') {
        let end = out[start + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(out.len(), |i| start + 1 + i);
        out.replace_range(start..end, ".*");
    }
    out
}

fn no_data_reason(expr: &str) -> Option<(&'static str, bool)> {
    NO_DATA_WHEN_HEALTHY
        .iter()
        .find(|(marker, _, _)| expr.contains(marker))
        .map(|(_, reason, in_drill)| (*reason, *in_drill))
}

fn every_dashboard_expression_returns_data(stack: &Stack) {
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    let exprs = dashboard_expressions(stack);
    for (dashboard, expr) in &exprs {
        if let Err(error) = query(&central, &substitute(expr)) {
            panic!("dashboard {dashboard}: expression fails: {error}");
        }
    }
    eventually(
        "every dashboard expression returns data",
        Duration::from_secs(90),
        || {
            let empty: Vec<String> = exprs
                .iter()
                .filter(|(_, expr)| no_data_reason(expr).is_none())
                .filter(|(_, expr)| query(&central, &substitute(expr)).is_ok_and(|r| r.is_empty()))
                .map(|(dashboard, expr)| format!("{dashboard}: {expr}"))
                .collect();
            empty
                .is_empty()
                .then_some(())
                .ok_or(format!("no data:\n{}", empty.join("\n")))
        },
    );
}

/// Alerts of every notification the webhook got: (receiver, status, labels).
fn notified(stack: &Stack) -> Result<Vec<(String, String, Value)>, String> {
    let received = get_json(&format!("{}/received", stack.url("DEMO_WEBHOOK_PORT")))?;
    let mut alerts = Vec::new();
    for n in received["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        for a in n["alerts"].as_array().cloned().unwrap_or_default() {
            let receiver = n["receiver"].as_str().unwrap_or_default().to_string();
            let status = a["status"].as_str().unwrap_or_default().to_string();
            alerts.push((receiver, status, a["labels"].clone()));
        }
    }
    Ok(alerts)
}

fn is_slo(labels: &Value, severity: &str) -> bool {
    labels["alertname"] == "ErrorBudgetBurn"
        && labels["service"] == "demo-app"
        && labels["sloth_severity"] == severity
}

fn is_journey(labels: &Value) -> bool {
    labels["alertname"] == "SyntheticJourneyFailing" && labels["journey"] == "shop"
}

/// Waits until the webhook got both the SLO page and the journey alert in `status`.
fn wait_notified(stack: &Stack, status: &str, timeout: Duration) {
    eventually(
        &format!("the page and the journey alert arrive {status}"),
        timeout,
        || {
            let alerts = notified(stack)?;
            let has = |f: &dyn Fn(&Value) -> bool| {
                alerts
                    .iter()
                    .any(|(r, s, l)| r == "pager" && s == status && f(l))
            };
            if has(&|l| is_slo(l, "page")) && has(&is_journey) {
                Ok(())
            } else {
                Err(format!("received so far: {alerts:?}"))
            }
        },
    );
}

fn the_fault_drill_pages_inhibits_the_ticket_and_resolves(stack: &Stack) {
    let app = stack.url("DEMO_APP_PORT");
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    let before = notified(stack).unwrap();
    assert!(
        !before
            .iter()
            .any(|(_, _, l)| is_slo(l, "page") || is_journey(l)),
        "drill alerts before the drill: {before:?}"
    );

    post(&format!("{app}/admin/fault?mode=failing&duration=10m"));
    let fault = Instant::now();
    wait_notified(stack, "firing", Duration::from_secs(150));
    eprintln!(
        "page and journey alert notified {:?} after the fault",
        fault.elapsed()
    );

    // The ticket of the same SLO fires at Prometheus, but Alertmanager holds it back.
    let ticket =
        "ALERTS{alertname=\"ErrorBudgetBurn\", sloth_severity=\"ticket\", alertstate=\"firing\"}";
    eventually(
        "the SLO ticket fires at the centre",
        Duration::from_secs(120),
        || {
            let firing = query(&central, ticket)?;
            (!firing.is_empty())
                .then_some(())
                .ok_or("not firing yet".to_string())
        },
    );
    let alertmanager = stack.url("DEMO_ALERTMANAGER_PORT");
    eventually(
        "Alertmanager marks the ticket inhibited",
        Duration::from_secs(30),
        || {
            let alerts = get_json(&format!("{alertmanager}/api/v2/alerts"))?;
            let tickets: Vec<&Value> = alerts
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| is_slo(&a["labels"], "ticket"))
                .collect();
            let inhibited = tickets.iter().any(|a| {
                a["status"]["state"] == "suppressed"
                    && a["status"]["inhibitedBy"]
                        .as_array()
                        .is_some_and(|i| !i.is_empty())
            });
            inhibited
                .then_some(())
                .ok_or(format!("ticket alerts: {tickets:?}"))
        },
    );
    fault_only_panels_show_the_fault(stack);
    // Two group intervals (5 s each) for a notification that should not come.
    std::thread::sleep(Duration::from_secs(12));

    post(&format!("{app}/admin/fault?mode=none"));
    let recovery = Instant::now();
    wait_notified(stack, "resolved", Duration::from_secs(120));
    eprintln!(
        "resolved notified {:?} after the recovery",
        recovery.elapsed()
    );

    let tickets: Vec<_> = notified(stack)
        .unwrap()
        .into_iter()
        .filter(|(_, _, l)| is_slo(l, "ticket"))
        .collect();
    assert!(
        tickets.is_empty(),
        "the inhibited ticket was notified: {tickets:?}"
    );
    assert!(
        stack.output().contains("receiver=pager status=firing"),
        "the webhook did not print its notifications:\n{}",
        stack.output()
    );
}

/// The panels listed as showing only faults do show this one.
fn fault_only_panels_show_the_fault(stack: &Stack) {
    let central = stack.url("DEMO_PROMETHEUS_PORT");
    let exprs = dashboard_expressions(stack);
    let shown: Vec<&String> = exprs
        .iter()
        .map(|(_, e)| e)
        .filter(|e| no_data_reason(e).is_some_and(|(_, in_drill)| in_drill))
        .collect();
    assert!(!shown.is_empty());
    for expr in shown {
        eventually(
            &format!("{expr} shows the fault"),
            Duration::from_secs(30),
            || {
                let result = query(&central, &substitute(expr))?;
                (!result.is_empty())
                    .then_some(())
                    .ok_or("no data".to_string())
            },
        );
    }
}
