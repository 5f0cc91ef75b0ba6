//! The internal model every loader maps to and every generator reads. Nothing here knows which
//! spec format a value came from.

use std::collections::BTreeMap;

use crate::duration::Duration;
use crate::source::Location;

/// Everything the generators need, from all spec files together.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub slos: Vec<Slo>,
    pub anomalies: Vec<Detector>,
    pub packs: Packs,
    pub routing: Option<Routing>,
}

/// One service level objective.
#[derive(Debug, Clone)]
pub struct Slo {
    /// `<service>-<name>`, unique over all specs.
    pub id: String,
    pub service: String,
    pub name: String,
    pub description: String,
    /// Objective in percent, e.g. 99.9.
    pub objective: f64,
    pub period: Duration,
    pub sli: Sli,
    /// Labels put on every rule of this SLO.
    pub labels: BTreeMap<String, String>,
    pub alerting: Alerting,
    /// Name of the rule file (without extension) the SLO is written to: its ID.
    pub output: String,
    pub location: Location,
}

impl Slo {
    /// Error budget as a ratio, e.g. 0.001 for 99.9 %.
    pub fn error_budget(&self) -> f64 {
        round_ratio((100.0 - self.objective) / 100.0)
    }

    /// Objective as a ratio, e.g. 0.999.
    pub fn objective_ratio(&self) -> f64 {
        round_ratio(self.objective / 100.0)
    }
}

/// Rounds away the noise of binary floating point (99.9 is not exact), keeping 12 digits.
pub fn round_ratio(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 12 - x.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// A PromQL expression that may hold `{{.window}}` placeholders for the range of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub template: String,
    pub location: Location,
}

impl Query {
    /// The expression with every window placeholder replaced by `window`.
    pub fn render(&self, window: Duration) -> String {
        render_window(&self.template, &window.to_string())
    }
}

/// Replaces `{{.window}}` (spaces allowed inside the braces) by `window`.
pub fn render_window(template: &str, window: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + len];
        if inner.trim() == ".window" {
            out.push_str(window);
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Whether a template holds at least one window placeholder.
pub fn has_window(template: &str) -> bool {
    render_window(template, "\u{0}") != template
}

/// How the error ratio of an SLO is measured.
#[derive(Debug, Clone)]
pub enum Sli {
    /// Bad events over all events, both as per-second rates over the window.
    Events { errors: Query, total: Query },
    /// Good events over all events; errors are `total - good`.
    Good { good: Query, total: Query },
    /// Requests slower than `threshold` seconds, from a classic histogram.
    Latency(Latency),
    /// An expression that is already the error ratio over the window; no event counts.
    Raw { error_ratio: Query },
}

/// A latency SLI over a classic Prometheus histogram.
#[derive(Debug, Clone)]
pub struct Latency {
    /// Histogram name without the `_bucket`/`_count` suffix.
    pub histogram: String,
    /// Equality matchers selecting the histogram's series.
    pub matchers: BTreeMap<String, String>,
    /// Bucket boundary, as the `le` label writes it.
    pub threshold: String,
    /// Labels the rates are summed by (none: one series per SLO).
    pub by: Vec<String>,
    pub location: Location,
}

/// Which alerts an SLO gets and how they look.
#[derive(Debug, Clone)]
pub struct Alerting {
    pub name: String,
    /// Labels on both alerts.
    pub labels: BTreeMap<String, String>,
    /// Annotations on both alerts; they override the defaults.
    pub annotations: BTreeMap<String, String>,
    pub page: AlertSpec,
    pub ticket: AlertSpec,
    /// Burn-rate window pairs; both windows of a pair must burn too fast.
    pub windows: Vec<BurnWindow>,
    /// Fewer events than this in the long window of a pair keep it quiet.
    pub min_events: u64,
    pub runbook_url: Option<String>,
    pub dashboard_url: Option<String>,
}

/// One of the two alerts of an SLO.
#[derive(Debug, Clone, Default)]
pub struct AlertSpec {
    pub enabled: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// How long the condition must hold before the alert fires (none: at once).
    pub for_: Option<Duration>,
}

/// Page or ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    /// The value of the `sloth_severity` label.
    pub fn tier(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }

    /// The value of the `severity` label routing uses.
    pub fn severity(self) -> &'static str {
        match self {
            Severity::Page => "critical",
            Severity::Ticket => "warning",
        }
    }
}

/// A multi-window burn-rate condition.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnWindow {
    pub severity: Severity,
    /// Share of the period's error budget, in percent, this pair alerts on spending.
    pub budget_percent: f64,
    pub short: Duration,
    pub long: Duration,
}

impl BurnWindow {
    /// Burn rate that spends `budget_percent` of the budget within the long window.
    pub fn factor(&self, period: Duration) -> f64 {
        round_ratio(self.budget_percent / 100.0 * period.as_hours() / self.long.as_hours())
    }
}

