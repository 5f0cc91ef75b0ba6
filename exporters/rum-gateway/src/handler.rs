//! The HTTP side of the intakes: checks in order of cost (origin, bot, rate, key, size),
//! then parse, app checks, idempotency, record. Every refusal is a 4xx with a one-line
//! reason, counted in `rum_beacons_rejected_total{reason}`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use exporter_kit::axum::body::Body;
use exporter_kit::axum::extract::{ConnectInfo, Request};
use exporter_kit::axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use exporter_kit::axum::response::{IntoResponse, Response};
use exporter_kit::axum::routing::{get, post, MethodRouter};

use crate::config::Config;
use crate::gateway::{Gateway, RequestInfo};
use crate::intake::{self, ParseError, Parsed};
use crate::protect::{body, clientip, cors, ratelimit};
use crate::useragent;

/// Request headers the SDKs send, named once instead of parsed on every lookup.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The `Etag` of the one central configuration served to Elastic's RUM agent: empty.
const ELASTIC_CONFIG_ETAG: &str = "\"rum-gateway-empty\"";
/// How long the RUM agent's browser may cache that configuration.
const ELASTIC_CONFIG_MAX_AGE: &str = "max-age=300";

/// Longest `Idempotency-Key` remembered; longer ones are ignored.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// The intakes, each with its parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    Faro,
    Beacon,
    Elastic,
    Webrtc,
}

impl Intake {
    pub fn label(self) -> &'static str {
        match self {
            Intake::Faro => "faro",
            Intake::Beacon => "beacon",
            Intake::Elastic => "elastic",
            Intake::Webrtc => "webrtc",
        }
    }

    fn parse(self, body: &[u8], max_items: usize) -> Result<Parsed<'_>, ParseError> {
        match self {
            Intake::Faro => intake::faro::parse(body, max_items),
            Intake::Beacon => intake::beacon::parse(body, max_items),
            Intake::Elastic => intake::elastic::parse(body, max_items),
            Intake::Webrtc => intake::webrtc::parse(body, max_items),
        }
    }
}

/// Every intake route: `(path, router)`, with the paths of `config`.
pub fn routes(gateway: &Arc<Gateway>, config: &Config) -> Vec<(String, MethodRouter)> {
    let p = &config.paths;
    let table = [
        (p.faro.clone(), Intake::Faro),
        (format!("{}/{{app_key}}", p.faro), Intake::Faro),
        (p.beacon.clone(), Intake::Beacon),
        (p.elastic_v2.clone(), Intake::Elastic),
        (p.elastic_v3.clone(), Intake::Elastic),
        (p.webrtc.clone(), Intake::Webrtc),
    ];
    let mut routes: Vec<(String, MethodRouter)> = table
        .into_iter()
        .map(|(path, intake)| {
            let (g1, g2) = (gateway.clone(), gateway.clone());
            let router = post(move |req: Request| handle(g1.clone(), intake, req))
                .options(move |req: Request| preflight(g2.clone(), req));
            (path, router)
        })
        .collect();
    let (g1, g2) = (gateway.clone(), gateway.clone());
    let router = get(move |req: Request| elastic_config(g1.clone(), req))
        .options(move |req: Request| preflight(g2.clone(), req));
    routes.push((p.elastic_config.clone(), router));
    routes
}

/// Elastic's RUM agent with `centralConfig: true` asks for its configuration at start; the
/// gateway has none to give, so it answers an empty one (as APM Server does for a service
/// without one) instead of a 404 the agent would log, with the `Etag` the agent sends back
/// as `?ifnonematch=` to get a 304. A plain `GET` without custom headers needs no preflight.
/// Not a beacon: counted only by the kit's request metrics.
async fn elastic_config(gateway: Arc<Gateway>, req: Request) -> Response {
    let config = gateway.current();
    let origin = header_str(req.headers(), header::ORIGIN);
    if origin.is_some_and(|o| !cors::allowed(o, &config.cors.allowed_origins)) {
        return respond(origin_not_allowed(), None);
    }
    let tag = ELASTIC_CONFIG_ETAG.trim_matches('"');
    let cached = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.strip_prefix("ifnonematch=") == Some(tag))
    }) || header_str(req.headers(), header::IF_NONE_MATCH)
        == Some(ELASTIC_CONFIG_ETAG);
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let json = [(header::CONTENT_TYPE, "application/json")];
        (StatusCode::OK, json, "{}").into_response()
    };
    let h = response.headers_mut();
    set(h, "etag", ELASTIC_CONFIG_ETAG);
    set(h, "cache-control", ELASTIC_CONFIG_MAX_AGE);
    if let Some(origin) = origin {
        add_cors(h, origin);
    }
    response
}

