//! `POST /intake/v2/rum/events` and `/intake/v3/rum/events`: the Elastic APM RUM agent's
//! NDJSON, metadata line first. v3 abbreviates keys; both spellings are read.

use serde_json::Value;

use super::{
    find, load_seconds, number, owned, text, vital_item, Item, ParseError, Parsed, ReportId, What,
};
use crate::vitals::Vital;

/// Parses an NDJSON body of at most `max_items` lines.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed<'_>, ParseError> {
    let body = std::str::from_utf8(body).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    if body.lines().filter(|l| !l.trim().is_empty()).count() > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    let first = lines.next().ok_or(ParseError::Shape("empty body"))?;
    let metadata: Value = serde_json::from_str(first).map_err(|_| ParseError::InvalidJson)?;
    let app = text(find(
        &metadata,
        &[&["metadata", "service", "name"], &["m", "se", "n"]],
    ))
    .ok_or(ParseError::MissingApp)?;

    let mut parsed = Parsed::default();
    for line in lines {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            parsed.refused.push("invalid_line");
            continue;
        };
        if let Some(tx) = event.get("transaction").or_else(|| event.get("x")) {
            transaction(tx, app, &mut parsed);
        } else if let Some(error) = event.get("error").or_else(|| event.get("e")) {
            let url = text(find(
                error,
                &[&["context", "page", "url"], &["c", "p", "url"]],
            ));
            parsed.items.push(Item {
                app: owned(app),
                url: owned(url.unwrap_or("/")),
                what: What::Error("exception"),
                id: text(error.get("id")).map(|id| ReportId::new("error", id.to_string())),
            });
        }
    }
    Ok(parsed)
}

fn transaction(tx: &Value, app: &str, parsed: &mut Parsed<'_>) {
    let kind = text(tx.get("type").or_else(|| tx.get("t"))).unwrap_or("");
    let url = text(find(tx, &[&["context", "page", "url"], &["c", "p", "url"]])).unwrap_or("/");
    let tx_id = text(tx.get("id")).unwrap_or("");
    let id =
        |what: &'static str| (!tx_id.is_empty()).then(|| ReportId::new(what, tx_id.to_string()));
    match kind {
        "page-load" | "p-load" => {
            let marks = [
                (Vital::Ttfb, "timeToFirstByte", "fb"),
                (Vital::Fcp, "firstContentfulPaint", "fp"),
                (Vital::Lcp, "largestContentfulPaint", "lp"),
            ];
            for (vital, long, short) in marks {
                let raw = number(find(tx, &[&["marks", "agent", long], &["k", "a", short]]));
                if raw.is_some() {
                    parsed.push(vital_item(
                        vital,
                        raw,
                        owned(app),
                        owned(url),
                        id(vital.label()),
                    ));
                }
            }
            let cls = number(find(tx, &[&["experience", "cls"], &["exp", "cls"]]));
            if cls.is_some() {
                parsed.push(vital_item(
                    Vital::Cls,
                    cls,
                    owned(app),
                    owned(url),
                    id("CLS"),
                ));
            }
            let duration = number(tx.get("duration").or_else(|| tx.get("d")));
            match load_seconds(duration) {
                Ok(load) => parsed.items.push(Item {
                    app: owned(app),
                    url: owned(url),
                    what: What::PageView(load),
                    id: id("view"),
                }),
                Err(reason) => parsed.refused.push(reason),
            }
        }
        "page-exit" | "p-exit" => {
            let inp = number(find(
                tx,
                &[
                    &["context", "tags", "inp_value"],
                    &["labels", "inp_value"],
                    &["c", "g", "inp_value"],
                    &["g", "inp_value"],
                ],
            ));
            if inp.is_some() {
                parsed.push(vital_item(
                    Vital::Inp,
                    inp,
                    owned(app),
                    owned(url),
                    id("INP"),
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v2_page_load_gives_its_marks_cls_and_a_page_view() {
        let body = concat!(
            r#"{"metadata":{"service":{"name":"shop","agent":{"name":"rum-js","version":"5"}}}}"#,
            "\n",
            r#"{"transaction":{"id":"t1","type":"page-load","duration":1800.5,"marks":{"agent":{"timeToFirstByte":120,"firstContentfulPaint":900,"largestContentfulPaint":1500}},"experience":{"cls":0.03},"context":{"page":{"url":"https://s/a/1"}}}}"#,
            "\n",
            r#"{"error":{"id":"e1","exception":{"message":"x"}}}"#,
            "\n",
            "not json\n",
        );
        let parsed = parse(body.as_bytes(), 100).unwrap();
        let whats: Vec<&What> = parsed.items.iter().map(|i| &i.what).collect();
        assert_eq!(
            whats,
            vec![
                &What::Vital(Vital::Ttfb, 0.12),
                &What::Vital(Vital::Fcp, 0.9),
                &What::Vital(Vital::Lcp, 1.5),
                &What::Vital(Vital::Cls, 0.03),
                &What::PageView(Some(1.8005)),
                &What::Error("exception"),
            ]
        );
        assert_eq!(parsed.refused, vec!["invalid_line"]);
    }

    #[test]
    fn a_v3_page_load_and_page_exit_use_the_short_keys() {
        let body = concat!(
            r#"{"m":{"se":{"n":"shop","a":{"n":"rum-js"}}}}"#,
            "\n",
            r#"{"x":{"id":"t2","t":"p-load","d":900,"k":{"a":{"fb":50,"lp":700}},"exp":{"cls":0}}}"#,
            "\n",
            r#"{"x":{"id":"t3","t":"page-exit","c":{"g":{"inp_value":180}}}}"#,
            "\n",
        );
        let parsed = parse(body.as_bytes(), 100).unwrap();
        assert_eq!(parsed.items.len(), 5);
        assert_eq!(parsed.items[4].what, What::Vital(Vital::Inp, 0.18));
    }

    #[test]
    fn a_body_without_metadata_is_refused() {
        assert_eq!(parse(b"", 10).unwrap_err(), ParseError::Shape("empty body"));
        assert_eq!(
            parse(b"{\"x\":{}}\n", 10).unwrap_err(),
            ParseError::MissingApp
        );
    }
}
