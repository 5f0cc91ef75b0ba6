//! Exact counts through the real binary: N reports in, N observations out, for every
//! intake, with duplicates, re-reports and retries counted once.

mod common;

use common::{gzip, test_config, Gateway};

const LCP: &str = "rum_largest_contentful_paint_seconds_count";

fn beacon(name: &str, value: f64, id: &str, url: &str) -> String {
    format!(
        r#"{{"name":"{name}","value":{value},"id":"{id}","app":"shop","url":"{url}","rating":"good"}}"#
    )
}

#[test]
fn beacons_are_observed_once_each_and_duplicates_only_once() {
    let gw = Gateway::start(&test_config(""));
    let batch: Vec<String> = (0..50)
        .map(|i| {
            beacon(
                "LCP",
                1000.0 + f64::from(i) * 100.0,
                &format!("v6-{i}"),
                "https://shop.example/p/1",
            )
        })
        .collect();
    let body = format!("[{}]", batch.join(","));
    gw.post_expect(
        "/beacon",
        body.clone(),
        &[("content-type", "text/plain;charset=UTF-8")],
        202,
    );
    gw.post_expect(
        "/beacon",
        body,
        &[("content-type", "application/json")],
        202,
    );

    let m = gw.wait_for("50 LCP observations", |m| {
        m.sum(LCP, &[]) == 50.0 && m.sum("rum_pending_metrics", &[]) == 0.0
    });
    assert_eq!(
        m.sum("rum_deduplicated_total", &[("kind", "rereport")]),
        50.0
    );
    assert_eq!(
        m.sum("rum_web_vitals_rating_total", &[("metric", "LCP")]),
        50.0
    );
    // 1.0 .. 5.9 s: 16 good (≤ 2.5 s), 15 needs-improvement (≤ 4 s), 19 poor, whatever the
    // client claimed.
    assert_eq!(
        m.sum("rum_web_vitals_rating_total", &[("rating", "good")]),
        16.0
    );
    assert_eq!(
        m.sum("rum_web_vitals_rating_total", &[("rating", "poor")]),
        19.0
    );
    assert_eq!(
        m.sum(
            LCP,
            &[
                ("page", "/p/:id"),
                ("device", "desktop"),
                ("browser", "chrome")
            ]
        ),
        50.0
    );
}

#[test]
fn a_cls_rereport_replaces_the_earlier_value_and_a_late_one_is_dropped() {
    let gw = Gateway::start(&test_config(""));
    gw.post_expect("/beacon", beacon("CLS", 0.05, "v6-c", "/a"), &[], 202);
    gw.post_expect("/beacon", beacon("CLS", 0.3, "v6-c", "/a"), &[], 202);
    let m = gw.wait_for("one CLS", |m| {
        m.sum("rum_cumulative_layout_shift_count", &[]) == 1.0
    });
    assert_eq!(m.sum("rum_cumulative_layout_shift_sum", &[]), 0.3);
    assert_eq!(
        m.sum(
            "rum_web_vitals_rating_total",
            &[("metric", "CLS"), ("rating", "poor")]
        ),
        1.0
    );

    gw.post_expect("/beacon", beacon("CLS", 0.4, "v6-c", "/a"), &[], 202);
    let m = gw.wait_for("late re-report counted", |m| {
        m.sum("rum_deduplicated_total", &[("kind", "late_rereport")]) == 1.0
    });
    assert_eq!(m.sum("rum_cumulative_layout_shift_count", &[]), 1.0);
}

#[test]
fn snippet_items_count_page_views_errors_and_frustration_signals() {
    let gw = Gateway::start(&test_config(""));
    let body = r#"[{"name":"page_view","value":1200,"app":"shop","url":"/"},
        {"name":"error","app":"shop","url":"/"},{"name":"rage_click","app":"shop","url":"/"},
        {"name":"dead_click","app":"shop","url":"/"},{"name":"error_click","app":"shop","url":"/"}]"#;
    for _ in 0..3 {
        gw.post_expect("/beacon", body, &[], 202);
    }
    let m = gw.metrics();
    assert_eq!(m.sum("rum_page_views_total", &[("app", "shop")]), 3.0);
    assert_eq!(m.sum("rum_page_load_seconds_count", &[]), 3.0);
    assert_eq!(m.sum("rum_errors_total", &[("kind", "error")]), 3.0);
    for signal in ["rage_click", "dead_click", "error_click"] {
        assert_eq!(
            m.sum("rum_frustration_signals_total", &[("signal", signal)]),
            3.0
        );
    }
}

fn faro_payload(n: usize, nav: &str) -> String {
    let measurements: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"type":"web-vitals","values":{{"fcp":{},"delta":1}},"context":{{"id":"v5-{nav}-{i}","rating":"good"}}}}"#, 500 + i))
        .collect();
    format!(
        r#"{{"meta":{{"app":{{"name":"shop"}},"page":{{"url":"https://shop.example/cart"}},"browser":{{"brands":"unknown"}}}},
        "measurements":[{}],
        "events":[{{"name":"faro.performance.navigation","attributes":{{"pageLoadTime":"2000","faroNavigationId":"{nav}"}}}}],
        "exceptions":[{{"type":"Error","value":"x"}}]}}"#,
        measurements.join(",")
    )
}