/// A refusal: status, counted reason, one-line detail.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

fn refuse(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason,
        detail: detail.into(),
        retry_after: None,
    }
}

/// The refusal of a request from an origin `cors.allowed_origins` does not list.
fn origin_not_allowed() -> Refusal {
    refuse(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "origin is not in cors.allowed_origins",
    )
}

async fn preflight(gateway: Arc<Gateway>, req: Request) -> Response {
    let config = gateway.current();
    let origin = header_str(req.headers(), header::ORIGIN).map(str::to_string);
    match origin {
        Some(origin) if cors::allowed(&origin, &config.cors.allowed_origins) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            add_cors(h, &origin);
            let mut allowed = cors::ALLOWED_HEADERS.to_string();
            for extra in &config.cors.extra_allowed_headers {
                allowed.push_str(", ");
                allowed.push_str(extra);
            }
            set(h, "access-control-allow-headers", &allowed);
            set(h, "access-control-allow-methods", cors::ALLOWED_METHODS);
            let max_age = config.cors.max_age.map_or(3600, |d| d.as_secs());
            set(h, "access-control-max-age", &max_age.to_string());
            response
        }
        _ => {
            gateway.metrics.reject("origin_not_allowed");
            let refusal = origin_not_allowed();
            respond(refusal, None)
        }
    }
}

async fn handle(gateway: Arc<Gateway>, intake: Intake, req: Request) -> Response {
    gateway.metrics.count_received(intake.label());
    let config = gateway.current();
    let origin = header_str(req.headers(), header::ORIGIN)
        .filter(|o| cors::allowed(o, &config.cors.allowed_origins))
        .map(str::to_string);
    match process(&gateway, &config, intake, req).await {
        Ok(()) => {
            let mut response = (StatusCode::ACCEPTED, "ok\n").into_response();
            if let Some(origin) = &origin {
                add_cors(response.headers_mut(), origin);
            }
            response
        }
        Err(refusal) => {
            gateway.metrics.reject(refusal.reason);
            tracing::debug!(intake = intake.label(), reason = refusal.reason, detail = %refusal.detail, "request refused");
            respond(refusal, origin.as_deref())
        }
    }
}

async fn process(
    gateway: &Gateway,
    config: &Arc<Config>,
    intake: Intake,
    req: Request,
) -> Result<(), Refusal> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    if let Some(origin) = header_str(headers, header::ORIGIN) {
        if !cors::allowed(origin, &config.cors.allowed_origins) {
            return Err(origin_not_allowed());
        }
    }
    let user_agent = header_str(headers, header::USER_AGENT).unwrap_or("");
    let agent = gateway
        .agents
        .classify(config, user_agent, &gateway.metrics);
    if config.bots.enabled && agent.bot {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "bot",
            "user agent is a bot or headless browser",
        ));
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = clientip::client_ip(peer, headers, &config.trusted_proxies);
    let now = Instant::now();
    limit(
        &gateway.ip_limiter,
        &client,
        config.limits.per_ip,
        config,
        now,
        "rate_limited_ip",
    )?;
    let key = presented_key(&parts.uri, headers, &config.paths.faro);
    check_key_before_body(config, key.as_deref())?;

    let bytes = read_body(config, headers, body).await?;
    let parsed = intake
        .parse(&bytes, config.limits.max_items_per_request)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.reason(), e.to_string()))?;
    for reason in &parsed.refused {
        gateway.metrics.reject(reason);
    }
    check_apps(gateway, config, &parsed, key.as_deref(), now)?;

    if let Some(idem) = header_str(headers, IDEMPOTENCY_KEY)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
    {
        let limits = &config.limits;
        if !gateway.idempotency.insert(
            idem,
            now,
            limits.idempotency_ttl,
            limits.max_idempotency_keys,
        ) {
            gateway.metrics.count_dedup("idempotency_key");
            return Ok(());
        }
    }
    let country = match &config.country_header {
        Some(name) if clientip::is_trusted(peer, &config.trusted_proxies) => {
            useragent::country(header_str(headers, name.as_str()))
        }
        _ => useragent::country(None),
    };
    gateway.accept(config, &parsed.items, &RequestInfo { agent, country });
    Ok(())
}

