//! Journeys in real headless Chromium against a site served by the test on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{form_journey, journey, Walker};

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_journey_times_every_step_and_reads_page_metrics() {
    let w = Walker::new().await;

    let (outcome, logs) = w
        .walk(form_journey(w.address), Duration::from_secs(30))
        .await;

    assert!(
        outcome.success,
        "{:?} at {:?}\n{logs:#?}",
        outcome.reason, outcome.failed_step
    );
    assert_eq!(outcome.steps.len(), 9);
    assert!(outcome
        .steps
        .iter()
        .all(|s| s.success && s.duration > Duration::ZERO));
    assert_eq!(outcome.steps[0].step, "open_home");
    assert_eq!(outcome.steps[1].step, "1_click");
    // The reveal comes 300 ms after the click; click and wait together must have waited for it.
    let click_and_wait = outcome.steps[1].duration + outcome.steps[2].duration;
    assert!(
        click_and_wait >= Duration::from_millis(280),
        "{:?}",
        &outcome.steps[1..3]
    );
    let home = outcome.steps[0]
        .page
        .as_ref()
        .expect("timings of the home page");
    for (name, value) in [
        ("ttfb", home.ttfb),
        ("dom_content_loaded", home.dom_content_loaded),
        ("load", home.load),
        ("fcp", home.fcp),
        ("lcp", home.lcp),
    ] {
        assert!(
            value.is_some_and(|v| v > 0.0 && v < 30.0),
            "{name}: {home:?}"
        );
    }
    assert_eq!(home.cls, Some(0.0));
    assert!(home.js_heap.is_some_and(|v| v > 0.0), "{home:?}");
    // The welcome page is a second document: the key press submitted the form and waited for
    // it, so the key press step reports its timings.
    let later_pages = outcome.steps[5..]
        .iter()
        .filter(|s| s.page.is_some())
        .count();
    assert_eq!(later_pages, 1, "{:#?}", outcome.steps);
    assert!(outcome.steps[5].page.is_some(), "{:#?}", outcome.steps);
    assert!(outcome.artifacts.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_is_named_and_leaves_a_screenshot_html_and_console_errors() {
    let w = Walker::new().await;
    let address = w.address;
    let j = journey(&format!(
        r##"
name: broken
steps:
  - {{action: navigate, url: "http://{address}/throws"}}
  - {{action: assert_text, selector: "h1", contains: "All good"}}
  - {{action: click, selector: "#never-reached"}}
"##
    ));

    let (outcome, _) = w.walk(j, Duration::from_secs(30)).await;

    assert!(!outcome.success);
    assert_eq!(outcome.failed_step.as_deref(), Some("1_assert_text"));
    assert_eq!(outcome.steps.len(), 2);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("does not contain \"All good\""), "{reason}");
    let run_dir = w
        .dir
        .path()
        .join("broken")
        .join(outcome.artifacts[0].split('/').next().unwrap());
    let png = std::fs::read(run_dir.join("failure.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let html = std::fs::read_to_string(run_dir.join("page.html")).unwrap();
    assert!(html.contains("Something is wrong"));
    let console = std::fs::read_to_string(run_dir.join("console.txt")).unwrap();
    assert!(console.contains("boom from the page"), "{console}");
    assert!(console.contains("backend said no"), "{console}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_click_on_a_link_waits_until_the_page_it_opens_has_loaded() {
    let w = Walker::new().await;
    let j = journey(&format!(
        r##"
name: link
steps:
  - {{action: navigate, url: "http://{}/"}}
  - {{action: click, selector: "#link"}}
  - {{action: assert_url, contains: "code=link"}}
  - {{action: assert_text, selector: "h1", contains: "Welcome link"}}
"##,
        w.address
    ));

    let (outcome, logs) = w.walk(j, Duration::from_secs(30)).await;

    assert!(outcome.success, "{:?} {logs:#?}", outcome.reason);
    let welcome = outcome.steps[1]
        .page
        .as_ref()
        .expect("the opened page's timings");
    assert!(welcome.load.is_some(), "{welcome:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_cannot_be_reached_fails_the_navigate_step_with_the_browser_reason() {
    let w = Walker::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let j = journey(&format!(
        "{{name: gone, steps: [{{action: navigate, url: 'http://{address}/'}}]}}"
    ));

    let (outcome, _) = w.walk(j, Duration::from_secs(30)).await;

    assert_eq!(outcome.failed_step.as_deref(), Some("0_navigate"));
    assert_eq!(
        outcome.reason.as_deref(),
        Some("navigation failed: net::ERR_CONNECTION_REFUSED")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journey_stops_at_its_timeout() {
    let w = Walker::new().await;
    let address = w.address;
    let j = journey(&format!(
        r##"
name: slow
timeout: 5s
steps:
  - {{action: navigate, url: "http://{address}/"}}
  - {{action: wait, selector: "#never"}}
"##
    ));

    let started = Instant::now();
    let (outcome, logs) = w.walk(j, Duration::from_secs(5)).await;

    assert!(!outcome.success);
    assert_eq!(
        outcome.failed_step.as_deref(),
        Some("1_wait"),
        "{:?} {logs:?}",
        outcome.reason
    );
    // Five seconds of budget, counted once the browser is up; slack for a loaded machine (a
    // cold browser start is not counted by the run but is by this clock).
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        outcome.duration >= Duration::from_millis(4500),
        "{:?}",
        outcome.duration
    );
    assert!(
        outcome.duration < Duration::from_secs(7),
        "{:?}",
        outcome.duration
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_browser_is_replaced_at_the_next_run_and_its_orphans_reaped() {
    let w = Walker::new().await;
    let pid = w.walk_form().await;

    // SAFETY: kills the browser this test started, by its PID.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    let (second, _) = w
        .walk(form_journey(w.address), Duration::from_secs(30))
        .await;

    assert!(
        second.success,
        "{:?} at {:?}",
        second.reason, second.failed_step
    );
    assert_eq!(w.metrics.launches.get(), 2);
    assert_ne!(w.runner.pool().current_pid(), Some(pid));
    // The helpers of the killed browser came to this process and were ended.
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.runner.pool().reap_orphans();
    assert!(w.metrics.orphans_reaped.get() > 0);
    assert_eq!(w.runner.pool().reap_orphans(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_browser_is_killed_and_replaced_at_the_next_run() {
    let w = Walker::new().await;
    let pid = w.walk_form().await;

    // SAFETY: stops the browser this test started, by its PID; it answers nothing any more.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
    let started = Instant::now();
    let (second, _) = w
        .walk(form_journey(w.address), Duration::from_secs(30))
        .await;

    assert!(
        second.success,
        "{:?} at {:?}",
        second.reason, second.failed_step
    );
    assert_eq!(w.metrics.launches.get(), 2);
    assert!(!common::running(pid), "the hung browser was killed");
    // Five seconds of health check, then a launch and the journey; slack for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}
