//! HTTP checks: one request, a status code from a list, optionally a body matching a regex.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::Failure;
use crate::config::Check;

/// The most of a response body read for `body_regex`; the rest is not looked at.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One client for every check. Idle connections are not kept, so every run measures a fresh
/// connection, as a user arriving would; redirects are followed (at most 10).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("synthetic-journey/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Runs one HTTP check; `Ok` holds the status code of a passing run.
pub async fn run(client: &reqwest::Client, check: &Check) -> Result<u16, Failure> {
    let url = check
        .url
        .resolve()
        .map_err(|e| (None, format!("url: {e}")))?;
    let method = reqwest::Method::from_bytes(check.method.as_bytes())
        .map_err(|_| (None, "invalid method".to_string()))?;
    let mut request = client
        .request(method, &url)
        .headers(headers(check)?)
        .timeout(check.timeout);
    if let Some(body) = &check.body {
        request = request.body(body.resolve().map_err(|e| (None, format!("body: {e}")))?);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| (None, format!("request failed: {}", error_chain(&e))))?;
    let code = response.status().as_u16();
    if !check.expect_status.accepts(code) {
        return Err((Some(code), format!("unexpected status code {code}")));
    }
    if let Some(pattern) = &check.body_regex {
        let body = read_body(&mut response).await.map_err(|e| {
            (
                Some(code),
                format!("could not read the body: {}", error_chain(&e)),
            )
        })?;
        if !pattern.0.is_match(&String::from_utf8_lossy(&body)) {
            return Err((
                Some(code),
                format!("body does not match {:?}", pattern.0.as_str()),
            ));
        }
    }
    Ok(code)
}

/// Resolves the configured headers; a value from a secret never appears in the error.
pub fn headers(check: &Check) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for (name, value) in &check.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| (None, format!("invalid header name {name:?}")))?;
        let value = value
            .resolve()
            .map_err(|e| (None, format!("header {name}: {e}")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| (None, format!("header {name}: invalid value")))?;
        map.insert(name, value);
    }
    Ok(map)
}

async fn read_body(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(body)
}

/// reqwest's top-level message ("error sending request") hides the cause; name every layer.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