fn limit<K, Q>(
    limiter: &ratelimit::Limiter<K>,
    key: &Q,
    rate: crate::config::Rate,
    config: &Config,
    now: Instant,
    reason: &'static str,
) -> Result<(), Refusal>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    limiter
        .check(key, rate, config.limits.max_tracked_ips, now)
        .map_err(|wait| Refusal {
            retry_after: Some(ratelimit::retry_after_secs(wait)),
            ..refuse(
                StatusCode::TOO_MANY_REQUESTS,
                reason,
                "rate limit exceeded, retry later",
            )
        })
}

/// The API key a request presents: `x-api-key`, the `/collect/{key}` segment, or the
/// `api_key` query parameter (all `sendBeacon` can carry).
fn presented_key(
    uri: &exporter_kit::axum::http::Uri,
    headers: &HeaderMap,
    faro_path: &str,
) -> Option<String> {
    if let Some(key) = header_str(headers, X_API_KEY) {
        return Some(key.to_string());
    }
    let query_key = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("api_key="))
            .map(str::to_string)
    });
    query_key.or_else(|| {
        let key = uri.path().strip_prefix(faro_path)?.strip_prefix('/')?;
        (!key.is_empty()).then(|| key.to_string())
    })
}

/// Before reading the body: a presented key must belong to some app, and when every app
/// has a key, a key must be presented.
fn check_key_before_body(config: &Config, key: Option<&str>) -> Result<(), Refusal> {
    let keys: Vec<&str> = config
        .apps
        .values()
        .filter_map(|a| a.api_key.as_ref().map(|k| k.expose()))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let all_keyed = keys.len() == config.apps.len();
    match key {
        Some(k) if keys.iter().any(|known| constant_time_eq(known, k)) => Ok(()),
        Some(_) if all_keyed => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "API key is not valid",
        )),
        None if all_keyed => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "an API key is required",
        )),
        _ => Ok(()),
    }
}

/// After parsing: every app named is known (when apps are listed), well-formed, given
/// its own key if it has one, and within its rate.
fn check_apps(
    gateway: &Gateway,
    config: &Config,
    parsed: &Parsed<'_>,
    key: Option<&str>,
    now: Instant,
) -> Result<(), Refusal> {
    let mut apps: Vec<&str> = parsed.items.iter().map(|i| &*i.app).collect();
    apps.sort_unstable();
    apps.dedup();
    for app in &apps {
        if !crate::pages::valid_app_name(app) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_app",
                "app names are 1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        if !config.apps.is_empty() {
            let Some(settings) = config.apps.get(*app) else {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    "unknown_app",
                    "app is not in the configured apps",
                ));
            };
            if let Some(expected) = &settings.api_key {
                if !key.is_some_and(|k| constant_time_eq(expected.expose(), k)) {
                    return Err(refuse(
                        StatusCode::UNAUTHORIZED,
                        "invalid_api_key",
                        "API key is not the app's key",
                    ));
                }
            }
        }
    }
    for app in apps {
        limit(
            &gateway.app_limiter,
            app,
            config.limits.per_app,
            config,
            now,
            "rate_limited_app",
        )?;
    }
    Ok(())
}

async fn read_body(
    config: &Config,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<bytes::Bytes, Refusal> {
    let max = config.limits.max_body_bytes.as_usize();
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let to_refusal = |e: body::BodyError| {
        let status = match e {
            body::BodyError::TooLarge(_) | body::BodyError::InflatedTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            body::BodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            body::BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        refuse(status, e.reason(), e.to_string())
    };
    if declared.is_some_and(|n| n > max as u64) {
        body::drain(&mut body).await;
        return Err(to_refusal(body::BodyError::TooLarge(max)));
    }
    let raw = body::read(body, max, config.limits.body_read_timeout)
        .await
        .map_err(to_refusal)?;
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    body::decode(
        raw,
        encoding,
        config.limits.max_decompressed_bytes.as_usize(),
    )
    .map_err(to_refusal)
}

fn respond(refusal: Refusal, origin: Option<&str>) -> Response {
    let line = format!("{}: {}\n", refusal.reason, refusal.detail);
    let mut response = (refusal.status, line).into_response();
    let h = response.headers_mut();
    if let Some(secs) = refusal.retry_after {
        set(h, "retry-after", &secs.to_string());
    }
    if let Some(origin) = origin {
        add_cors(h, origin);
    }
    response
}

fn add_cors(h: &mut HeaderMap, origin: &str) {
    set(h, "access-control-allow-origin", origin);
    set(h, "access-control-allow-credentials", "true");
    set(h, "access-control-expose-headers", cors::EXPOSED_HEADERS);
    set(h, "vary", "Origin");
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        h.insert(name, value);
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
