//! `POST /beacon`: web-vitals Metric objects (one or an array) with `app` and `url` added,
//! and the project's snippet's `page_view`, `error` and click-signal items, sent as
//! `text/plain` or `application/json`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::lenient::{Num, Obj, Text};
use super::{frustration, load_seconds, vital_item, Item, ParseError, Parsed, ReportId, What};
use crate::vitals::Vital;

/// The fields of one Metric object the gateway reads.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Entry<'a> {
    #[serde(borrow)]
    app: Text<'a>,
    #[serde(borrow)]
    url: Text<'a>,
    #[serde(rename = "navigationURL", borrow)]
    navigation_url: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    value: Num,
    #[serde(borrow)]
    id: Text<'a>,
}

/// The body: one entry or an array of them (`None` for a non-object element), at most
/// `max` kept and the rest only counted.
struct Body<'a> {
    entries: Vec<Option<Entry<'a>>>,
    total: usize,
}

/// Parses a beacon body of at most `max_items` items.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed<'_>, ParseError> {
    // Checked as a whole first, the text's strings need no UTF-8 check one by one.
    let text = std::str::from_utf8(body).map_err(|_| ParseError::InvalidJson)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let body = deserializer
        .deserialize_any(BodyVisitor {
            max: max_items,
            marker: PhantomData,
        })
        .and_then(|body| deserializer.end().map(|()| body))
        .map_err(|_| ParseError::InvalidJson)?
        .ok_or(ParseError::Shape("expected a JSON object or array"))?;
    if body.total > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    let mut parsed = Parsed::default();
    for entry in body.entries {
        parsed.push(item(entry));
    }
    Ok(parsed)
}

struct BodyVisitor<'a> {
    max: usize,
    marker: PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> Visitor<'de> for BodyVisitor<'a> {
    type Value = Option<Body<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let entry = Entry::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(Body {
            entries: vec![Some(entry)],
            total: 1,
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        let mut total = 0;
        while total < self.max {
            match seq.next_element::<Obj<Entry<'a>>>()? {
                Some(Obj(entry)) => entries.push(entry),
                None => return Ok(Some(Body { entries, total })),
            }
            total += 1;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            total += 1;
        }
        Ok(Some(Body { entries, total }))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn item(entry: Option<Entry<'_>>) -> Result<Item<'_>, &'static str> {
    let entry = entry.ok_or("item_not_object")?;
    let app = entry.app.0.ok_or("missing_app")?;
    // web-vitals 6 names the page a soft navigation belongs to in `navigationURL`.
    let url = entry
        .navigation_url
        .0
        .or(entry.url.0)
        .unwrap_or(Cow::Borrowed("/"));
    let name = entry.name.0.ok_or("missing_name")?;
    let value = entry.value.0;
    let id = entry.id.0.map(|id| ReportId::new(name.clone(), id));
    if let Some(vital) = Vital::from_name(&name) {
        return vital_item(vital, value, app, url, id);
    }
    let what = match &*name {
        "page_view" => What::PageView(load_seconds(value)?),
        "error" => What::Error("error"),
        other => What::Frustration(frustration(other).ok_or("unknown_metric")?),
    };
    Ok(Item { app, url, what, id })
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
