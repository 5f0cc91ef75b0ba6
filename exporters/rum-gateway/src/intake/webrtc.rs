//! `POST /webrtc`: periodic call summaries a page builds from `RTCPeerConnection.getStats()`:
//! `{app, url, codec, id, stats}` with `stats` the report's objects (array, or an object of
//! them keyed by id), all times in seconds as the browser reports them.

use serde_json::Value;

use super::{json, number, owned, text, Item, ParseError, Parsed, ReportId, What};
use crate::emodel::{self, CallStats};

/// Longest RTT or jitter believed, in seconds.
const MAX_DELAY: f64 = 60.0;

/// Parses one summary or an array of them, at most `max_items` stats objects in all.
pub fn parse(body: &[u8], max_items: usize) -> Result<Parsed<'_>, ParseError> {
    let summaries = match json(body)? {
        Value::Array(list) => list,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ParseError::Shape("expected a JSON object or array")),
    };
    let total: usize = summaries.iter().map(|s| stats_of(s).len().max(1)).sum();
    if total > max_items {
        return Err(ParseError::TooManyItems(max_items));
    }
    let mut parsed = Parsed::default();
    for summary in &summaries {
        parsed.push(item(summary));
    }
    Ok(parsed)
}

fn stats_of(summary: &Value) -> Vec<&Value> {
    match summary.get("stats") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(Value::Object(map)) => map.values().collect(),
        _ => Vec::new(),
    }
}

fn item(summary: &Value) -> Result<Item<'static>, &'static str> {
    if !summary.is_object() {
        return Err("item_not_object");
    }
    let app = text(summary.get("app")).ok_or("missing_app")?;
    let url = text(summary.get("url")).unwrap_or("/");
    let codec = emodel::codec(text(summary.get("codec")).unwrap_or("opus"));
    let stats = call_stats(&stats_of(summary)).ok_or("incomplete_stats")?;
    let believable = (0.0..=MAX_DELAY).contains(&stats.rtt)
        && (0.0..=MAX_DELAY).contains(&stats.jitter)
        && (0.0..=1.0).contains(&stats.loss)
        && stats
            .jitter_buffer
            .is_none_or(|b| (0.0..=MAX_DELAY).contains(&b));
    if !believable {
        return Err("value_out_of_range");
    }
    Ok(Item {
        app: owned(app),
        url: owned(url),
        what: What::Call(stats, codec),
        id: text(summary.get("id")).map(|id| ReportId::new("call", id.to_string())),
    })
}

fn of_type<'a>(stats: &'a [&'a Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    stats
        .iter()
        .copied()
        .filter(move |s| text(s.get("type")) == Some(kind))
}

fn max_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
}

/// RTT from the remote report (else the selected candidate pair), jitter and loss from the
/// receive side (else the remote report), worst stream wins.
fn call_stats(stats: &[&Value]) -> Option<CallStats> {
    let remote = || of_type(stats, "remote-inbound-rtp");
    let inbound = || of_type(stats, "inbound-rtp");
    let rtt = max_of(remote().filter_map(|s| number(s.get("roundTripTime")))).or_else(|| {
        let pairs = of_type(stats, "candidate-pair").filter(|s| {
            s.get("nominated") == Some(&Value::Bool(true))
                && text(s.get("state")) == Some("succeeded")
        });
        max_of(pairs.filter_map(|s| number(s.get("currentRoundTripTime"))))
    })?;
    let jitter = max_of(inbound().filter_map(|s| number(s.get("jitter"))))
        .or_else(|| max_of(remote().filter_map(|s| number(s.get("jitter")))))?;
    let loss = max_of(inbound().filter_map(|s| {
        let lost = number(s.get("packetsLost"))?.max(0.0);
        let received = number(s.get("packetsReceived"))?;
        (lost + received > 0.0).then(|| lost / (lost + received))
    }))
    .or_else(|| max_of(remote().filter_map(|s| number(s.get("fractionLost")))))?;
    let jitter_buffer = max_of(inbound().filter_map(|s| {
        let delay = number(s.get("jitterBufferDelay"))?;
        let emitted = number(s.get("jitterBufferEmittedCount"))?;
        (emitted > 0.0).then(|| delay / emitted)
    }));
    Some(CallStats {
        rtt,
        jitter,
        loss,
        jitter_buffer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_takes_rtt_jitter_and_loss_from_the_stats_types() {
        let body = br#"{"app":"meet","codec":"opus","id":"s1","stats":[
            {"type":"inbound-rtp","kind":"audio","packetsReceived":990,"packetsLost":10,"jitter":0.012,
             "jitterBufferDelay":40.0,"jitterBufferEmittedCount":1000},
            {"type":"remote-inbound-rtp","roundTripTime":0.08,"fractionLost":0.0},
            {"type":"candidate-pair","state":"succeeded","nominated":true,"currentRoundTripTime":0.5}]}"#;
        let parsed = parse(body, 100).unwrap();
        let What::Call(stats, _) = &parsed.items[0].what else {
            panic!()
        };
        assert_eq!(stats.rtt, 0.08);
        assert_eq!(stats.jitter, 0.012);
        assert!((stats.loss - 0.01).abs() < 1e-9);
        assert_eq!(stats.jitter_buffer, Some(0.04));
    }

    #[test]
    fn summaries_without_rtt_or_with_absurd_values_are_refused() {
        let missing = br#"{"app":"meet","stats":[{"type":"inbound-rtp","jitter":0.01}]}"#;
        assert_eq!(
            parse(missing, 10).unwrap().refused,
            vec!["incomplete_stats"]
        );
        let absurd = br#"{"app":"meet","stats":{"a":{"type":"remote-inbound-rtp","roundTripTime":-1,"jitter":0,"fractionLost":0}}}"#;
        assert_eq!(
            parse(absurd, 10).unwrap().refused,
            vec!["value_out_of_range"]
        );
    }
}
