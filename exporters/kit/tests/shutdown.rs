//! Shutdown hooks and the final scrape, against a real listener on a free port.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client, sample, Harness};
use exporter_kit::prometheus_client::metrics::gauge::Gauge;

#[tokio::test]
async fn hooks_run_in_order_after_the_request_in_flight_finished() {
    let finished = Arc::new(AtomicUsize::new(0));
    let seen_by_hooks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (f, s1, s2) = (
        finished.clone(),
        seen_by_hooks.clone(),
        seen_by_hooks.clone(),
    );
    let (f1, f2) = (finished.clone(), finished.clone());
    let harness = Harness::start_with("", &[], move |app| {
        app.route(
            "/slow",
            exporter_kit::axum::routing::get(move || async move {
                tokio::time::sleep(Duration::from_millis(400)).await;
                f.fetch_add(1, Ordering::SeqCst);
                "done"
            }),
        );
        app.on_shutdown(move || async move {
            s1.lock()
                .unwrap()
                .push(("first", f1.load(Ordering::SeqCst)));
        });
        // A synchronous hook, written as the kit's docs say.
        app.on_shutdown(move || async move {
            s2.lock()
                .unwrap()
                .push(("second", f2.load(Ordering::SeqCst)));
        });
    })
    .await;
    let in_flight = tokio::spawn(client().get(harness.url("/slow")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    harness.stop().await;

    assert_eq!(
        *seen_by_hooks.lock().unwrap(),
        vec![("first", 1), ("second", 1)]
    );
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.text().await.unwrap(), "done");
}

#[tokio::test]
async fn without_a_final_scrape_wait_the_exporter_stops_at_once() {
    let harness = Harness::start("", &[]).await;
    let started = Instant::now();
    harness.stop().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_final_scrape_sees_what_the_hooks_recorded_and_ends_the_wait() {
    let harness = Harness::start_with("", &["--web.final-scrape-wait=20s"], |app| {
        let flushed = Gauge::<i64>::default();
        app.registry()
            .register("flushed", "Set by the shutdown hook", flushed.clone());
        app.on_shutdown(move || async move {
            flushed.set(7);
        });
    })
    .await;
    assert_eq!(sample(&harness.metrics().await, "flushed"), Some(0.0));
    let metrics_url = harness.url("/metrics");
    let ready_url = harness.url("/-/ready");
    let started = Instant::now();
    let stopping = tokio::spawn(harness.stop());

    // Between the drain and the final listener the port refuses connections; a scrape
    // that still reached the main listener sees the value from before the hook.
    let text = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no final scrape"
        );
        let scraped = client().get(&metrics_url).send().await;
        if let Ok(response) = scraped {
            let text = response.text().await.unwrap();
            if sample(&text, "flushed") == Some(7.0) {
                break text;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(text.contains("kit_test_build_info"), "{text}");
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the wait ends after the final scrape")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(client().get(&ready_url).send().await.is_err());
}

#[tokio::test]
async fn the_final_listener_serves_only_the_kits_endpoints_and_is_not_ready() {
    let harness = Harness::start_with("", &["--web.final-scrape-wait=2s"], |app| {
        app.route(
            "/exporter-only",
            exporter_kit::axum::routing::get(|| async { "here" }),
        );
    })
    .await;
    assert_eq!(
        client()
            .get(harness.url("/exporter-only"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (own, ready) = (harness.url("/exporter-only"), harness.url("/-/ready"));
    let started = Instant::now();
    let stopping = tokio::spawn(harness.stop());
    // Wait for the final listener: the not-ready answer only it gives.
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "no final listener"
        );
        if let Ok(response) = client().get(&ready).send().await {
            if response.status() == 503 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client().get(&own).send().await.unwrap().status(), 404);
    // No scrape came, so the wait runs out.
    stopping.await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2));
}
