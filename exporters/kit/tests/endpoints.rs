//! The kit's endpoints, reload, limits and probes, against a real listener on a free port.

mod common;

use std::time::{Duration, Instant};

use common::{client, sample, Harness};
use exporter_kit::axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODULES: &str = "modules:
  ok: {behaviour: succeed}
  broken: {behaviour: fail, password: hunter2}
  slow: {behaviour: hang, timeout: 5s}
";

#[tokio::test]
async fn the_landing_page_shows_the_version_and_links_the_endpoints() {
    let harness = Harness::start(MODULES, &[]).await;
    let page = client().get(harness.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("<h1>kit-test</h1>"), "{body}");
    assert!(
        body.contains(&format!("Version {}", env!("CARGO_PKG_VERSION"))),
        "{body}"
    );
    for link in ["/metrics", "/-/healthy", "/-/ready", "/probe"] {
        assert!(
            body.contains(&format!("href=\"{link}\"")),
            "{link} missing from {body}"
        );
    }
    harness.stop().await;
}

#[tokio::test]
async fn metrics_speak_the_text_format_or_openmetrics_as_asked() {
    let harness = Harness::start(MODULES, &[]).await;
    let plain = client().get(harness.url("/metrics")).send().await.unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = plain.text().await.unwrap();
    assert!(text.contains("# TYPE kit_test_build_info gauge"), "{text}");
    assert!(
        text.contains("kit_test_build_info{version=\"0.1.0\",revision=\""),
        "{text}"
    );
    assert!(text.contains("rustc_version=\"rustc "), "{text}");
    assert!(!text.contains("# EOF"), "{text}");

    let open = client()
        .get(harness.url("/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        open.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(open.text().await.unwrap().ends_with("# EOF\n"));
    harness.stop().await;
}

#[tokio::test]
async fn health_and_readiness_answer_and_unknown_paths_are_404() {
    let harness = Harness::start(MODULES, &[]).await;
    let healthy = client()
        .get(harness.url("/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200);
    let ready = client().get(harness.url("/-/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let missing = client().get(harness.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let wrong_method = client().get(harness.url("/-/reload")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);

    let metrics = client().get(harness.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let not_found = "kit_test_http_requests_total{handler=\"not_found\",code=\"404\"}";
    assert_eq!(sample(&text, not_found), Some(1.0), "{text}");
    harness.stop().await;
}

#[tokio::test]
async fn a_good_reload_takes_the_new_config() {
    let harness = Harness::start(MODULES, &[]).await;
    harness.write("config.yml", "greeting: hello again\n");
    let reload = client()
        .post(harness.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200);
    assert_eq!(harness.config.borrow().greeting, "hello again");

    let text = harness.metrics().await;
    assert_eq!(
        sample(&text, "kit_test_config_last_reload_successful"),
        Some(1.0)
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_failed_reload_keeps_the_old_config_and_says_so() {
    let harness = Harness::start("greeting: first\n", &[]).await;
    harness.write(
        "config.yml",
        "greeting: second\nlimits: {rate: 50, burst: 10}\n",
    );
    let reload = client()
        .post(harness.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 500);
    let body = reload.text().await.unwrap();
    assert!(
        body.contains("config.yml:2:20: limits.burst: must be at least limits.rate (50)"),
        "{body}"
    );
    assert_eq!(harness.config.borrow().greeting, "first");

    let text = harness.metrics().await;
    assert_eq!(
        sample(&text, "kit_test_config_last_reload_successful"),
        Some(0.0)
    );

    harness.write("config.yml", "greeting: third\n");
    let reload = client().put(harness.url("/-/reload")).send().await.unwrap();
    assert_eq!(reload.status(), 200);
    let text = harness.metrics().await;
    assert_eq!(
        sample(&text, "kit_test_config_last_reload_successful"),
        Some(1.0)
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let harness = Harness::start_with(MODULES, &["--web.max-request-body-bytes=1000"], |app| {
        app.route("/echo", post(|body: String| async move { body }));
    })
    .await;
    let small = client()
        .post(harness.url("/echo"))
        .body("x".repeat(999))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    let large = client()
        .post(harness.url("/echo"))
        .body("x".repeat(1001))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 413);
    harness.stop().await;
}

#[tokio::test]
async fn a_client_too_slow_with_its_headers_is_cut_off_and_counted() {
    let harness = Harness::start(MODULES, &["--web.header-read-timeout=300ms"]).await;
    let mut slow = tokio::net::TcpStream::connect(&harness.address)
        .await
        .unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept a slow client open");
    assert!(started.elapsed() < Duration::from_secs(2));

    let text = harness.metrics().await;
    let counted = "kit_test_web_connection_errors_total{reason=\"header_read_timeout\"}";
    assert_eq!(sample(&text, counted), Some(1.0), "{text}");
    harness.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_and_are_counted() {
    let harness = Harness::start(MODULES, &["--web.max-connections=1"]).await;
    let idle = tokio::net::TcpStream::connect(&harness.address)
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let url = harness.url("/-/healthy");
        async move { client().get(url).send().await.unwrap().status() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served beside the first"
    );
    drop(idle);
    assert_eq!(waiting.await.unwrap(), 200);

    let text = harness.metrics().await;
    let reached = sample(&text, "kit_test_web_connection_limit_reached_total").unwrap();
    assert!(reached >= 1.0, "{text}");
    harness.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let harness = Harness::start_with(MODULES, &[], |app| {
        app.route(
            "/slow",
            exporter_kit::axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        );
    })
    .await;
    let in_flight = tokio::spawn(client().get(harness.url("/slow")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    harness.stop().await;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.text().await.unwrap(), "done");
}
