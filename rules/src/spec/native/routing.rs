//! The `routing` section of a `rulegen/v1` spec: Alertmanager routes, receivers and hours.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::super::common::valid_label_name;
use super::super::SpecError;
use crate::duration::Duration;
use crate::model::{BusinessHours, Receiver, ReceiverKind, Route, Routing};
use crate::source::Document;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// Receiver of alerts no route matches.
    default_receiver: String,
    /// Labels alerts are grouped by (default `alertname`, `service`, `slo`).
    #[serde(default)]
    group_by: Option<Vec<String>>,
    /// Wait before the first notification of a group (default 30s).
    #[serde(default)]
    group_wait: Option<Duration>,
    /// Wait before notifying about new alerts of a group (default 5m).
    #[serde(default)]
    group_interval: Option<Duration>,
    /// Wait before repeating a notification (default 4h).
    #[serde(default)]
    repeat_interval: Option<Duration>,
    /// Hours in which routes with `business_hours_only` deliver.
    #[serde(default)]
    business_hours: Option<HoursSpec>,
    /// Routes, tried in order; the first match wins.
    #[serde(default)]
    routes: Vec<RouteSpec>,
    /// Where notifications go.
    receivers: Vec<ReceiverSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursSpec {
    /// Weekday range, e.g. `monday:friday` (default).
    #[serde(default = "default_weekdays")]
    weekdays: String,
    /// Start time, `HH:MM` (default 09:00).
    #[serde(default = "default_start")]
    start: String,
    /// End time, `HH:MM` (default 17:00).
    #[serde(default = "default_end")]
    end: String,
    /// IANA time zone (default UTC).
    #[serde(default = "default_timezone")]
    timezone: String,
}

