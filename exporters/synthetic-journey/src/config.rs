//! The `--config.file` of synthetic-journey: journeys walked in a browser and plain checks.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use exporter_kit::{Problems, Validate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::template::Template;

/// The most journeys and checks a config may hold; each adds series and a schedule.
pub const MAX_ITEMS: usize = 200;
/// The most steps a journey may hold; each step adds a `step` label value.
pub const MAX_STEPS: usize = 100;

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Scripted walks through a site in headless Chromium, each on its own schedule.
    #[serde(default)]
    pub journeys: Vec<Journey>,
    /// HTTP and WebSocket checks, each on its own schedule.
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// One journey: steps walked in order in a fresh incognito context.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    /// The `journey` label; unique among journeys.
    pub name: String,
    /// Time between runs; the first run waits a random part of it, so journeys spread out.
    #[serde(default = "default_journey_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// The longest one run may take, all steps together.
    #[serde(default = "default_journey_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The longest a click, fill or assert_text step waits for its element to appear, and a
    /// navigate step for the page to load (wait steps have their own `timeout`).
    #[serde(default = "default_step_timeout", with = "humantime_serde")]
    pub step_timeout: Duration,
    /// The browser window size.
    #[serde(default)]
    pub viewport: Viewport,
    /// What the robot does, in order; the first failing step ends the run.
    pub steps: Vec<Step>,
}

fn default_journey_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_step_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_journey_timeout() -> Duration {
    Duration::from_secs(60)
}

/// A browser window size in CSS pixels.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

impl Default for Viewport {
    fn default() -> Viewport {
        Viewport {
            width: 1280,
            height: 800,
        }
    }
}

/// One step of a journey. Every step may carry a `name`, used as its `step` label (default:
/// its index and action, such as `2_click`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Loads `url` and waits for the page to finish loading.
    Navigate { name: Option<String>, url: Template },
    /// Clicks the first element matching the CSS `selector`, waiting for it to appear.
    Click {
        name: Option<String>,
        selector: String,
    },
    /// Clicks the element matching `selector` and types `value` into it.
    Fill {
        name: Option<String>,
        selector: String,
        value: Template,
    },
    /// Presses a key, such as `Enter` or `Tab`, in the focused element.
    Press { name: Option<String>, key: String },
    /// Waits until an element matching `selector` exists (default wait: the time left).
    Wait {
        name: Option<String>,
        selector: String,
        #[serde(default, with = "humantime_serde")]
        timeout: Option<Duration>,
    },
    /// Fails unless the text of the element matching `selector` contains `contains`.
    AssertText {
        name: Option<String>,
        selector: String,
        contains: String,
    },
    /// Fails unless the page's URL contains `contains`.
    AssertUrl {
        name: Option<String>,
        contains: String,
    },
    /// Waits a fixed time.
    Sleep {
        name: Option<String>,
        #[serde(with = "humantime_serde")]
        duration: Duration,
    },
    /// Saves a PNG of the page among the journey's artifacts, even when nothing failed.
    Screenshot { name: Option<String> },
}

impl Step {
    /// The action as written in the config.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Navigate { .. } => "navigate",
            Step::Click { .. } => "click",
            Step::Fill { .. } => "fill",
            Step::Press { .. } => "press",
            Step::Wait { .. } => "wait",
            Step::AssertText { .. } => "assert_text",
            Step::AssertUrl { .. } => "assert_url",
            Step::Sleep { .. } => "sleep",
            Step::Screenshot { .. } => "screenshot",
        }
    }

    fn given_name(&self) -> Option<&String> {
        match self {
            Step::Navigate { name, .. }
            | Step::Click { name, .. }
            | Step::Fill { name, .. }
            | Step::Press { name, .. }
            | Step::Wait { name, .. }
            | Step::AssertText { name, .. }
            | Step::AssertUrl { name, .. }
            | Step::Sleep { name, .. }
            | Step::Screenshot { name } => name.as_ref(),
        }
    }

    /// The `step` label of the step at `index`.
    pub fn label(&self, index: usize) -> String {
        match self.given_name() {
            Some(name) => name.clone(),
            None => format!("{index}_{}", self.action()),
        }
    }
}

/// The kind of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Http,
    Websocket,
}

