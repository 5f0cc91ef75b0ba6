//! The blackbox-style `/probe` endpoint: answers, refusals, the deadline and `debug=true`.

mod common;

use std::time::{Duration, Instant};

use common::{client, sample, Harness};

const MODULES: &str = "modules:
  ok: {behaviour: succeed}
  broken: {behaviour: fail, password: hunter2}
  slow: {behaviour: hang, timeout: 5s}
  quick: {behaviour: hang, timeout: 300ms}
";

async fn get(harness: &Harness, query: &str) -> (u16, String) {
    let response = client()
        .get(harness.url(&format!("/probe?{query}")))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_successful_probe_reports_its_own_metrics_in_a_fresh_registry() {
    let harness = Harness::start(MODULES, &[]).await;
    for _ in 0..2 {
        let (status, body) = get(&harness, "module=ok&target=example:1").await;
        assert_eq!(status, 200);
        assert_eq!(sample(&body, "probe_success"), Some(1.0), "{body}");
        assert_eq!(sample(&body, "test_probe_answer"), Some(42.0), "{body}");
        assert!(sample(&body, "probe_duration_seconds").unwrap() >= 0.0);
        assert!(
            !body.contains("kit_test_build_info"),
            "probe output mixed with /metrics"
        );
    }
    let text = harness.metrics().await;
    let counted = "kit_test_probes_total{module=\"ok\",result=\"success\"}";
    assert_eq!(sample(&text, counted), Some(2.0), "{text}");
    harness.stop().await;
}

#[tokio::test]
async fn a_failed_probe_is_http_200_with_probe_success_0() {
    let harness = Harness::start(MODULES, &[]).await;
    let (status, body) = get(&harness, "module=broken&target=example:1").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    harness.stop().await;
}

#[tokio::test]
async fn a_missing_target_or_module_or_an_unknown_module_is_400_and_counted() {
    let harness = Harness::start(MODULES, &[]).await;
    let cases = [
        (
            "module=ok",
            "target parameter is missing\n",
            "missing_target",
        ),
        (
            "module=ok&target=",
            "target parameter is missing\n",
            "missing_target",
        ),
        (
            "target=x:1",
            "module parameter is missing\n",
            "missing_module",
        ),
        (
            "module=nope&target=x:1",
            "unknown module \"nope\"\n",
            "unknown_module",
        ),
    ];
    for (query, message, _) in cases {
        assert_eq!(
            get(&harness, query).await,
            (400, message.to_string()),
            "{query}"
        );
    }
    let text = harness.metrics().await;
    for (reason, count) in [
        ("missing_target", 2.0),
        ("missing_module", 1.0),
        ("unknown_module", 1.0),
    ] {
        let name = format!("kit_test_probe_requests_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(sample(&text, &name), Some(count), "{reason} in {text}");
    }
    harness.stop().await;
}

#[tokio::test]
async fn the_module_timeout_bounds_a_probe_that_hangs() {
    let harness = Harness::start(MODULES, &[]).await;
    let started = Instant::now();
    let (status, body) = get(&harness, "module=quick&target=x:1").await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn the_scrape_timeout_less_the_offset_bounds_a_probe_when_it_is_shorter() {
    let harness = Harness::start(MODULES, &["--probe.timeout-offset=200ms"]).await;
    let started = Instant::now();
    let response = client()
        .get(harness.url("/probe?module=slow&target=x:1"))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "0.7")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_malformed_scrape_timeout_is_400() {
    let harness = Harness::start(MODULES, &[]).await;
    let response = client()
        .get(harness.url("/probe?module=ok&target=x:1"))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "invalid X-Prometheus-Scrape-Timeout-Seconds \"soon\"\n"
    );
    harness.stop().await;
}

#[tokio::test]
async fn debug_shows_the_probe_log_metrics_and_module_without_secrets() {
    let harness = Harness::start(MODULES, &[]).await;
    let (status, body) = get(&harness, "module=broken&target=example:1&debug=true").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("Logs for the probe:\n"), "{body}");
    assert!(body.contains("probing example:1"), "{body}");
    assert!(body.contains("failing on purpose"), "{body}");
    let metrics = "\n\nMetrics that would have been returned:\n# HELP probe_success ";
    assert!(body.contains(metrics), "{body}");
    assert!(body.contains("\nprobe_success 0\n"), "{body}");
    assert!(
        body.contains("Module configuration:\nbehaviour: fail\ntimeout: 5s\npassword: <secret>\n"),
        "{body}"
    );
    assert!(!body.contains("hunter2"), "{body}");
    harness.stop().await;
}
