//! Property tests: arbitrary bytes and arbitrary JSON thrown at every parser never panic,
//! and through the real binary never get a 5xx.

mod common;

use proptest::prelude::*;
use rum_gateway::intake::{beacon, elastic, faro, webrtc};
use serde_json::Value;

type Parser =
    fn(&[u8], usize) -> Result<rum_gateway::intake::Parsed, rum_gateway::intake::ParseError>;
const PARSERS: [Parser; 4] = [beacon::parse, faro::parse, elastic::parse, webrtc::parse];

/// Keys the parsers look for, so generated JSON reaches deep code paths.
const KEYS: &[&str] = &[
    "app",
    "url",
    "name",
    "value",
    "id",
    "meta",
    "page",
    "measurements",
    "events",
    "exceptions",
    "type",
    "values",
    "context",
    "lcp",
    "cls",
    "attributes",
    "pageLoadTime",
    "metadata",
    "service",
    "transaction",
    "marks",
    "agent",
    "largestContentfulPaint",
    "experience",
    "duration",
    "stats",
    "roundTripTime",
    "jitter",
    "packetsLost",
    "packetsReceived",
    "fractionLost",
    "m",
    "se",
    "n",
    "x",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        prop_oneof![
            Just("LCP".to_string()),
            Just("CLS".to_string()),
            Just("web-vitals".to_string()),
            Just("page-load".to_string()),
            Just("inbound-rtp".to_string()),
            Just("remote-inbound-rtp".to_string()),
            Just("faro.performance.navigation".to_string()),
            Just("1e308".to_string()),
            Just("-1".to_string()),
            ".{0,20}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for parse in PARSERS {
            let _ = parse(&bytes, 1000);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_a_parser(value in json_value()) {
        let text = value.to_string();
        for parse in PARSERS {
            let _ = parse(text.as_bytes(), 1000);
        }
        // Elastic reads NDJSON: the same value as metadata and as an event line.
        let ndjson = format!("{text}\n{text}\n");
        let _ = elastic::parse(ndjson.as_bytes(), 1000);
    }
}

#[test]
fn arbitrary_bodies_through_the_binary_get_no_5xx() {
    let gw = common::Gateway::start(&common::test_config(""));
    let paths = ["/beacon", "/collect", "/intake/v2/rum/events", "/webrtc"];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
    ];
    runner
        .run(&strategy, |body| {
            for path in paths {
                let status = gw.post(path, body.clone(), &[]).status().as_u16();
                prop_assert!(status < 500, "{path} answered {status}");
            }
            Ok(())
        })
        .unwrap();
    let metrics = gw.metrics();
    assert!(metrics.sum("rum_beacons_received_total", &[]) >= 256.0);
}