/// One HTTP or WebSocket check.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The `check` label; unique among checks.
    pub name: String,
    /// `http` or `websocket`.
    pub kind: CheckKind,
    /// `http(s)://` for http checks, `ws(s)://` for websocket checks.
    pub url: Template,
    /// Time between runs; the first run waits a random part of it.
    #[serde(default = "default_check_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// The longest one run may take.
    #[serde(default = "default_check_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// http: the request method.
    #[serde(default = "default_method")]
    pub method: String,
    /// http and websocket: request headers (values may use `${env:..}` and `${file:..}`).
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// http: the request body.
    pub body: Option<Template>,
    /// http: the status codes that count as success, one or a list (default: any 2xx).
    #[serde(default)]
    pub expect_status: StatusCodes,
    /// http: the response body must match this regular expression.
    pub body_regex: Option<Pattern>,
    /// websocket: text messages sent once connected, in order.
    #[serde(default)]
    pub send: Vec<Template>,
    /// websocket: a received text message must contain this, before the timeout.
    pub expect: Option<String>,
}

fn default_check_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_check_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_method() -> String {
    "GET".to_string()
}

/// Accepted HTTP status codes: one code or a list; empty means any 2xx.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusCodes(pub Vec<u16>);

impl StatusCodes {
    pub fn accepts(&self, code: u16) -> bool {
        if self.0.is_empty() {
            (200..300).contains(&code)
        } else {
            self.0.contains(&code)
        }
    }
}

impl<'de> Deserialize<'de> for StatusCodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StatusCodes, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(u16),
            Many(Vec<u16>),
        }
        match OneOrMany::deserialize(deserializer) {
            Ok(OneOrMany::One(code)) => Ok(StatusCodes(vec![code])),
            Ok(OneOrMany::Many(codes)) => Ok(StatusCodes(codes)),
            Err(_) => Err(serde::de::Error::custom(
                "expected a status code or a list of status codes",
            )),
        }
    }
}

/// A regular expression, compiled when the config is read.
#[derive(Clone)]
pub struct Pattern(pub regex::Regex);

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_str())
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pattern, D::Error> {
        let text = String::deserialize(deserializer)?;
        regex::Regex::new(&text).map(Pattern).map_err(|e| {
            // The syntax error spans several lines with a caret; its last line says it all.
            let text = e.to_string();
            let reason = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            serde::de::Error::custom(format!("invalid regular expression: {reason}"))
        })
    }
}

impl Validate for Config {
    fn validate(&self, problems: &mut Problems) {
        if self.journeys.len() + self.checks.len() > MAX_ITEMS {
            problems.add(
                "journeys",
                format!("at most {MAX_ITEMS} journeys and checks together"),
            );
        }
        let mut names = HashSet::new();
        for (i, journey) in self.journeys.iter().enumerate() {
            let key = format!("journeys[{i}]");
            check_name(&journey.name, &mut names, &format!("{key}.name"), problems);
            journey.validate_at(&key, problems);
        }
        let mut names = HashSet::new();
        for (i, check) in self.checks.iter().enumerate() {
            let key = format!("checks[{i}]");
            check_name(&check.name, &mut names, &format!("{key}.name"), problems);
            check.validate_at(&key, problems);
        }
    }
}

/// Names become label values and artifact directory names: keep them plain.
fn check_name<'a>(name: &'a str, seen: &mut HashSet<&'a str>, key: &str, problems: &mut Problems) {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !plain {
        problems.add(key, "must be 1 to 64 letters, digits, '_', '-' or '.'");
    } else if !seen.insert(name) {
        problems.add(key, format!("duplicate name {name:?}"));
    }
}

fn check_positive(value: Duration, key: String, problems: &mut Problems) {
    if value.is_zero() {
        problems.add(key, "must be greater than zero");
    }
}

