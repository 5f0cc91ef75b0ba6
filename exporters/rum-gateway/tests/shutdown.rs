//! Nothing accepted is dropped at shutdown: web vitals held for re-reports are observed on
//! SIGTERM, and the final scrape, through the real binary, shows them.

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, Metrics};

const LCP: &str = "rum_largest_contentful_paint_seconds_count";
const CLS_COUNT: &str = "rum_cumulative_layout_shift_count";
const CLS_SUM: &str = "rum_cumulative_layout_shift_sum";

/// Held for ten minutes: only the shutdown can release these vitals within the test.
const LONG_WINDOW: &str = "limits:\n  rereport_window: 10m\n  per_ip: {rate: 100000, burst: 100000}\n  per_app: {rate: 100000, burst: 100000}\n";

fn vitals(n: usize, cls: f64) -> String {
    let items: Vec<String> = (0..n)
        .flat_map(|i| {
            [
                format!(
                    r#"{{"name":"LCP","value":1500,"id":"v6-lcp-{i}","app":"shop","url":"/p"}}"#
                ),
                format!(
                    r#"{{"name":"CLS","value":{cls},"id":"v6-cls-{i}","app":"shop","url":"/p"}}"#
                ),
            ]
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Scrapes `url` until `check` holds: the port refuses connections between the drain and
/// the final listener, and a scrape that still reached the main listener is too early.
fn scrape_until(gw: &Gateway, url: &str, check: impl Fn(&Metrics) -> bool) -> Metrics {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(Instant::now() < until, "no final scrape showed the vitals");
        if let Ok(response) = gw.client.get(url).send() {
            let metrics = Metrics(response.text().unwrap());
            if check(&metrics) {
                return metrics;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_observes_held_vitals_and_the_final_scrape_shows_them() {
    let mut gw = Gateway::start_with(LONG_WINDOW, &["--web.final-scrape-wait=20s"]);
    gw.post_expect("/beacon", vitals(20, 0.01), &[], 202);
    // Re-reports on page hide replace the held CLS values.
    gw.post_expect("/beacon", vitals(20, 0.2), &[], 202);
    let before = gw.metrics();
    assert_eq!(before.sum(LCP, &[]), 0.0);
    assert_eq!(before.sum("rum_pending_metrics", &[]), 40.0);
    assert_eq!(
        before.sum("rum_deduplicated_total", &[("kind", "rereport")]),
        40.0
    );

    let metrics_url = gw.url("/metrics");
    gw.exporter.signal("TERM");
    let after = scrape_until(&gw, &metrics_url, |m| m.sum(LCP, &[]) > 0.0);
    assert_eq!(after.sum(LCP, &[]), 20.0);
    assert_eq!(after.sum(CLS_COUNT, &[]), 20.0);
    let cls_sum = after.sum(CLS_SUM, &[]);
    assert!(
        (cls_sum - 4.0).abs() < 1e-9,
        "the re-reported values count: {cls_sum}"
    );
    assert_eq!(after.sum("rum_pending_metrics", &[]), 0.0);

    let status = gw.exporter.wait_exit(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let logs = gw.exporter.logs();
    assert!(logs.contains("flushed=40"), "{logs}");
    assert!(logs.contains("final scrape answered"), "{logs}");
}

#[test]
fn with_a_separate_intake_listener_the_intake_stops_before_the_flush() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let intake = format!("--intake.listen-address=127.0.0.1:{port}");
    let mut gw = Gateway::start_with(LONG_WINDOW, &[&intake, "--web.final-scrape-wait=20s"]);
    let public = format!("http://127.0.0.1:{port}/beacon");
    let status = gw
        .client
        .post(&public)
        .header("user-agent", common::CHROME_UA)
        .body(vitals(5, 0.05))
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);

    let metrics_url = gw.url("/metrics");
    gw.exporter.signal("TERM");
    let after = scrape_until(&gw, &metrics_url, |m| m.sum(LCP, &[]) > 0.0);
    assert_eq!(after.sum(LCP, &[]), 5.0);
    assert_eq!(after.sum(CLS_COUNT, &[]), 5.0);
    assert!(
        gw.client.post(&public).body("[]").send().is_err(),
        "the intake listener is closed during the final scrape"
    );
    assert!(gw.exporter.wait_exit(Duration::from_secs(5)).is_some());
}

#[test]
fn without_a_scrape_the_gateway_exits_when_the_wait_runs_out() {
    let mut gw = Gateway::start_with(LONG_WINDOW, &["--web.final-scrape-wait=1s"]);
    gw.post_expect("/beacon", vitals(1, 0.01), &[], 202);
    let started = Instant::now();
    gw.exporter.signal("TERM");
    let status = gw.exporter.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(gw.exporter.logs().contains("no final scrape came"));
}
