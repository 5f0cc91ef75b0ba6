//! The intakes: each parser turns one request body into [`Item`]s, the gateway's single
//! internal model, so metrics are recorded in one place whatever the SDK.

pub mod beacon;
pub mod elastic;
pub mod faro;
pub mod lenient;
pub mod webrtc;

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use crate::emodel::{CallStats, Codec};
use crate::vitals::Vital;

/// What one item reports.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// A web vital in base units (seconds; CLS unitless), already checked.
    Vital(Vital, f64),
    /// A page view, with its load time in seconds when known.
    PageView(Option<f64>),
    /// An error of a kind (`exception`, `error`).
    Error(&'static str),
    /// `rage_click`, `dead_click` or `error_click`.
    Frustration(&'static str),
    /// One WebRTC call summary.
    Call(CallStats, Codec),
}

/// One observation-to-be, with what its labels are made of; app and url borrowed from the
/// request body when the parser could.
#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    pub app: Cow<'a, str>,
    pub url: Cow<'a, str>,
    pub what: What,
    /// The reporter's id of this report (web-vitals `id`, Elastic transaction id): a later
    /// report with the same id replaces this one instead of adding to it.
    pub id: Option<ReportId<'a>>,
}

/// A reporter's id, qualified by what the report is about (`lcp`, `nav`, `call`...), since
/// one page-load id covers several reports. Kept in parts so no string is built per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportId<'a> {
    pub kind: Cow<'a, str>,
    pub id: Cow<'a, str>,
}

impl<'a> ReportId<'a> {
    pub fn new(kind: impl Into<Cow<'a, str>>, id: impl Into<Cow<'a, str>>) -> ReportId<'a> {
        ReportId {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

impl fmt::Display for ReportId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// What a parser made of a body: the items, and the reasons for items it refused.
#[derive(Debug, Default)]
pub struct Parsed<'a> {
    pub items: Vec<Item<'a>>,
    pub refused: Vec<&'static str>,
}

/// Why a whole body is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON")]
    InvalidJson,
    #[error("body is not UTF-8 text")]
    NotUtf8,
    #[error("body has the wrong shape: {0}")]
    Shape(&'static str),
    #[error("body has no app name")]
    MissingApp,
    #[error("body holds more than {0} items")]
    TooManyItems(usize),
    #[error("body comes from a synthetic test browser")]
    Synthetic,
}

impl ParseError {
    /// The `reason` label of `rum_beacons_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::InvalidJson => "invalid_json",
            ParseError::NotUtf8 => "not_utf8",
            ParseError::Shape(_) => "invalid_shape",
            ParseError::MissingApp => "missing_app",
            ParseError::TooManyItems(_) => "too_many_items",
            ParseError::Synthetic => "bot",
        }
    }
}

/// A number, or a string holding one (SDKs send both).
pub fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A label source copied out of a parsed `Value`, which does not outlive its parser.
pub fn owned(text: &str) -> Cow<'static, str> {
    Cow::Owned(text.to_string())
}

/// A string field, if it is one.
pub fn text(value: Option<&Value>) -> Option<&str> {
    value?.as_str()
}

/// The first of `paths` (each a list of keys) that leads to a value in `root`.
pub fn find<'a>(root: &'a Value, paths: &[&[&str]]) -> Option<&'a Value> {
    paths.iter().find_map(|path| {
        path.iter()
            .try_fold(root, |node, key| node.get(key))
            .filter(|v| !v.is_null())
    })
}

/// Parses a JSON body, mapping serde's error to the reason clients see.
pub fn json(body: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(body).map_err(|_| ParseError::InvalidJson)
}

/// A vital item from a raw browser value (ms, or unitless CLS), or the refusal reason.
pub fn vital_item<'a>(
    vital: Vital,
    raw: Option<f64>,
    app: Cow<'a, str>,
    url: Cow<'a, str>,
    id: Option<ReportId<'a>>,
) -> Result<Item<'a>, &'static str> {
    let raw = raw.ok_or("missing_value")?;
    let value = vital
        .check(vital.to_base_unit(raw))
        .ok_or("value_out_of_range")?;
    Ok(Item {
        app,
        url,
        what: What::Vital(vital, value),
        id,
    })
}

/// A page load time from milliseconds, or the refusal reason.
pub fn load_seconds(raw_ms: Option<f64>) -> Result<Option<f64>, &'static str> {
    match raw_ms {
        None => Ok(None),
        Some(ms) => {
            let s = ms / 1000.0;
            if s.is_finite() && (0.0..=crate::vitals::MAX_SECONDS).contains(&s) {
                Ok(Some(s))
            } else {
                Err("value_out_of_range")
            }
        }
    }
}

/// `rage_click`, `dead_click`, `error_click` as static labels.
pub fn frustration(name: &str) -> Option<&'static str> {
    match name {
        "rage_click" => Some("rage_click"),
        "dead_click" => Some("dead_click"),
        "error_click" => Some("error_click"),
        _ => None,
    }
}

impl<'a> Parsed<'a> {
    fn push(&mut self, result: Result<Item<'a>, &'static str>) {
        match result {
            Ok(item) => self.items.push(item),
            Err(reason) => self.refused.push(reason),
        }
    }
}