/// The SRE workbook's windows: 2 % in 1h and 5 % in 6h page; 10 % in 1d and in 3d ticket.
pub fn default_windows() -> Vec<BurnWindow> {
    let w = |severity, budget_percent, short, long| BurnWindow {
        severity,
        budget_percent,
        short,
        long,
    };
    vec![
        w(
            Severity::Page,
            2.0,
            Duration::minutes(5),
            Duration::hours(1),
        ),
        w(
            Severity::Page,
            5.0,
            Duration::minutes(30),
            Duration::hours(6),
        ),
        w(
            Severity::Ticket,
            10.0,
            Duration::hours(2),
            Duration::days(1),
        ),
        w(
            Severity::Ticket,
            10.0,
            Duration::hours(6),
            Duration::days(3),
        ),
    ]
}

/// An anomaly detector: a signal compared with its own seasonal prediction.
#[derive(Debug, Clone)]
pub struct Detector {
    pub name: String,
    pub expr: Query,
    pub seasonality: Seasonality,
    /// Width of the band in standard deviations.
    pub sensitivity: f64,
    pub direction: Direction,
    pub for_: Duration,
    /// Bands are clamped at zero for signals that cannot go negative.
    pub non_negative: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Name of the rule file (without extension) the detector is written to.
    pub output: String,
    pub location: Location,
}

/// How far back the prediction looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seasonality {
    Weekly,
    Daily,
    None,
}

impl Seasonality {
    /// Season length, and the window the mean and deviation are taken over.
    pub fn season(self) -> Duration {
        match self {
            Seasonality::Weekly => Duration::days(7),
            Seasonality::Daily | Seasonality::None => Duration::days(1),
        }
    }
}

/// Which side of the band alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Both,
}

/// The built-in alert packs for the toolkit's exporters, with overridable thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Packs {
    pub enabled: bool,
    pub thresholds: BTreeMap<String, f64>,
    /// Exporters that are deployed; only these get up/absent/reload alerts.
    pub exporters: Vec<String>,
}

impl Default for Packs {
    fn default() -> Self {
        Packs {
            enabled: true,
            thresholds: BTreeMap::new(),
            exporters: [
                "rum-gateway",
                "webrtc-probe",
                "synthetic-journey",
                "db-slowquery",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Alertmanager routing.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub default_receiver: String,
    pub group_by: Vec<String>,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub routes: Vec<Route>,
    pub receivers: Vec<Receiver>,
    pub business_hours: Option<BusinessHours>,
    pub location: Location,
}

/// A route by team and severity.
#[derive(Debug, Clone, Default)]
pub struct Route {
    pub team: Option<String>,
    pub severity: Option<String>,
    pub receiver: String,
    /// Only deliver inside business hours (tickets).
    pub business_hours_only: bool,
    pub continue_: bool,
}

/// Where notifications go; secrets only through files.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub name: String,
    pub kind: ReceiverKind,
}

#[derive(Debug, Clone)]
pub enum ReceiverKind {
    Webhook {
        url: String,
        bearer_token_file: Option<String>,
    },
    Slack {
        api_url_file: String,
        channel: String,
    },
    PagerDuty {
        routing_key_file: String,
    },
    Email {
        to: String,
        from: String,
        smarthost: String,
        auth_username: Option<String>,
        auth_password_file: Option<String>,
    },
}

/// When tickets may be delivered.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    pub weekdays: String,
    pub start: String,
    pub end: String,
    pub timezone: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_for_thirty_days_match_the_workbook() {
        let f: Vec<f64> = default_windows()
            .iter()
            .map(|w| w.factor(Duration::days(30)))
            .collect();
        assert_eq!(f, vec![14.4, 6.0, 3.0, 1.0]);
    }

    #[test]
    fn factors_for_twenty_eight_days_are_rounded() {
        let f: Vec<f64> = default_windows()
            .iter()
            .map(|w| w.factor(Duration::days(28)))
            .collect();
        assert_eq!(f, vec![13.44, 5.6, 2.8, 0.933333333333]);
    }

    #[test]
    fn budgets_are_free_of_float_noise() {
        assert_eq!(round_ratio((100.0 - 99.9) / 100.0), 0.001);
        assert_eq!(round_ratio((100.0 - 99.99) / 100.0), 0.0001);
        assert_eq!(round_ratio(99.9 / 100.0), 0.999);
    }

    #[test]
    fn window_placeholders_are_rendered_with_or_without_spaces() {
        let q = "rate(a[{{.window}}]) / rate(b[{{ .window }}]) {{.other}}";
        assert_eq!(
            render_window(q, "5m"),
            "rate(a[5m]) / rate(b[5m]) {{.other}}"
        );
        assert!(has_window(q));
        assert!(!has_window("rate(a[5m])"));
    }
}