fn default_weekdays() -> String {
    "monday:friday".into()
}
fn default_start() -> String {
    "09:00".into()
}
fn default_end() -> String {
    "17:00".into()
}
fn default_timezone() -> String {
    "UTC".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    /// Match alerts with this `team` label.
    #[serde(default)]
    team: Option<String>,
    /// Match alerts with this `severity` label (`critical`, `warning`, `info`).
    #[serde(default)]
    severity: Option<String>,
    /// Receiver of the matched alerts.
    receiver: String,
    /// Deliver only in business hours; default true for `severity: warning` routes when
    /// `business_hours` is set.
    #[serde(default)]
    business_hours_only: Option<bool>,
    /// Keep trying the next routes after this one matched.
    #[serde(default, rename = "continue")]
    continue_: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverSpec {
    /// Receiver name.
    name: String,
    /// Webhook receiver; a bearer token, if any, is read from a file.
    #[serde(default)]
    webhook: Option<WebhookSpec>,
    /// Slack receiver; the webhook URL is read from a file.
    #[serde(default)]
    slack: Option<SlackSpec>,
    /// PagerDuty Events API v2 receiver; the routing key is read from a file.
    #[serde(default)]
    pagerduty: Option<PagerDutySpec>,
    /// E-mail receiver; the SMTP password, if any, is read from a file.
    #[serde(default)]
    email: Option<EmailSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSpec {
    /// Webhook URL; put no secret in it (Alertmanager 0.25 has no `url_file`).
    url: String,
    /// File holding a bearer token sent in the `Authorization` header.
    #[serde(default)]
    bearer_token_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackSpec {
    /// File holding the Slack incoming-webhook URL.
    api_url_file: String,
    /// Channel, e.g. `#alerts`.
    channel: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PagerDutySpec {
    /// File holding the Events API v2 routing key.
    routing_key_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailSpec {
    /// Recipient address.
    to: String,
    /// Sender address.
    from: String,
    /// SMTP server, `host:port`.
    smarthost: String,
    /// SMTP user name.
    #[serde(default)]
    auth_username: Option<String>,
    /// File holding the SMTP password.
    #[serde(default)]
    auth_password_file: Option<String>,
}

/// Maps and checks the routing section.
pub fn load(doc: &Document, r: &RoutingSpec) -> Result<Routing, Vec<SpecError>> {
    let mut errors = Vec::new();
    let receivers = receivers(doc, &r.receivers, &mut errors);
    let names: BTreeSet<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
    let mut known = |path: String, name: &str| {
        if !names.contains(name) {
            errors.push(SpecError::new(
                doc.locate(&path),
                format!("unknown receiver {name:?}"),
            ));
        }
    };
    known("routing.default_receiver".into(), &r.default_receiver);
    for (i, route) in r.routes.iter().enumerate() {
        known(format!("routing.routes.{i}.receiver"), &route.receiver);
    }
    let routes = routes(doc, r, &mut errors);
    let group_by = r
        .group_by
        .clone()
        .unwrap_or_else(|| vec!["alertname".into(), "service".into(), "slo".into()]);
    for (i, g) in group_by.iter().enumerate() {
        if !valid_label_name(g) {
            errors.push(SpecError::new(
                doc.locate(&format!("routing.group_by.{i}")),
                format!("invalid label name {g:?}"),
            ));
        }
    }
    let business_hours = r
        .business_hours
        .as_ref()
        .map(|h| hours(doc, h, &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Routing {
        default_receiver: r.default_receiver.clone(),
        group_by,
        group_wait: r.group_wait.unwrap_or(Duration(30)),
        group_interval: r.group_interval.unwrap_or(Duration::minutes(5)),
        repeat_interval: r.repeat_interval.unwrap_or(Duration::hours(4)),
        routes,
        receivers,
        business_hours,
        location: doc.locate("routing"),
    })
}

fn routes(doc: &Document, r: &RoutingSpec, errors: &mut Vec<SpecError>) -> Vec<Route> {
    let mut out = Vec::new();
    for (i, route) in r.routes.iter().enumerate() {
        let path = format!("routing.routes.{i}");
        if route.team.is_none() && route.severity.is_none() {
            errors.push(SpecError::new(
                doc.locate(&path),
                "a route needs `team` or `severity`",
            ));
        }
        let is_ticket = route.severity.as_deref() == Some("warning");
        let hours_only = route
            .business_hours_only
            .unwrap_or(is_ticket && r.business_hours.is_some());
        if hours_only && r.business_hours.is_none() {
            errors.push(SpecError::new(
                doc.locate(&format!("{path}.business_hours_only")),
                "business_hours_only needs `routing.business_hours`",
            ));
        }
        out.push(Route {
            team: route.team.clone(),
            severity: route.severity.clone(),
            receiver: route.receiver.clone(),
            business_hours_only: hours_only,
            continue_: route.continue_,
        });
    }
    out
}

fn receivers(doc: &Document, rs: &[ReceiverSpec], errors: &mut Vec<SpecError>) -> Vec<Receiver> {
    let mut out: Vec<Receiver> = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        let path = format!("routing.receivers.{i}");
        if out.iter().any(|o| o.name == r.name) {
            errors.push(SpecError::new(
                doc.locate(&format!("{path}.name")),
                format!("duplicate receiver {:?}", r.name),
            ));
        }
        let kinds = [
            r.webhook.is_some(),
            r.slack.is_some(),
            r.pagerduty.is_some(),
            r.email.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            errors.push(SpecError::new(
                doc.locate(&path),
                "a receiver needs exactly one of `webhook`, `slack`, `pagerduty` or `email`",
            ));
            continue;
        }
        let kind = if let Some(w) = &r.webhook {
            ReceiverKind::Webhook {
                url: w.url.clone(),
                bearer_token_file: w.bearer_token_file.clone(),
            }
        } else if let Some(s) = &r.slack {
            ReceiverKind::Slack {
                api_url_file: s.api_url_file.clone(),
                channel: s.channel.clone(),
            }
        } else if let Some(p) = &r.pagerduty {
            ReceiverKind::PagerDuty {
                routing_key_file: p.routing_key_file.clone(),
            }
        } else {
            let e = r.email.as_ref().expect("one receiver kind is set");
            ReceiverKind::Email {
                to: e.to.clone(),
                from: e.from.clone(),
                smarthost: e.smarthost.clone(),
                auth_username: e.auth_username.clone(),
                auth_password_file: e.auth_password_file.clone(),
            }
        };
        out.push(Receiver {
            name: r.name.clone(),
            kind,
        });
    }
    out
}

fn hours(doc: &Document, h: &HoursSpec, errors: &mut Vec<SpecError>) -> BusinessHours {
    for (key, value) in [("start", &h.start), ("end", &h.end)] {
        if !is_clock(value) {
            errors.push(SpecError::new(
                doc.locate(&format!("routing.business_hours.{key}")),
                format!("invalid time {value:?}, expected HH:MM"),
            ));
        }
    }
    BusinessHours {
        weekdays: h.weekdays.clone(),
        start: h.start.clone(),
        end: h.end.clone(),
        timezone: h.timezone.clone(),
    }
}

fn is_clock(s: &str) -> bool {
    let Some((h, m)) = s.split_once(':') else {
        return false;
    };
    let (Ok(h), Ok(m)) = (h.parse::<u32>(), m.parse::<u32>()) else {
        return false;
    };
    s.len() == 5 && (h < 24 || (h == 24 && m == 0)) && m < 60
}
