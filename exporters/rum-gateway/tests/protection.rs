//! The intake faces the internet: CORS, API keys before the body, size caps, rate limits,
//! trusted proxies, bots, value checks, and the separate intake listener.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{gzip, test_config, Gateway};

const CORS: &str =
    "cors:\n  allowed_origins: [\"https://shop.example\", \"https://*.example.org\"]\n";

fn lcp(app: &str) -> String {
    format!(r#"{{"name":"LCP","value":1200,"id":"x","app":"{app}","url":"/"}}"#)
}

#[test]
fn elastic_central_config_is_empty_with_an_etag_and_its_ifnonematch_gets_a_304() {
    let gw = Gateway::start(&test_config(CORS));
    let fetch = |query: &str, origin: &str| {
        let url = gw.url(&format!("/config/v1/rum/agents?service.name=shop{query}"));
        gw.client.get(url).header("origin", origin).send().unwrap()
    };
    // As the RUM agent asks at start (`centralConfig: true`), with nothing cached yet.
    let first = fetch("&service.environment=production", "https://shop.example");
    assert_eq!(first.status().as_u16(), 200);
    let h = first.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("Etag"), "{exposed}");
    assert_eq!(h["content-type"], "application/json");
    assert!(h.contains_key("cache-control"));
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(first.text().unwrap(), "{}");

    // The agent strips the quotes of the Etag it kept and sends it back as a query parameter.
    let query = format!("&ifnonematch={}", etag.trim_matches('"'));
    let again = fetch(&query, "https://shop.example");
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    let stale = fetch("&ifnonematch=something-else", "https://shop.example");
    assert_eq!(stale.status().as_u16(), 200);
    // A server-side client may send the standard header instead.
    let url = gw.url("/config/v1/rum/agents?service.name=shop");
    let header = gw
        .client
        .get(url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(header.status().as_u16(), 304);

    let refused = fetch("", "https://evil.example");
    assert_eq!(refused.status().as_u16(), 403);
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
    assert_eq!(
        refused.text().unwrap(),
        "origin_not_allowed: origin is not in cors.allowed_origins\n"
    );
    let post = gw.post("/config/v1/rum/agents", "{}", &[]);
    assert_eq!(post.status().as_u16(), 405);

    // Not a beacon: neither received nor rejected, only in the kit's request metrics.
    let m = gw.metrics();
    assert_eq!(m.sum("rum_beacons_received_total", &[]), 0.0);
    assert_eq!(m.sum("rum_beacons_rejected_total", &[]), 0.0);
    let handler = [("handler", "/config/v1/rum/agents")];
    assert_eq!(m.sum("rum_gateway_http_requests_total", &handler), 6.0);
}

#[test]
fn preflight_allows_listed_origins_with_the_sdk_headers_and_refuses_others() {
    let gw = Gateway::start(&test_config(CORS));
    let preflight = |origin: &str| {
        gw.client
            .request(reqwest::Method::OPTIONS, gw.url("/collect"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-faro-session-id",
            )
            .send()
            .unwrap()
    };
    let ok = preflight("https://app.example.org");
    assert_eq!(ok.status().as_u16(), 204);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.org");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    for needed in [
        "x-faro-session-id",
        "x-api-key",
        "content-encoding",
        "idempotency-key",
        "traceparent",
    ] {
        assert!(allowed.contains(needed), "{allowed}");
    }
    assert_eq!(
        h["access-control-expose-headers"],
        "Retry-After, X-Faro-Session-Status, Etag"
    );
    assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
    assert!(h.contains_key("access-control-max-age"));

    assert_eq!(preflight("https://evil.example").status().as_u16(), 403);
    let text = gw.post_expect(
        "/beacon",
        lcp("shop"),
        &[("origin", "https://evil.example")],
        403,
    );
    assert_eq!(
        text,
        "origin_not_allowed: origin is not in cors.allowed_origins\n"
    );
    let response = gw.post(
        "/beacon",
        lcp("shop"),
        &[("origin", "https://shop.example")],
    );
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(gw.metrics().rejected("origin_not_allowed"), 2.0);
}

#[test]
fn the_api_key_is_checked_before_the_body_is_read() {
    let config = test_config("apps:\n  shop: {api_key: s3cret}\n  blog: {api_key: other}\n");
    let gw = Gateway::start(&config);
    // Headers promise a body that never comes: an answer proves the body was not awaited.
    let mut stream = TcpStream::connect(&gw.exporter.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "POST /collect HTTP/1.1\r\nhost: x\r\nuser-agent: {}\r\ncontent-length: 100000\r\n\r\n",
        common::CHROME_UA
    )
    .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 401");

    gw.post_expect("/beacon", lcp("shop"), &[("x-api-key", "wrong")], 401);
    gw.post_expect("/beacon?api_key=s3cret", lcp("shop"), &[], 202);
    gw.post_expect(
        "/collect/s3cret",
        r#"{"meta":{"app":{"name":"shop"}}}"#,
        &[],
        202,
    );
    // Blog's key does not open shop.
    gw.post_expect("/beacon", lcp("shop"), &[("x-api-key", "other")], 401);
    gw.post_expect("/beacon", lcp("news"), &[("x-api-key", "other")], 403);
    let m = gw.metrics();
    assert_eq!(m.rejected("missing_api_key"), 1.0);
    assert_eq!(m.rejected("invalid_api_key"), 2.0);
    assert_eq!(m.rejected("unknown_app"), 1.0);
}

#[test]
fn bodies_over_the_cap_get_413_before_and_after_decompression() {
    let config = "limits:\n  max_body_bytes: 1KiB\n  max_decompressed_bytes: 4KiB\n";
    let gw = Gateway::start(config);
    let big = format!("[{}]", vec![lcp("shop"); 40].join(","));
    assert!(big.len() > 1024);
    gw.post_expect("/beacon", big.clone(), &[], 413);
    let text = gw.post_expect(
        "/beacon",
        gzip(big.as_bytes()),
        &[("content-encoding", "gzip")],
        202,
    );
    assert_eq!(text, "ok\n");
    let bomb = gzip(&vec![b' '; 256 << 10]);
    assert!(bomb.len() < 1024);
    let text = gw.post_expect("/collect", bomb, &[("content-encoding", "gzip")], 413);
    assert_eq!(
        text,
        "decompressed_body_too_large: body exceeds 4096 bytes once decompressed\n"
    );

    // Chunked, with no Content-Length: the cap applies while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 100])).collect();
    let body = reqwest::blocking::Body::new(std::io::Cursor::new(
        chunks
            .into_iter()
            .flat_map(|c| c.unwrap())
            .collect::<Vec<u8>>(),
    ));
    let response = gw
        .client
        .post(gw.url("/beacon"))
        .header("user-agent", common::CHROME_UA)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    gw.post_expect("/collect", "x", &[("content-encoding", "br")], 415);
    let m = gw.metrics();
    assert_eq!(m.rejected("body_too_large"), 2.0);
    assert_eq!(m.rejected("decompressed_body_too_large"), 1.0);
}

#[test]
fn rate_limits_answer_429_with_retry_after_per_ip_and_per_app() {
    let config = "limits:\n  per_ip: {rate: 1, burst: 3}\n  per_app: {rate: 100, burst: 100}\n";
    let gw = Gateway::start(config);
    for _ in 0..3 {
        gw.post_expect("/beacon", lcp("shop"), &[], 202);
    }
    let response = gw.post("/beacon", lcp("shop"), &[]);
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    let config = "limits:\n  per_ip: {rate: 1000, burst: 1000}\n  per_app: {rate: 1, burst: 2}\n";
    let gw = Gateway::start(config);
    gw.post_expect("/beacon", lcp("shop"), &[], 202);
    gw.post_expect("/beacon", lcp("shop"), &[], 202);
    gw.post_expect("/beacon", lcp("shop"), &[], 429);
    gw.post_expect("/beacon", lcp("blog"), &[], 202);
    assert_eq!(gw.metrics().rejected("rate_limited_app"), 1.0);
}

#[test]
fn clients_beyond_the_tracked_limit_share_one_counted_bucket() {
    // A bucket refills in 100 s, so none is forgotten during the test, however slow.
    let config = "limits:\n  per_ip: {rate: 0.01, burst: 1}\n  max_tracked_ips: 2\ntrusted_proxies: [\"127.0.0.0/8\"]\n";
    let gw = Gateway::start(config);
    let from = |client: &str, status: u16| {
        gw.post_expect(
            "/beacon",
            lcp("shop"),
            &[("x-forwarded-for", client)],
            status,
        );
    };
    // Two clients take their own buckets and empty them.
    from("198.51.100.1", 202);
    from("198.51.100.2", 202);
    let shared =
        |m: &common::Metrics| m.sum("rum_rate_limit_shared_bucket_total", &[("limiter", "ip")]);
    assert_eq!(shared(&gw.metrics()), 0.0);
    // The next clients share one bucket of burst 1: the first passes, the second waits.
    from("198.51.100.3", 202);
    from("198.51.100.4", 429);
    let metrics = gw.metrics();
    assert_eq!(shared(&metrics), 2.0);
    assert_eq!(metrics.rejected("rate_limited_ip"), 1.0);
}

#[test]
fn forwarded_client_ips_and_country_are_believed_only_from_trusted_proxies() {
    let config = "limits:\n  per_ip: {rate: 1, burst: 1}\ntrusted_proxies: [\"127.0.0.0/8\"]\ncountry_header: CF-IPCountry\n";
    let gw = Gateway::start(config);
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let xff = format!("{client}, 127.0.0.5");
        gw.post_expect(
            "/beacon",
            r#"{"name":"page_view","app":"shop"}"#,
            &[("x-forwarded-for", &xff), ("cf-ipcountry", "de")],
            202,
        );
    }
    gw.post_expect(
        "/beacon",
        lcp("shop"),
        &[("x-forwarded-for", "198.51.100.1")],
        429,
    );
    assert_eq!(
        gw.metrics()
            .sum("rum_page_views_total", &[("country", "DE")]),
        3.0
    );

    let untrusting =
        Gateway::start("limits:\n  per_ip: {rate: 1, burst: 1}\ncountry_header: CF-IPCountry\n");
    untrusting.post_expect(
        "/beacon",
        r#"{"name":"page_view","app":"shop"}"#,
        &[("x-forwarded-for", "198.51.100.1"), ("cf-ipcountry", "de")],
        202,
    );
    untrusting.post_expect(
        "/beacon",
        lcp("shop"),
        &[("x-forwarded-for", "198.51.100.2")],
        429,
    );
    assert_eq!(
        untrusting
            .metrics()
            .sum("rum_page_views_total", &[("country", "XX")]),
        1.0
    );
}

