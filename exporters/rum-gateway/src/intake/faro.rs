//! `POST /collect`: the Grafana Faro web SDK's JSON payload, parsed leniently (every field
//! optional, unknown fields ignored, numbers that arrive as strings accepted).

use serde_json::Value;

use super::{
    find, frustration, json, load_seconds, number, text, vital_item, Item, ParseError, Parsed, What,
};
use crate::vitals::Vital;

/// Faro's event for a page's navigation timing; one per page load.
const NAVIGATION_EVENT: &str = "faro.performance.navigation";

/// Parses a Faro body of at most `max_items` measurements, events, exceptions and logs.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed, ParseError> {
    let root = json(body)?;
    if !root.is_object() {
        return Err(ParseError::Shape("expected a JSON object"));
    }
    let total: usize = ["measurements", "events", "exceptions", "logs"]
        .iter()
        .filter_map(|key| root.get(key).and_then(Value::as_array).map(Vec::len))
        .sum();
    if total > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    if root.pointer("/meta/k6/isK6Browser") == Some(&Value::Bool(true)) {
        return Err(ParseError::Synthetic);
    }
    let app = text(find(&root, &[&["meta", "app", "name"]])).ok_or(ParseError::MissingApp)?;
    let url = text(find(&root, &[&["meta", "page", "url"]])).unwrap_or("/");

    let mut parsed = Parsed::default();
    for m in list(&root, "measurements") {
        measurement(m, app, url, &mut parsed);
    }
    for e in list(&root, "events") {
        event(e, app, url, &mut parsed);
    }
    for _ in list(&root, "exceptions") {
        parsed.items.push(Item {
            app: app.to_string(),
            url: url.to_string(),
            what: What::Error("exception"),
            id: None,
        });
    }
    Ok(parsed)
}

fn list<'a>(root: &'a Value, key: &str) -> &'a [Value] {
    root.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A `web-vitals` measurement: `values` holds the vital under its lowercase name, and
/// `context.id` the web-vitals id. Old SDKs send several vitals and no context.
fn measurement(m: &Value, app: &str, url: &str, parsed: &mut Parsed) {
    if text(m.get("type")) != Some("web-vitals") {
        return;
    }
    let Some(values) = m.get("values").and_then(Value::as_object) else {
        parsed.refused.push("missing_value");
        return;
    };
    let id = text(find(m, &[&["context", "id"]]));
    for (key, raw) in values {
        if let Some(vital) = Vital::from_name(key) {
            let id = id.map(|id| format!("{key}:{id}"));
            parsed.push(vital_item(vital, number(Some(raw)), app, url, id));
        }
    }
}

fn event(e: &Value, app: &str, url: &str, parsed: &mut Parsed) {
    let Some(name) = text(e.get("name")) else {
        return;
    };
    let what = if name == NAVIGATION_EVENT {
        let load = number(find(e, &[&["attributes", "pageLoadTime"]]));
        match load_seconds(load) {
            Ok(load) => What::PageView(load),
            Err(reason) => return parsed.refused.push(reason),
        }
    } else if let Some(signal) = frustration(name) {
        What::Frustration(signal)
    } else {
        return;
    };
    let id = text(find(e, &[&["attributes", "faroNavigationId"]])).map(|id| format!("nav:{id}"));
    parsed.items.push(Item {
        app: app.to_string(),
        url: url.to_string(),
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
        assert_eq!(parsed.items[0].id.as_deref(), Some("lcp:v5-1"));
        assert!(parsed.refused.is_empty());
    }

    #[test]
    fn a_body_without_an_app_or_from_k6_is_refused() {
        assert_eq!(parse(b"{}", 10).unwrap_err(), ParseError::MissingApp);
        let k6 = br#"{"meta":{"app":{"name":"a"},"k6":{"isK6Browser":true}}}"#;
        assert_eq!(parse(k6, 10).unwrap_err(), ParseError::Synthetic);
    }
}
