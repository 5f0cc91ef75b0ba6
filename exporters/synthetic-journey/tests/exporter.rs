//! The real binary with journeys and checks against a site on loopback: metrics, status JSON,
//! landing table, artifacts and `/probe`.

mod common;

use std::time::{Duration, Instant};

use exporter_kit::testing::{get, sample, RunningExporter};

const BINARY: &str = env!("CARGO_BIN_EXE_synthetic-journey");

fn config(address: std::net::SocketAddr, dir: &std::path::Path) -> std::path::PathBuf {
    let yaml = format!(
        r##"
journeys:
  - name: home
    interval: 1h
    timeout: 30s
    steps:
      - {{action: navigate, url: "http://{address}/"}}
      - {{action: assert_text, selector: "h1", contains: "Home"}}
  - name: broken
    interval: 1h
    timeout: 30s
    step_timeout: 2s
    steps:
      - {{action: navigate, url: "http://{address}/throws"}}
      - {{action: click, selector: "#missing", name: press_missing}}
checks:
  - {{name: up, kind: http, url: "http://{address}/", interval: 1h}}
  - {{name: gone, kind: http, url: "http://{address}/nothing-here", interval: 1h}}
"##
    );
    let path = dir.join("config.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn probes_run_journeys_and_checks_at_once_in_the_multi_target_style() {
    common::require_chromium();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = runtime.block_on(common::site());
    let dir = tempfile::tempdir().unwrap();
    let config = config(address, dir.path());
    let artifacts = dir.path().join("artifacts");
    let exporter = RunningExporter::start(
        BINARY,
        &[
            &format!("--config.file={}", config.display()),
            &format!("--artifacts.dir={}", artifacts.display()),
        ],
    );

    let (status, body) = get(&exporter.url("/probe?journey=home"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "probe_success"), Some(1.0), "{body}");
    assert!(
        sample(
            &body,
            "synthetic_journey_step_duration_seconds{journey=\"home\",step=\"1_assert_text\"}"
        )
        .is_some(),
        "{body}"
    );
    assert!(
        sample(
            &body,
            "synthetic_page_time_to_first_byte_seconds{journey=\"home\",step=\"0_navigate\"}"
        )
        .is_some(),
        "{body}"
    );

    let (status, body) = get(&exporter.url("/probe?journey=broken&debug=true"));
    assert_eq!(status, 200);
    assert!(body.starts_with("Logs for the probe:\n"), "{body}");
    assert!(body.contains("probe_success 0"), "{body}");
    assert!(
        body.contains("synthetic_journey_failed_step{journey=\"broken\",step=\"press_missing\"} 1"),
        "{body}"
    );
    assert!(body.contains("artifact: /artifacts/broken/"), "{body}");
    let screenshot = body
        .lines()
        .find_map(|l| l.strip_prefix("artifact: "))
        .filter(|p| p.ends_with(".png"))
        .unwrap();
    let response = reqwest::blocking::get(exporter.url(screenshot)).unwrap();
    assert_eq!(response.headers()["content-type"], "image/png");

    let (_, body) = get(&exporter.url("/probe?check=up"));
    assert_eq!(sample(&body, "probe_success"), Some(1.0), "{body}");
    assert_eq!(
        sample(&body, "synthetic_check_status_code{check=\"up\"}"),
        Some(200.0),
        "{body}"
    );
    let (_, body) = get(&exporter.url("/probe?check=gone"));
    assert_eq!(sample(&body, "probe_success"), Some(0.0), "{body}");
    assert_eq!(
        sample(&body, "synthetic_check_status_code{check=\"gone\"}"),
        Some(404.0),
        "{body}"
    );

    assert_eq!(
        get(&exporter.url("/probe?journey=nope")),
        (400, "unknown journey \"nope\"\n".to_string())
    );
    assert_eq!(get(&exporter.url("/probe")).0, 400);
    assert_eq!(get(&exporter.url("/probe?journey=home&check=up")).0, 400);
    assert_eq!(
        get(&exporter.url("/artifacts/broken/..%2F..%2Fetc/passwd")).0,
        400
    );
    stop_and_check_the_browser_ends(exporter);
}

/// SIGTERM ends the exporter and, with it, every browser process it started.
fn stop_and_check_the_browser_ends(mut exporter: RunningExporter) {
    let browser = common::descendants(exporter.pid());
    assert!(!browser.is_empty(), "a browser runs below the exporter");
    exporter.signal("TERM");
    assert!(
        exporter.wait_exit(Duration::from_secs(20)).is_some(),
        "{}",
        exporter.logs()
    );
    let started = Instant::now();
    while browser.iter().any(|pid| common::running(*pid))
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left: Vec<_> = browser
        .iter()
        .filter(|pid| common::running(**pid))
        .collect();
    assert!(left.is_empty(), "browser processes left running: {left:?}");
}

#[test]
fn scheduled_runs_fill_metrics_status_json_and_the_landing_table() {
    common::require_chromium();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = runtime.block_on(common::site());
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r##"
journeys:
  - name: broken
    interval: 2s
    timeout: 20s
    steps:
      - {{action: navigate, url: "http://{address}/throws"}}
      - {{action: assert_text, selector: "h1", contains: "Fine"}}
checks:
  - {{name: up, kind: http, url: "http://{address}/", interval: 1s}}
"##
    );
    let config = dir.path().join("config.yml");
    std::fs::write(&config, yaml).unwrap();
    let artifacts = dir.path().join("artifacts");
    let exporter = RunningExporter::start(
        BINARY,
        &[
            &format!("--config.file={}", config.display()),
            &format!("--artifacts.dir={}", artifacts.display()),
        ],
    );

    let started = Instant::now();
    let body = loop {
        let (_, body) = get(&exporter.url("/metrics"));
        let done = sample(
            &body,
            "synthetic_journey_runs_total{journey=\"broken\",result=\"failure\"}",
        )
        .is_some()
            && sample(&body, "synthetic_check_success{check=\"up\"}").is_some();
        if done || started.elapsed() > Duration::from_secs(60) {
            break body;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        sample(&body, "synthetic_journey_success{journey=\"broken\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "synthetic_journey_failed_step{journey=\"broken\",step=\"1_assert_text\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "synthetic_journey_failed_step{journey=\"broken\",step=\"0_navigate\"}"
        ),
        Some(0.0)
    );
    assert!(
        sample(
            &body,
            "synthetic_journey_last_run_timestamp_seconds{journey=\"broken\"}"
        )
        .unwrap()
            > 1.7e9
    );
    assert_eq!(
        sample(&body, "synthetic_check_success{check=\"up\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "synthetic_journey_browser_launches_total"),
        Some(1.0),
        "{body}"
    );
    let (ok, problems) = exporter_kit::testing::promtool_check_metrics(&body);
    assert!(ok, "{problems}");

    let (_, json) = get(&exporter.url("/journeys"));
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    let journey = &status["journeys"][0];
    assert_eq!(journey["name"], "broken");
    assert_eq!(journey["last_run"]["success"], false);
    assert_eq!(journey["last_run"]["failed_step"], "1_assert_text");
    let links = journey["last_run"]["artifacts"].as_array().unwrap();
    assert!(
        links
            .iter()
            .any(|l| l.as_str().unwrap().ends_with("/failure.png")),
        "{json}"
    );
    assert_eq!(status["checks"][0]["last_run"]["status_code"], 200);

    let (_, landing) = get(&exporter.url("/"));
    assert!(landing.contains("<td>broken</td>"), "{landing}");
    assert!(landing.contains("failure.png</a>"), "{landing}");
    stop_and_check_the_browser_ends(exporter);
}
