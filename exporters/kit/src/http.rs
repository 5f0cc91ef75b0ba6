//! The kit's endpoints (`/`, `/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`) and the
//! layers around every endpoint: basic auth and request metrics.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::app::FinalScrape;
use crate::config::Config;
use crate::metrics::{self, HandlerLabels, KitMetrics, RequestLabels};
use crate::reload::Reloader;
use crate::webconfig::WebConfig;
use crate::ExporterInfo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use tower::{Layer, Service};

/// The one endpoint that answers without credentials, so orchestrators can check liveness.
const UNAUTHENTICATED_PATH: &str = "/-/healthy";

/// A link on the landing page.
#[derive(Debug, Clone)]
pub struct Link {
    pub path: String,
    pub text: String,
}

/// HTML an exporter adds to the landing page, made fresh on every visit.
pub type LandingSection = Arc<dyn Fn() -> String + Send + Sync>;

/// What the kit's handlers read.
pub struct KitState<C> {
    pub info: ExporterInfo,
    pub registry: Registry,
    pub reloader: Arc<Reloader<C>>,
    pub ready: Arc<AtomicBool>,
    pub links: Vec<Link>,
    pub sections: Vec<LandingSection>,
    pub config_source: String,
    pub(crate) final_scrape: FinalScrape,
}

/// The kit's routes merged with the exporter's, wrapped in auth and metrics layers.
pub fn router<C: Config>(
    state: Arc<KitState<C>>,
    exporter_routes: Router,
    web: watch::Receiver<WebConfig>,
    metrics: KitMetrics,
) -> Router {
    let kit_routes = Router::new()
        .route("/", get(landing::<C>))
        .route("/metrics", get(metrics_handler::<C>))
        .route("/-/healthy", get(|| async { "Healthy.\n" }))
        .route("/-/ready", get(ready::<C>))
        .route(
            "/-/reload",
            axum::routing::post(reload::<C>).put(reload::<C>),
        )
        .with_state(state);
    kit_routes
        .merge(exporter_routes)
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(GuardLayer {
            shared: Arc::new(GuardShared {
                web,
                series: RequestSeries::new(metrics),
            }),
        })
}

async fn landing<C: Config>(State(state): State<Arc<KitState<C>>>) -> Html<String> {
    let info = &state.info;
    let mut links = vec![
        ("/metrics", "Metrics"),
        ("/-/healthy", "Health"),
        ("/-/ready", "Readiness"),
    ];
    links.extend(
        state
            .links
            .iter()
            .map(|l| (l.path.as_str(), l.text.as_str())),
    );
    let items: String = links
        .iter()
        .map(|(path, text)| {
            format!(
                "<li><a href=\"{}\">{}</a></li>\n",
                escape(path),
                escape(text)
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title></head>\n\
         <body><h1>{name}</h1>\n<p>Version {version}, revision {revision}, {rustc}.</p>\n\
         <p>Configuration: {config}. Reload with <code>POST /-/reload</code> or SIGHUP.</p>\n\
         <ul>\n{items}</ul>\n{sections}</body></html>\n",
        name = escape(info.name),
        version = escape(info.build.version),
        revision = escape(info.build.revision),
        rustc = escape(info.build.rustc_version),
        config = escape(&state.config_source),
        sections = state
            .sections
            .iter()
            .map(|section| section())
            .collect::<String>(),
    ))
}

async fn metrics_handler<C: Config>(
    State(state): State<Arc<KitState<C>>>,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = metrics::encode(&state.registry, accept);
    tracing::debug!(content_type, bytes = body.len(), "scrape");
    if state.final_scrape.waiting.load(Ordering::Relaxed) {
        state.final_scrape.answered.notify_one();
    }
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn ready<C: Config>(State(state): State<Arc<KitState<C>>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Not ready.\n").into_response()
    }
}

/// A failed reload answers 500, as Prometheus does, so `curl -f` in a deploy script fails.
async fn reload<C: Config>(State(state): State<Arc<KitState<C>>>) -> Response {
    match state.reloader.reload().await {
        Ok(()) => (StatusCode::OK, "configuration reloaded\n").into_response(),
        Err(errors) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("configuration reload failed, keeping the previous one:\n{errors}\n"),
        )
            .into_response(),
    }
}