#[test]
fn faro_batches_count_once_even_when_retried_with_their_idempotency_key() {
    let gw = Gateway::start(&test_config(""));
    let body = gzip(faro_payload(20, "n1").as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("idempotency-key", "batch-1"),
    ];
    for _ in 0..3 {
        let text = gw.post_expect("/collect", body.clone(), &headers, 202);
        assert_eq!(text, "ok\n");
    }
    gw.post_expect("/collect/any-key", faro_payload(5, "n2"), &[], 202);

    let m = gw.wait_for("25 FCP", |m| {
        m.sum("rum_first_contentful_paint_seconds_count", &[]) == 25.0
    });
    assert_eq!(
        m.sum("rum_deduplicated_total", &[("kind", "idempotency_key")]),
        2.0
    );
    assert_eq!(m.sum("rum_page_views_total", &[("page", "/cart")]), 2.0);
    assert_eq!(m.sum("rum_errors_total", &[("kind", "exception")]), 2.0);
    assert_eq!(
        m.sum("rum_beacons_received_total", &[("intake", "faro")]),
        4.0
    );
}

#[test]
fn elastic_page_loads_count_once_per_transaction_in_v2_and_v3() {
    let gw = Gateway::start(&test_config(""));
    let mut v2 =
        String::from(r#"{"metadata":{"service":{"name":"shop","agent":{"name":"rum-js"}}}}"#);
    for i in 0..10 {
        v2.push_str(&format!(
            "\n{{\"transaction\":{{\"id\":\"t{i}\",\"type\":\"page-load\",\"duration\":1500,\"marks\":{{\"agent\":{{\"timeToFirstByte\":100,\"largestContentfulPaint\":1400}}}},\"experience\":{{\"cls\":0.01}},\"context\":{{\"page\":{{\"url\":\"https://shop.example/item/{i}\"}}}}}}}}"
        ));
    }
    let ndjson = [("content-type", "application/x-ndjson")];
    gw.post_expect("/intake/v2/rum/events", v2.clone(), &ndjson, 202);
    // The agent's own retry of the same transactions.
    gw.post_expect("/intake/v2/rum/events", v2, &ndjson, 202);
    let v3 = "{\"m\":{\"se\":{\"n\":\"shop\"}}}\n{\"x\":{\"id\":\"u1\",\"t\":\"p-load\",\"d\":900,\"k\":{\"a\":{\"fb\":50,\"lp\":800}}}}\n";
    gw.post_expect("/intake/v3/rum/events", v3, &ndjson, 202);

    let m = gw.wait_for("11 LCP", |m| {
        m.sum(LCP, &[]) == 11.0 && m.sum("rum_pending_metrics", &[]) == 0.0
    });
    assert_eq!(m.sum("rum_time_to_first_byte_seconds_count", &[]), 11.0);
    assert_eq!(m.sum("rum_cumulative_layout_shift_count", &[]), 10.0);
    assert_eq!(m.sum("rum_page_views_total", &[]), 11.0);
    assert_eq!(
        m.sum("rum_page_views_total", &[("page", "/item/:id")]),
        10.0
    );
    assert_eq!(
        m.sum("rum_deduplicated_total", &[("kind", "repeated_id")]),
        10.0
    );
}

fn call(id: &str, rtt: f64, jitter: f64, lost: u32) -> String {
    format!(
        r#"{{"app":"meet","url":"/room/42","codec":"opus","id":"{id}","stats":[
        {{"type":"inbound-rtp","kind":"audio","packetsReceived":1000,"packetsLost":{lost},"jitter":{jitter}}},
        {{"type":"remote-inbound-rtp","roundTripTime":{rtt}}}]}}"#
    )
}

#[test]
fn webrtc_summaries_give_one_mos_and_one_quality_class_each() {
    let gw = Gateway::start(&test_config(""));
    for i in 0..6 {
        gw.post_expect("/webrtc", call(&format!("ok{i}"), 0.04, 0.005, 2), &[], 202);
    }
    for i in 0..4 {
        gw.post_expect(
            "/webrtc",
            call(&format!("bad{i}"), 0.9, 0.15, 200),
            &[],
            202,
        );
    }
    gw.post_expect("/webrtc", call("ok0", 0.04, 0.005, 2), &[], 202);
    let m = gw.metrics();
    assert_eq!(m.sum("rum_webrtc_mos_count", &[]), 10.0);
    assert_eq!(m.sum("rum_webrtc_round_trip_time_seconds_count", &[]), 10.0);
    assert_eq!(
        m.sum("rum_webrtc_quality_total", &[("class", "excellent")]),
        6.0
    );
    assert_eq!(m.sum("rum_webrtc_quality_total", &[("class", "poor")]), 4.0);
    assert_eq!(m.sum("rum_webrtc_mos_bucket", &[("le", "3")]), 4.0);
    assert_eq!(
        m.sum("rum_webrtc_packet_loss_ratio_bucket", &[("le", "0.005")]),
        6.0
    );
}

#[test]
fn a_body_sent_in_several_chunks_is_read_whole() {
    use std::io::{Read, Write};

    let gw = Gateway::start(&test_config(""));
    let body = format!(
        "[{},{}]",
        beacon("LCP", 1200.0, "chunked-1", "/c"),
        beacon("LCP", 1300.0, "chunked-2", "/c")
    );
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = std::net::TcpStream::connect(&gw.exporter.address).unwrap();
    let request = format!(
        "POST /beacon HTTP/1.1\r\nHost: x\r\nUser-Agent: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        common::CHROME_UA
    );
    stream.write_all(request.as_bytes()).unwrap();
    for chunk in [head, tail] {
        write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len()).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    gw.wait_for("both vitals", |m| m.sum(LCP, &[]) == 2.0);
}
