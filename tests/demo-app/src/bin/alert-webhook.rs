//! `alert-webhook`: a local Alertmanager webhook receiver for the demo. It prints every
//! notification as one line on stdout and serves the ones it kept at `GET /received`, so a
//! person watching the demo and the end-to-end test see the same thing.

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};

/// Flags of the webhook receiver.
#[derive(Parser, Debug)]
#[command(name = "alert-webhook", version, about)]
struct Options {
    /// Address to listen on.
    #[arg(long = "web.listen-address", default_value = "127.0.0.1:9095")]
    listen_address: SocketAddr,

    /// Notifications kept for `GET /received`; older ones are dropped (they were printed).
    #[arg(long = "received.keep", default_value_t = 1000)]
    keep: usize,
}

#[derive(Default)]
struct Received {
    kept: VecDeque<Value>,
    total: u64,
}

struct AppState {
    received: Mutex<Received>,
    keep: usize,
}

fn main() -> ExitCode {
    let options = Options::parse();
    demo_app::main_with(serve(options), "alert-webhook")
}

async fn serve(options: Options) -> std::io::Result<()> {
    let state = Arc::new(AppState {
        received: Mutex::new(Received::default()),
        keep: options.keep.max(1),
    });
    let app = Router::new()
        .route("/received", get(received))
        .fallback(notify)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(options.listen_address).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            use tokio::signal::unix::{signal, SignalKind};
            if let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
        })
        .await
}

/// `GET /received`: `{"total": N, "notifications": [...]}`, oldest first, each the payload
/// Alertmanager posted plus the `path` it was posted to.
async fn received(State(state): State<Arc<AppState>>) -> Json<Value> {
    let received = state.received.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({"total": received.total, "notifications": received.kept}))
}

/// `POST` on any other path: one Alertmanager notification (webhook payload version 4).
async fn notify(
    State(state): State<Arc<AppState>>,
    uri: axum::http::Uri,
    method: axum::http::Method,
    body: Bytes,
) -> Response {
    if method != axum::http::Method::POST {
        let reason = "post Alertmanager notifications here; GET /received lists them\n";
        return (StatusCode::METHOD_NOT_ALLOWED, reason).into_response();
    }
    let mut payload: Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(error) => {
            let reason = format!("body is not JSON: {error}\n");
            return (StatusCode::BAD_REQUEST, reason).into_response();
        }
    };
    if !payload.get("alerts").is_some_and(Value::is_array) {
        let reason = "not an Alertmanager notification: no `alerts` array\n";
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    // A closed terminal must not take the receiver down: the notification is still kept.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        summary(uri.path(), &payload)
    );
    payload["path"] = Value::String(uri.path().to_string());
    let mut received = state.received.lock().unwrap_or_else(|e| e.into_inner());
    received.total += 1;
    if received.kept.len() >= state.keep {
        received.kept.pop_front();
    }
    received.kept.push_back(payload);
    StatusCode::OK.into_response()
}

/// One line: the receiver, the group's status and each alert with its status and labels.
fn summary(path: &str, payload: &Value) -> String {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let alerts: Vec<String> = payload["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|alert| {
            let labels = alert.get("labels").and_then(Value::as_object);
            let name = labels
                .and_then(|l| l.get("alertname"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let rest: Vec<String> = labels
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            format!("{}:{name}{{{}}}", text(alert, "status"), rest.join(","))
        })
        .collect();
    format!(
        "receiver={} status={} path={path} alerts={}",
        text(payload, "receiver"),
        text(payload, "status"),
        alerts.join(" ")
    )
}