#[test]
fn bots_bad_values_and_malformed_bodies_get_a_4xx_with_a_reason_and_are_counted() {
    let gw = Gateway::start(&test_config(""));
    let headless = common::CHROME_UA.replace("Chrome/", "HeadlessChrome/");
    let text = gw.post_expect("/beacon", lcp("shop"), &[("user-agent", &headless)], 403);
    assert_eq!(text, "bot: user agent is a bot or headless browser\n");
    let values = r#"[{"name":"LCP","value":-5,"app":"s"},{"name":"INP","value":9.9e9,"app":"s"},{"name":"TTFB","value":"NaN","app":"s"}]"#;
    gw.post_expect("/beacon", values, &[], 202);
    let text = gw.post_expect("/beacon", "{not json", &[], 400);
    assert_eq!(text, "invalid_json: body is not valid JSON\n");
    gw.post_expect(
        "/beacon",
        r#"{"name":"LCP","value":1,"app":"bad app!"}"#,
        &[],
        400,
    );
    gw.post_expect("/intake/v2/rum/events", vec![0xff, 0xfe], &[], 400);
    let m = gw.metrics();
    assert_eq!(m.rejected("bot"), 1.0);
    assert_eq!(m.rejected("value_out_of_range"), 3.0);
    assert_eq!(m.rejected("invalid_json"), 1.0);
    assert_eq!(m.rejected("invalid_app"), 1.0);
    assert_eq!(m.rejected("not_utf8"), 1.0);
    assert_eq!(
        m.sum("rum_largest_contentful_paint_seconds_count", &[]),
        0.0
    );
}

#[test]
fn the_intake_can_listen_apart_from_metrics() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let intake = format!("--intake.listen-address=127.0.0.1:{port}");
    let gw = Gateway::start_with(&test_config(""), &[&intake]);
    let public = format!("http://127.0.0.1:{port}");
    let post = |base: &str| {
        gw.client
            .post(format!("{base}/beacon"))
            .header("user-agent", common::CHROME_UA)
            .body(r#"{"name":"page_view","app":"shop"}"#)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post(&public), 202);
    assert_eq!(post(&gw.url("")), 404);
    let metrics = gw.client.get(format!("{public}/metrics")).send().unwrap();
    assert_eq!(metrics.status().as_u16(), 404);
    assert_eq!(gw.metrics().sum("rum_page_views_total", &[]), 1.0);
}
