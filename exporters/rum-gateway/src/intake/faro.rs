//! `POST /collect`: the Grafana Faro web SDK's JSON payload, parsed leniently (every field
//! optional, unknown fields ignored, numbers that arrive as strings accepted).

use std::borrow::Cow;

use serde::Deserialize;

use super::lenient::{Count, Entries, Flag, List, Num, Obj, Text};
use super::{frustration, load_seconds, vital_item, Item, ParseError, Parsed, ReportId, What};
use crate::vitals::Vital;

/// Faro's event for a page's navigation timing; one per page load.
const NAVIGATION_EVENT: &str = "faro.performance.navigation";

/// The parts of a Faro payload the gateway reads; everything else is skipped unread.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Payload<'a> {
    #[serde(borrow)]
    meta: Obj<Meta<'a>>,
    #[serde(borrow)]
    measurements: List<Obj<Measurement<'a>>>,
    #[serde(borrow)]
    events: List<Obj<Event<'a>>>,
    exceptions: Count,
    logs: Count,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Meta<'a> {
    #[serde(borrow)]
    app: Obj<Named<'a>>,
    #[serde(borrow)]
    page: Obj<Page<'a>>,
    k6: Obj<K6>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Page<'a> {
    #[serde(borrow)]
    url: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct K6 {
    #[serde(rename = "isK6Browser")]
    is_k6_browser: Flag,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Measurement<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    values: Obj<Entries<'a, Num>>,
    #[serde(borrow)]
    context: Obj<Context<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Context<'a> {
    #[serde(borrow)]
    id: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Event<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    attributes: Obj<Attributes<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Attributes<'a> {
    #[serde(rename = "pageLoadTime")]
    page_load_time: Num,
    #[serde(rename = "faroNavigationId", borrow)]
    faro_navigation_id: Text<'a>,
}

/// The app and page every item of a payload belongs to, borrowed from the body when it can be.
struct PageOf<'a> {
    app: Cow<'a, str>,
    url: Cow<'a, str>,
}

/// Parses a Faro body of at most `max_items` measurements, events, exceptions and logs.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed<'_>, ParseError> {
    // Checked as a whole first, the text's strings need no UTF-8 check one by one.
    let text = std::str::from_utf8(body).map_err(|_| ParseError::InvalidJson)?;
    let Obj(root) =
        serde_json::from_str::<Obj<Payload>>(text).map_err(|_| ParseError::InvalidJson)?;
    let root = root.ok_or(ParseError::Shape("expected a JSON object"))?;
    let total = root.measurements.0.len() + root.events.0.len() + root.exceptions.0 + root.logs.0;
    if total > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    let meta = root.meta.0.unwrap_or_default();
    if meta.k6.0.is_some_and(|k6| k6.is_k6_browser.0) {
        return Err(ParseError::Synthetic);
    }
    let app = meta
        .app
        .0
        .and_then(|a| a.name.0)
        .ok_or(ParseError::MissingApp)?;
    let url = meta
        .page
        .0
        .and_then(|p| p.url.0)
        .unwrap_or(Cow::Borrowed("/"));

    let page = PageOf { app, url };
    let mut parsed = Parsed::default();
    for m in root.measurements.0.into_iter().flat_map(|m| m.0) {
        measurement(m, &page, &mut parsed);
    }
    for e in root.events.0.into_iter().flat_map(|e| e.0) {
        event(e, &page, &mut parsed);
    }
    for _ in 0..root.exceptions.0 {
        parsed.items.push(Item {
            app: page.app.clone(),
            url: page.url.clone(),
            what: What::Error("exception"),
            id: None,
        });
    }
    Ok(parsed)
}

/// A `web-vitals` measurement: `values` holds the vital under its lowercase name, and
/// `context.id` the web-vitals id. Old SDKs send several vitals and no context.
fn measurement<'a>(m: Measurement<'a>, page: &PageOf<'a>, parsed: &mut Parsed<'a>) {
    if m.kind.get() != Some("web-vitals") {
        return;
    }
    let Some(values) = m.values.0 else {
        parsed.refused.push("missing_value");
        return;
    };
    let id = m.context.0.and_then(|c| c.id.0);
    for (key, raw) in values.0 {
        if let Some(vital) = Vital::from_name(&key) {
            let id = id.as_ref().map(|id| ReportId::new(key.clone(), id.clone()));
            let (app, url) = (page.app.clone(), page.url.clone());
            parsed.push(vital_item(vital, raw.0, app, url, id));
        }
    }
}

fn event<'a>(e: Event<'a>, page: &PageOf<'a>, parsed: &mut Parsed<'a>) {
    let Some(name) = e.name.get() else {
        return;
    };
    let attributes = e.attributes.0.unwrap_or_default();
    let what = if name == NAVIGATION_EVENT {
        match load_seconds(attributes.page_load_time.0) {
            Ok(load) => What::PageView(load),
            Err(reason) => return parsed.refused.push(reason),
        }
    } else if let Some(signal) = frustration(name) {
        What::Frustration(signal)
    } else {
        return;
    };
    let id = attributes
        .faro_navigation_id
        .0
        .map(|id| ReportId::new("nav", id));
    parsed.items.push(Item {
        app: page.app.clone(),
        url: page.url.clone(),
        what,
        id,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = r#"{
      "meta": {"app": {"name": "shop", "version": "1.0"}, "page": {"url": "https://shop.example/product/42?x=1"},
               "browser": {"brands": "unknown", "viewportWidth": "1280"}, "session": {"id": "abc"}},
      "measurements": [
        {"type": "web-vitals", "values": {"lcp": 2100.5, "delta": 2100.5}, "context": {"id": "v5-1", "rating": "poor"}},
        {"type": "web-vitals", "values": {"cls": "0.02"}, "context": {"id": "v5-2"}},
        {"type": "custom", "values": {"lcp": 1}}
      ],
      "events": [{"name": "faro.performance.navigation", "attributes": {"pageLoadTime": "1500", "faroNavigationId": "n1"}},
                 {"name": "rage_click"}, {"name": "session_start"}],
      "exceptions": [{"type": "Error", "value": "boom"}],
      "logs": [{"message": "hi"}],
      "unknown_top_level": true
    }"#;

    #[test]
    fn vitals_navigation_frustration_and_exceptions_become_items() {
        let parsed = parse(PAYLOAD.as_bytes(), 100).unwrap();
        let whats: Vec<&What> = parsed.items.iter().map(|i| &i.what).collect();
        assert_eq!(
            whats,
            vec![
                &What::Vital(Vital::Lcp, 2.1005),
                &What::Vital(Vital::Cls, 0.02),
                &What::PageView(Some(1.5)),
                &What::Frustration("rage_click"),
                &What::Error("exception"),
            ]
        );
        let id = parsed.items[0].id.as_ref().map(ToString::to_string);
        assert_eq!(id.as_deref(), Some("lcp:v5-1"));
        assert!(parsed.refused.is_empty());
    }

    #[test]
    fn a_body_without_an_app_or_from_k6_is_refused() {
        assert_eq!(parse(b"{}", 10).unwrap_err(), ParseError::MissingApp);
        let k6 = br#"{"meta":{"app":{"name":"a"},"k6":{"isK6Browser":true}}}"#;
        assert_eq!(parse(k6, 10).unwrap_err(), ParseError::Synthetic);
    }
}
