//! A small web application for the toolkit's demo and end-to-end tests to monitor: pages with a
//! form and a button, a JSON API, a WebSocket echo, request metrics for the SLOs, and an admin
//! switch that makes it slow or failing for a while, for fault drills.

mod fault;
mod pages;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use fault::{Fault, FaultSwitch};

/// The body of each of the crate's binaries: logs to stderr, runs `serve` on a new runtime and
/// turns its error into a log line and a failing exit code.
pub fn main_with(serve: impl Future<Output = std::io::Result<()>>, name: &str) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "{name} failed");
            ExitCode::FAILURE
        }
    }
}

/// Flags of the demo application.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "demo-app", version, about)]
pub struct Options {
    /// Address to listen on.
    #[arg(long = "web.listen-address", default_value = "127.0.0.1:8080")]
    pub listen_address: SocketAddr,

    /// An HTML fragment put in the head of every page, such as the rum-gateway snippet.
    #[arg(long = "rum.snippet-file")]
    pub rum_snippet_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    handler: String,
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabels {
    handler: String,
}

/// What the handlers share.
pub struct AppState {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    errors: Family<HandlerLabels, Counter>,
    duration: Family<HandlerLabels, Histogram>,
    fault: FaultSwitch,
    snippet: String,
}

impl AppState {
    pub fn new(snippet: String) -> AppState {
        let mut registry = Registry::with_prefix("demo_app");
        let requests = Family::<RequestLabels, Counter>::default();
        let errors = Family::<HandlerLabels, Counter>::default();
        let duration = Family::<HandlerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_errors",
            "HTTP requests answered with a 5xx status",
            errors.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            duration.clone(),
        );
        // Every route's error counter exists from the start at 0, so an error ratio over it is
        // 0 rather than absent before the first error (an absent series would leave the SLO
        // without data until the first fault).
        for handler in ROUTES {
            let _zero = errors.get_or_create(&HandlerLabels {
                handler: handler.to_string(),
            });
        }
        let fault = FaultSwitch::default();
        fault.register(&mut registry);
        AppState {
            registry,
            requests,
            errors,
            duration,
            fault,
            snippet,
        }
    }
}

/// The measured routes, as the `handler` label shows them.
const ROUTES: [&str; 8] = [
    "/",
    "/form",
    "/join",
    "/slow-reveal",
    "/throws",
    "/api/items",
    "/api/health",
    "/ws",
];

/// The application's routes around `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let [home, form, join, slow_reveal, throws, api_items, api_health, ws] = ROUTES;
    let app = Router::new()
        .route(home, get(pages::home))
        .route(form, get(pages::form))
        .route(join, post(pages::join))
        .route(slow_reveal, get(pages::slow_reveal))
        .route(throws, get(pages::throws))
        .route(api_items, get(items))
        .route(
            api_health,
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(ws, get(websocket))
        .layer(middleware::from_fn_with_state(state.clone(), faults))
        .layer(middleware::from_fn_with_state(state.clone(), measure));
    // The admin switch and the metrics stay healthy whatever the fault, so a drill can end.
    Router::new()
        .route("/metrics", get(metrics))
        .route("/admin/fault", get(fault::show).post(fault::set))
        .merge(app)
        .with_state(state)
}

/// Serves the application until SIGINT or SIGTERM.
pub async fn serve(options: Options) -> std::io::Result<()> {
    let snippet = match &options.rum_snippet_file {
        Some(path) => std::fs::read_to_string(path)?,
        None => String::new(),
    };
    let state = Arc::new(AppState::new(snippet));
    let listener = tokio::net::TcpListener::bind(options.listen_address).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

async fn measure(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("not_found", MatchedPath::as_str)
        .to_string();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HandlerLabels {
        handler: handler.clone(),
    };
    state
        .duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    if response.status().is_server_error() {
        state.errors.get_or_create(&labels).inc();
    }
    let code = response.status().as_u16().to_string();
    state
        .requests
        .get_or_create(&RequestLabels {
            handler,
            method,
            code,
        })
        .inc();
    response
}

async fn faults(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    match state.fault.current() {
        Fault::None => next.run(request).await,
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::Failing => (
            StatusCode::SERVICE_UNAVAILABLE,
            "failing on purpose (fault drill)\n",
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut body, &state.registry);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn items() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "items": [
            {"id": 1, "name": "headset", "price": 59.0},
            {"id": 2, "name": "webcam", "price": 89.0},
            {"id": 3, "name": "microphone", "price": 129.0}
        ]
    }))
}

async fn websocket(upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(echo)
}

/// Echoes every text message; `{"type":"ping"}` also gets `{"type":"pong"}`.
async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(text) if text.contains("\"ping\"") => {
                Message::Text("{\"type\":\"pong\"}".into())
            }
            Message::Text(text) => Message::Text(text),
            Message::Binary(bytes) => Message::Binary(bytes),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
