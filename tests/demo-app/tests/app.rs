//! The demo application on a real listener: pages, API, WebSocket, metrics and fault drills.

use std::sync::Arc;
use std::time::{Duration, Instant};

use demo_app::{router, AppState};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

async fn start(snippet: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let app = router(Arc::new(AppState::new(snippet.to_string())));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

async fn get(address: &str, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{address}{path}"))
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn every_page_carries_the_rum_snippet() {
    let address = start("<script src=\"/rum.js\"></script>").await;
    for path in ["/", "/form", "/slow-reveal", "/throws"] {
        let (status, body) = get(&address, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("<script src=\"/rum.js\"></script>"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn the_form_joins_a_room() {
    let address = start("").await;
    let response = reqwest::Client::new()
        .post(format!("http://{address}/join"))
        .form(&[("code", "abc-123<script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<h1>Welcome to room abc-123script</h1>"),
        "{body}"
    );
}

#[tokio::test]
async fn the_api_answers_json_and_is_measured() {
    let address = start("").await;
    let (status, body) = get(&address, "/api/items").await;
    assert_eq!(status, 200);
    let items: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 3);
    get(&address, "/api/items").await;

    let (_, metrics) = get(&address, "/metrics").await;
    let count = "demo_app_http_request_duration_seconds_count{handler=\"/api/items\"}";
    assert_eq!(sample(&metrics, count), Some(2.0), "{metrics}");
    let ok = "demo_app_http_requests_total{handler=\"/api/items\",method=\"GET\",code=\"200\"}";
    assert_eq!(sample(&metrics, ok), Some(2.0), "{metrics}");
}

#[tokio::test]
async fn the_websocket_echoes_and_answers_ping_with_pong() {
    let address = start("").await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
        .await
        .unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    let echoed = socket.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "hello");
    socket
        .send(Message::Text("{\"type\":\"ping\"}".into()))
        .await
        .unwrap();
    let pong = socket.next().await.unwrap().unwrap();
    assert_eq!(pong.into_text().unwrap().as_str(), "{\"type\":\"pong\"}");
}

#[tokio::test]
async fn a_failing_drill_fails_the_app_but_not_its_metrics_and_ends() {
    let address = start("").await;
    let client = reqwest::Client::new();
    let set = client
        .post(format!(
            "http://{address}/admin/fault?mode=failing&duration=400ms"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(get(&address, "/api/health").await.0, 503);
    assert_eq!(get(&address, "/").await.0, 503);
    let (status, metrics) = get(&address, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&metrics, "demo_app_fault_active"), Some(1.0));
    let errors = "demo_app_http_request_errors_total{handler=\"/api/health\"}";
    assert_eq!(sample(&metrics, errors), Some(1.0), "{metrics}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(get(&address, "/api/health").await.0, 200);
}

#[tokio::test]
async fn a_slow_drill_delays_requests_until_switched_off() {
    let address = start("").await;
    let client = reqwest::Client::new();
    let url = format!("http://{address}/admin/fault?mode=slow&delay=300ms&duration=1m");
    client.post(url).send().await.unwrap();
    let started = Instant::now();
    assert_eq!(get(&address, "/api/health").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let off = format!("http://{address}/admin/fault?mode=none");
    client.post(off).send().await.unwrap();
    assert_eq!(get(&address, "/admin/fault").await.1, "none\n");
}

#[tokio::test]
async fn an_unknown_drill_mode_is_400() {
    let address = start("").await;
    let response = reqwest::Client::new()
        .post(format!("http://{address}/admin/fault?mode=explode"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "unknown mode \"explode\"; use slow, failing or none\n"
    );
}

#[tokio::test]
async fn error_counters_exist_at_zero_before_the_first_error() {
    let address = start("").await;
    let (_, metrics) = get(&address, "/metrics").await;
    for handler in ["/", "/api/health", "/ws"] {
        let series = format!("demo_app_http_request_errors_total{{handler=\"{handler}\"}}");
        assert_eq!(sample(&metrics, &series), Some(0.0), "{metrics}");
    }
}
