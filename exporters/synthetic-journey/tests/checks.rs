//! HTTP and WebSocket checks against servers this test starts on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use exporter_kit::axum::{self, routing::get, Router};
use futures_util::{SinkExt, StreamExt};
use synthetic_journey::checks::Checker;
use synthetic_journey::config::Check;
use synthetic_journey::metrics::CheckOutcome;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

async fn http_server() -> SocketAddr {
    let app = Router::new()
        .route("/health", get(|| async { r#"{"status": "ok"}"# }))
        .route(
            "/broken",
            get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/echo-auth",
            get(|headers: axum::http::HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string());
                auth.unwrap_or_default()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// Answers "pong" to "ping", echoes anything else.
async fn websocket_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(Message::Text(text))) = socket.next().await {
                    let reply = if text.as_str().contains("ping") {
                        "pong".into()
                    } else {
                        text
                    };
                    if socket.send(Message::Text(reply)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// Runs the check described by `yaml` once.
async fn run_check(yaml: &str) -> CheckOutcome {
    let check: Check = serde_yaml::from_str(yaml).unwrap();
    Checker::new().unwrap().run(&check).await
}

#[tokio::test]
async fn an_http_check_passes_on_the_expected_status_and_body() {
    let address = http_server().await;
    let outcome = run_check(&format!(
        "{{name: health, kind: http, url: 'http://{address}/health', expect_status: [200], body_regex: '\"status\": \"ok\"'}}"
    )).await;
    assert!(outcome.success, "{:?}", outcome.reason);
    assert_eq!(outcome.status_code, Some(200));
    assert!(outcome.duration > Duration::ZERO);
}

#[tokio::test]
async fn an_http_check_fails_on_an_unexpected_status_and_says_so() {
    let address = http_server().await;
    let outcome = run_check(&format!(
        "{{name: b, kind: http, url: 'http://{address}/broken'}}"
    ))
    .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status_code, Some(503));
    assert_eq!(
        outcome.reason.as_deref(),
        Some("unexpected status code 503")
    );
}

#[tokio::test]
async fn an_http_check_fails_when_the_body_does_not_match() {
    let address = http_server().await;
    let outcome = run_check(&format!(
        "{{name: h, kind: http, url: 'http://{address}/health', body_regex: 'degraded'}}"
    ))
    .await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("body does not match \"degraded\"")
    );
}

#[tokio::test]
async fn an_http_check_is_bounded_by_its_timeout() {
    let address = http_server().await;
    let outcome = run_check(&format!(
        "{{name: s, kind: http, url: 'http://{address}/slow', timeout: 300ms}}"
    ))
    .await;
    assert!(!outcome.success);
    assert!(
        outcome.duration < Duration::from_secs(3),
        "{:?}",
        outcome.duration
    );
    assert_eq!(outcome.status_code, None);
}

#[tokio::test]
async fn an_http_check_with_nobody_listening_fails_with_the_cause() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let outcome = run_check(&format!(
        "{{name: gone, kind: http, url: 'http://{address}/'}}"
    ))
    .await;
    assert!(!outcome.success);
    let reason = outcome.reason.unwrap();
    assert!(reason.starts_with("request failed:"), "{reason}");
}

#[tokio::test]
async fn header_secrets_are_read_at_run_time_and_kept_out_of_errors() {
    let address = http_server().await;
    std::env::set_var("SJ_CHECK_TEST_TOKEN", "t0ken");
    let outcome = run_check(&format!(
        "{{name: a, kind: http, url: 'http://{address}/echo-auth', body_regex: '^Bearer t0ken$', headers: {{Authorization: 'Bearer ${{env:SJ_CHECK_TEST_TOKEN}}'}}}}"
    )).await;
    assert!(outcome.success, "{:?}", outcome.reason);

    let outcome = run_check(&format!(
        "{{name: a, kind: http, url: 'http://{address}/echo-auth', headers: {{Authorization: 'Bearer ${{env:SJ_CHECK_TEST_UNSET}}'}}}}"
    )).await;
    assert_eq!(
        outcome.reason.as_deref(),
        Some("header authorization: environment variable SJ_CHECK_TEST_UNSET is not set")
    );
}

#[tokio::test]
async fn a_websocket_check_passes_when_the_reply_arrives() {
    let address = websocket_server().await;
    let outcome = run_check(&format!(
        "{{name: ws, kind: websocket, url: 'ws://{address}/', send: ['{{\"type\":\"ping\"}}'], expect: pong}}"
    )).await;
    assert!(outcome.success, "{:?}", outcome.reason);
    assert_eq!(outcome.status_code, Some(101));
}

#[tokio::test]
async fn a_websocket_check_fails_when_the_reply_never_comes() {
    let address = websocket_server().await;
    let outcome = run_check(&format!(
        "{{name: ws, kind: websocket, url: 'ws://{address}/', send: [hello], expect: pong, timeout: 500ms}}"
    )).await;
    assert!(!outcome.success);
    assert_eq!(outcome.reason.as_deref(), Some("timed out after 500ms"));
}

#[tokio::test]
async fn a_websocket_check_against_a_plain_http_server_fails_with_its_status() {
    let address = http_server().await;
    let outcome = run_check(&format!(
        "{{name: ws, kind: websocket, url: 'ws://{address}/health'}}"
    ))
    .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status_code, Some(200));
}