/// Basic auth and request metrics around every endpoint, as one layer: the intake paths
/// of an exporter such as rum-gateway see tens of thousands of requests a second, and two
/// `from_fn` middlewares cost a boxed future and a service clone each per request.
#[derive(Clone)]
struct GuardLayer {
    shared: Arc<GuardShared>,
}

struct GuardShared {
    web: watch::Receiver<WebConfig>,
    series: RequestSeries,
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
struct Guard<S> {
    inner: S,
    shared: Arc<GuardShared>,
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let handler = request.extensions().get::<MatchedPath>().cloned();
        let shared = self.shared.clone();
        let auth = shared.web.borrow().auth.clone();
        let needs_auth = auth.is_some() && request.uri().path() != UNAUTHENTICATED_PATH;
        if !needs_auth {
            // The inner future owns what it needs, so it starts here without a clone.
            let answer = self.inner.call(request);
            return Box::pin(async move {
                let Ok(response) = answer.await;
                shared.series.record(handler.as_ref(), &response, started);
                Ok(response)
            });
        }
        // Checking credentials waits, so the ready service goes with the future and a
        // clone stays behind for the next request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = match (auth, basic_credentials(request.headers())) {
                (Some(auth), Some((user, password))) => {
                    // bcrypt takes tens of milliseconds by design; keep it off the async workers.
                    let valid = tokio::task::spawn_blocking(move || auth.check(&user, &password))
                        .await
                        .unwrap_or(false);
                    if valid {
                        let Ok(response) = inner.call(request).await;
                        response
                    } else {
                        unauthorized()
                    }
                }
                _ => unauthorized(),
            };
            shared.series.record(handler.as_ref(), &response, started);
            Ok(response)
        })
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic")],
        "Unauthorized\n",
    )
        .into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The duration histogram and per-code request counters of each handler, resolved once: a
/// request then costs one hash of the handler's name and no allocation. Handlers are route
/// templates and codes are HTTP statuses, so the table is bounded by the routes.
struct RequestSeries {
    metrics: KitMetrics,
    table: RwLock<HashMap<String, HandlerSeries>>,
}

struct HandlerSeries {
    duration: Histogram,
    requests: Vec<(u16, Counter)>,
}

impl RequestSeries {
    fn new(metrics: KitMetrics) -> RequestSeries {
        RequestSeries {
            metrics,
            table: RwLock::new(HashMap::new()),
        }
    }

    fn record(&self, handler: Option<&MatchedPath>, response: &Response, started: Instant) {
        let handler = handler.map_or("not_found", MatchedPath::as_str);
        let code = response.status().as_u16();
        let seconds = started.elapsed().as_secs_f64();
        {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            if let Some(series) = table.get(handler) {
                if let Some((_, requests)) = series.requests.iter().find(|(c, _)| *c == code) {
                    requests.inc();
                    series.duration.observe(seconds);
                    return;
                }
            }
        }
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        let series = table
            .entry(handler.to_string())
            .or_insert_with(|| HandlerSeries {
                duration: self
                    .metrics
                    .request_duration
                    .get_or_create(&HandlerLabels {
                        handler: handler.to_string(),
                    })
                    .clone(),
                requests: Vec::new(),
            });
        let requests = match series.requests.iter().find(|(c, _)| *c == code) {
            Some((_, requests)) => requests.clone(),
            None => {
                let requests = self
                    .metrics
                    .requests
                    .get_or_create(&RequestLabels {
                        handler: handler.to_string(),
                        code: code.to_string(),
                    })
                    .clone();
                series.requests.push((code, requests.clone()));
                requests
            }
        };
        requests.inc();
        series.duration.observe(seconds);
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
