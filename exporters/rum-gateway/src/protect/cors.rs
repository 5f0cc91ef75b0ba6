//! CORS: an allow-list of origins (`*`, exact, or `scheme://*.domain` for any subdomain),
//! and the headers the browser SDKs need allowed and exposed.

/// Request headers the SDKs send: Faro (session, key, gzip, idempotency, tracing), Elastic
/// and Grafana Cloud's tenant header.
pub const ALLOWED_HEADERS: &str = "content-type, content-encoding, x-api-key, \
    x-faro-session-id, traceparent, x-scope-orgid, idempotency-key";
/// Response headers the SDKs must be able to read: back-off, Faro session status, and the
/// `Etag` of Elastic's central configuration.
pub const EXPOSED_HEADERS: &str = "Retry-After, X-Faro-Session-Status, Etag";
/// Methods of the intakes (`POST`) and of Elastic's central configuration (`GET`).
pub const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";

/// Checks an `allowed_origins` entry.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern == "*" {
        return Ok(());
    }
    let Some((scheme, host)) = pattern.split_once("://") else {
        return Err(format!(
            "origin {pattern:?} must look like https://host or https://*.domain"
        ));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!("origin {pattern:?} must use http or https"));
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    if host.is_empty() || host.contains(['/', '*', '?', '#']) {
        return Err(format!(
            "origin {pattern:?} may hold '*' only as its first label and no path"
        ));
    }
    Ok(())
}

/// Whether `origin` (the request's `Origin` header) is allowed by one of `patterns`.
pub fn allowed(origin: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| matches(origin, p))
}

fn matches(origin: &str, pattern: &str) -> bool {
    if pattern == "*" || origin.eq_ignore_ascii_case(pattern) {
        return true;
    }
    let Some((scheme, host)) = pattern.split_once("://") else {
        return false;
    };
    let Some(domain) = host.strip_prefix("*.") else {
        return false;
    };
    let Some(origin_host) = origin
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"))
    else {
        return false;
    };
    let Some(sub) = origin_host
        .len()
        .checked_sub(domain.len() + 1)
        .and_then(|cut| origin_host.get(..cut).zip(origin_host.get(cut..)))
    else {
        return false;
    };
    let (label, rest) = sub;
    !label.is_empty()
        && rest.len() == domain.len() + 1
        && rest.starts_with('.')
        && rest[1..].eq_ignore_ascii_case(domain)
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_origins_and_wildcard_subdomains_are_allowed() {
        let patterns = list(&["https://shop.example", "https://*.example.org"]);
        assert!(allowed("https://shop.example", &patterns));
        assert!(allowed("https://a.example.org", &patterns));
        assert!(allowed("https://a.b.example.org", &patterns));
        assert!(!allowed("https://example.org", &patterns));
        assert!(!allowed("http://a.example.org", &patterns));
        assert!(!allowed("https://evil-example.org", &patterns));
        assert!(!allowed("https://a.example.org.evil.net", &patterns));
        assert!(!allowed("https://shop.example.evil", &patterns));
    }

    #[test]
    fn patterns_are_checked() {
        assert!(check_pattern("https://*.example.org").is_ok());
        assert!(check_pattern("*").is_ok());
        assert!(check_pattern("example.org").is_err());
        assert!(check_pattern("https://a.*.org").is_err());
        assert!(check_pattern("https://a.org/path").is_err());
    }
}