impl Journey {
    fn validate_at(&self, key: &str, problems: &mut Problems) {
        check_positive(self.interval, format!("{key}.interval"), problems);
        check_positive(self.timeout, format!("{key}.timeout"), problems);
        check_positive(self.step_timeout, format!("{key}.step_timeout"), problems);
        if self.steps.is_empty() {
            problems.add(format!("{key}.steps"), "a journey needs at least one step");
        }
        if self.steps.len() > MAX_STEPS {
            problems.add(format!("{key}.steps"), format!("at most {MAX_STEPS} steps"));
        }
        if !matches!(self.steps.first(), None | Some(Step::Navigate { .. })) {
            problems.add(format!("{key}.steps[0]"), "the first step must be navigate");
        }
        let (w, h) = (self.viewport.width, self.viewport.height);
        if !(100..=8000).contains(&w) || !(100..=8000).contains(&h) {
            problems.add(
                format!("{key}.viewport"),
                "width and height must be 100 to 8000",
            );
        }
        let mut labels = HashSet::new();
        for (i, step) in self.steps.iter().enumerate() {
            let step_key = format!("{key}.steps[{i}]");
            let label = step.label(i);
            if !labels.insert(label.clone()) {
                problems.add(
                    format!("{step_key}.name"),
                    format!("duplicate step {label:?}"),
                );
            }
            match step {
                Step::Navigate { url, .. } => check_url(
                    url,
                    &["http://", "https://"],
                    &format!("{step_key}.url"),
                    problems,
                ),
                Step::Press { key, .. } if crate::keys::lookup(key).is_none() => problems.add(
                    format!("{step_key}.key"),
                    format!("unknown key {key:?}: {}", crate::keys::KNOWN),
                ),
                _ => {}
            }
        }
    }
}

impl Check {
    fn validate_at(&self, key: &str, problems: &mut Problems) {
        check_positive(self.interval, format!("{key}.interval"), problems);
        check_positive(self.timeout, format!("{key}.timeout"), problems);
        match self.kind {
            CheckKind::Http => {
                check_url(
                    &self.url,
                    &["http://", "https://"],
                    &format!("{key}.url"),
                    problems,
                );
                if reqwest::Method::from_bytes(self.method.as_bytes()).is_err() {
                    problems.add(format!("{key}.method"), "not an HTTP method");
                }
                for code in &self.expect_status.0 {
                    if !(100..=599).contains(code) {
                        problems.add(format!("{key}.expect_status"), "codes are 100 to 599");
                    }
                }
                self.reject_for_kind(key, &["send", "expect"], problems);
            }
            CheckKind::Websocket => {
                check_url(
                    &self.url,
                    &["ws://", "wss://"],
                    &format!("{key}.url"),
                    problems,
                );
                self.reject_for_kind(
                    key,
                    &["method", "body", "expect_status", "body_regex"],
                    problems,
                );
            }
        }
    }

    /// Keys that only make sense for the other kind are errors, not silently ignored.
    fn reject_for_kind(&self, key: &str, fields: &[&str], problems: &mut Problems) {
        for field in fields {
            let set = match *field {
                "send" => !self.send.is_empty(),
                "expect" => self.expect.is_some(),
                "method" => self.method != "GET",
                "body" => self.body.is_some(),
                "expect_status" => !self.expect_status.0.is_empty(),
                "body_regex" => self.body_regex.is_some(),
                _ => false,
            };
            if set {
                let kind = if self.kind == CheckKind::Http {
                    "http"
                } else {
                    "websocket"
                };
                problems.add(
                    format!("{key}.{field}"),
                    format!("not used by {kind} checks"),
                );
            }
        }
    }
}

/// A URL's scheme can be checked even when the rest comes from `${env:..}` at run time.
fn check_url(url: &Template, schemes: &[&str], key: &str, problems: &mut Problems) {
    let raw = url.raw();
    if raw.starts_with("${") {
        return;
    }
    if !schemes.iter().any(|s| raw.starts_with(s)) {
        problems.add(key, format!("must start with {}", schemes.join(" or ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_without_a_name_is_labelled_by_index_and_action() {
        let step: Step = serde_yaml::from_str("{action: click, selector: '#go'}").unwrap();
        assert_eq!(step.label(3), "3_click");
        let step: Step = serde_yaml::from_str("{action: press, key: Enter, name: send}").unwrap();
        assert_eq!(step.label(3), "send");
    }

    #[test]
    fn expected_status_is_one_code_a_list_or_any_2xx() {
        let codes: StatusCodes = serde_yaml::from_str("204").unwrap();
        assert!(codes.accepts(204) && !codes.accepts(200));
        let codes: StatusCodes = serde_yaml::from_str("[200, 301]").unwrap();
        assert!(codes.accepts(301) && !codes.accepts(404));
        assert!(StatusCodes::default().accepts(299) && !StatusCodes::default().accepts(300));
    }
}
