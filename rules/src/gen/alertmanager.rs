//! `alertmanager/alertmanager.yml` from the routing section: routes by team and severity,
//! receivers whose secrets are only read from files, inhibitions and business hours.

use serde::Serialize;

use super::rulefile::to_yaml;
use crate::duration::Duration;
use crate::model::{Model, Receiver, ReceiverKind, Route, Routing};
use crate::names as n;

/// Name of the time interval tickets are delivered in.
pub const BUSINESS_HOURS: &str = "business-hours";

#[derive(Serialize)]
struct Config {
    route: RootRoute,
    inhibit_rules: Vec<Inhibit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    time_intervals: Vec<TimeInterval>,
    receivers: Vec<ReceiverConfig>,
}

#[derive(Serialize)]
struct RootRoute {
    receiver: String,
    group_by: Vec<String>,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    routes: Vec<ChildRoute>,
}

#[derive(Serialize)]
struct ChildRoute {
    receiver: String,
    matchers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    active_time_intervals: Vec<String>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    continue_: bool,
}

#[derive(Serialize)]
struct Inhibit {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<String>,
}

#[derive(Serialize)]
struct TimeInterval {
    name: String,
    time_intervals: Vec<TimeSpec>,
}

#[derive(Serialize)]
struct TimeSpec {
    weekdays: Vec<String>,
    times: Vec<TimeRange>,
    location: String,
}

#[derive(Serialize)]
struct TimeRange {
    start_time: String,
    end_time: String,
}

#[derive(Serialize, Default)]
struct ReceiverConfig {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pagerduty_configs: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    email_configs: Vec<serde_json::Value>,
}

/// The Alertmanager configuration file.
pub fn file(routing: &Routing, _model: &Model) -> String {
    let config = Config {
        route: RootRoute {
            receiver: routing.default_receiver.clone(),
            group_by: routing.group_by.clone(),
            group_wait: routing.group_wait,
            group_interval: routing.group_interval,
            repeat_interval: routing.repeat_interval,
            routes: routing.routes.iter().map(child_route).collect(),
        },
        inhibit_rules: inhibitions(),
        time_intervals: routing
            .business_hours
            .iter()
            .map(|h| TimeInterval {
                name: BUSINESS_HOURS.to_string(),
                time_intervals: vec![TimeSpec {
                    weekdays: vec![h.weekdays.clone()],
                    times: vec![TimeRange {
                        start_time: h.start.clone(),
                        end_time: h.end.clone(),
                    }],
                    location: h.timezone.clone(),
                }],
            })
            .collect(),
        receivers: routing.receivers.iter().map(receiver).collect(),
    };
    to_yaml(&config)
}

/// Matchers of a route, in Alertmanager's `label="value"` form.
pub fn route_matchers(route: &Route) -> Vec<String> {
    let mut m = Vec::new();
    if let Some(team) = &route.team {
        m.push(format!("{}=\"{}\"", n::LABEL_TEAM, team));
    }
    if let Some(severity) = &route.severity {
        m.push(format!("{}=\"{}\"", n::LABEL_SEVERITY, severity));
    }
    m
}

fn child_route(route: &Route) -> ChildRoute {
    ChildRoute {
        receiver: route.receiver.clone(),
        matchers: route_matchers(route),
        active_time_intervals: if route.business_hours_only {
            vec![BUSINESS_HOURS.to_string()]
        } else {
            Vec::new()
        },
        continue_: route.continue_,
    }
}

/// A page silences the ticket of the same SLO; a down exporter silences what it feeds. Both
/// sides of the first rule need an `slo` label: Alertmanager counts a label missing on both
/// alerts as equal, so without it any critical alert would silence every warning.
fn inhibitions() -> Vec<Inhibit> {
    let slo = format!("{}=~\".+\"", n::LABEL_ROUTE_SLO);
    let down = format!(
        "alertname=~\"{}|{}\"",
        super::packs::EXPORTER_DOWN,
        super::packs::EXPORTER_ABSENT
    );
    vec![
        Inhibit {
            source_matchers: vec![format!("{}=\"critical\"", n::LABEL_SEVERITY), slo.clone()],
            target_matchers: vec![format!("{}=\"warning\"", n::LABEL_SEVERITY), slo],
            equal: vec![
                n::LABEL_ROUTE_SERVICE.to_string(),
                n::LABEL_ROUTE_SLO.to_string(),
            ],
        },
        Inhibit {
            source_matchers: vec![down.clone()],
            target_matchers: vec![
                format!("{}=~\".+\"", n::LABEL_EXPORTER),
                down.replacen("=~", "!~", 1),
            ],
            equal: vec![n::LABEL_EXPORTER.to_string()],
        },
    ]
}

fn receiver(r: &Receiver) -> ReceiverConfig {
    use serde_json::json;
    let mut c = ReceiverConfig {
        name: r.name.clone(),
        ..ReceiverConfig::default()
    };
    match &r.kind {
        ReceiverKind::Webhook {
            url,
            bearer_token_file,
        } => {
            let mut w = json!({"url": url, "send_resolved": true});
            if let Some(f) = bearer_token_file {
                w["http_config"] =
                    json!({"authorization": {"type": "Bearer", "credentials_file": f}});
            }
            c.webhook_configs.push(w);
        }
        ReceiverKind::Slack {
            api_url_file,
            channel,
        } => c.slack_configs.push(json!({
            "api_url_file": api_url_file,
            "channel": channel,
            "send_resolved": true,
            "title": "{{ .CommonAnnotations.summary }}",
            "text": "{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}",
        })),
        ReceiverKind::PagerDuty { routing_key_file } => c.pagerduty_configs.push(json!({
            "routing_key_file": routing_key_file,
            "send_resolved": true,
        })),
        ReceiverKind::Email {
            to,
            from,
            smarthost,
            auth_username,
            auth_password_file,
        } => {
            let mut e =
                json!({"to": to, "from": from, "smarthost": smarthost, "send_resolved": false});
            if let Some(u) = auth_username {
                e["auth_username"] = json!(u);
            }
            if let Some(p) = auth_password_file {
                e["auth_password_file"] = json!(p);
            }
            c.email_configs.push(e);
        }
    }
    c
}

/// Which receiver the routing tree picks for alerts with `team` and `severity` labels: the
/// first matching route, as Alertmanager does without `continue`.
pub fn expected_receiver(
    routing: &Routing,
    team: Option<&str>,
    severity: Option<&str>,
) -> Vec<String> {
    let mut picked = Vec::new();
    for r in &routing.routes {
        let team_ok = r.team.as_deref().is_none_or(|t| Some(t) == team);
        let severity_ok = r.severity.as_deref().is_none_or(|s| Some(s) == severity);
        if team_ok && severity_ok {
            picked.push(r.receiver.clone());
            if !r.continue_ {
                return picked;
            }
        }
    }
    if picked.is_empty() {
        picked.push(routing.default_receiver.clone());
    }
    picked
}
