//! `POST /beacon`: web-vitals Metric objects (one or an array) with `app` and `url` added,
//! and the project's snippet's `page_view`, `error` and click-signal items, sent as
//! `text/plain` or `application/json`.

use serde_json::Value;

use super::{
    frustration, json, load_seconds, number, text, vital_item, Item, ParseError, Parsed, What,
};
use crate::vitals::Vital;

/// Parses a beacon body of at most `max_items` items.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed, ParseError> {
    let value = json(body)?;
    let list = match value {
        Value::Array(list) => list,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ParseError::Shape("expected a JSON object or array")),
    };
    if list.len() > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    let mut parsed = Parsed::default();
    for entry in &list {
        parsed.push(item(entry));
    }
    Ok(parsed)
}

fn item(entry: &Value) -> Result<Item, &'static str> {
    if !entry.is_object() {
        return Err("item_not_object");
    }
    let app = text(entry.get("app")).ok_or("missing_app")?;
    // web-vitals 6 names the page a soft navigation belongs to in `navigationURL`.
    let url = text(entry.get("navigationURL"))
        .or_else(|| text(entry.get("url")))
        .unwrap_or("/");
    let name = text(entry.get("name")).ok_or("missing_name")?;
    let value = number(entry.get("value"));
    if let Some(vital) = Vital::from_name(name) {
        let id = text(entry.get("id")).map(|id| format!("{name}:{id}"));
        return vital_item(vital, value, app, url, id);
    }
    let what = match name {
        "page_view" => What::PageView(load_seconds(value)?),
        "error" => What::Error("error"),
        other => What::Frustration(frustration(other).ok_or("unknown_metric")?),
    };
    Ok(Item {
        app: app.to_string(),
        url: url.to_string(),
        what,
        id: text(entry.get("id")).map(|id| format!("{name}:{id}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_metric_or_an_array_is_accepted() {
        let one =
            br#"{"name":"LCP","value":1234.5,"id":"v6-1","app":"shop","url":"https://s/x?q=1"}"#;
        let parsed = parse(one, 10).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.items[0].what, What::Vital(Vital::Lcp, 1.2345));
        let many = br#"[{"name":"CLS","value":0.05,"id":"a","app":"s"},{"name":"TTFB","value":80,"id":"b","app":"s"}]"#;
        assert_eq!(parse(many, 10).unwrap().items.len(), 2);
    }

    #[test]
    fn bad_items_are_refused_one_by_one_with_a_reason() {
        let body = br#"[{"name":"LCP","value":-1,"app":"s"},{"name":"LCP","value":1,"app":"s"},{"name":"XYZ","app":"s"},{"name":"LCP","value":"nan","app":"s"},3]"#;
        let parsed = parse(body, 10).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(
            parsed.refused,
            vec![
                "value_out_of_range",
                "unknown_metric",
                "value_out_of_range",
                "item_not_object"
            ]
        );
    }

    #[test]
    fn bodies_that_are_not_objects_or_arrays_are_refused() {
        assert_eq!(parse(b"nope", 10).unwrap_err(), ParseError::InvalidJson);
        assert!(matches!(parse(b"42", 10), Err(ParseError::Shape(_))));
        assert_eq!(
            parse(b"[{},{}]", 1).unwrap_err(),
            ParseError::TooManyItems(1)
        );
    }
}
