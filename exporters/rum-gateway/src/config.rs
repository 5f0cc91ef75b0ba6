//! The `--config.file` of rum-gateway: what it accepts, from whom, and how many series it may
//! make. Every field has a default, so an empty file is a working (open, CORS-less) gateway.

use std::collections::BTreeMap;
use std::time::Duration;

use exporter_kit::{Problems, Secret, Validate};
use ipnet::IpNet;
use serde::Deserialize;

use crate::bytesize::ByteSize;
use crate::names::{Dimension, Family};

/// The whole config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which web origins may send beacons from a browser.
    pub cors: Cors,
    /// Sizes, rates and windows that bound what one client or app can cost.
    pub limits: Limits,
    /// Peers (CIDR ranges) whose `X-Forwarded-For`/`X-Real-IP` headers are believed; for any
    /// other peer the client IP is the TCP peer address.
    pub trusted_proxies: Vec<IpNet>,
    /// A request header holding the client's ISO 3166 country code, set by a CDN in front
    /// (such as `CF-IPCountry`); believed only from a trusted proxy. Unset: country is `XX`.
    pub country_header: Option<String>,
    /// Intake paths; change them when ad blockers block the well-known ones. Read at start.
    pub paths: Paths,
    /// Route templates such as `/product/:id` or `/docs/*`, tried in order; the first match
    /// names the `page` label. Unmatched paths go through the `:id` fallback.
    pub routes: Vec<String>,
    /// Apps allowed to send, by name. Empty: any well-formed app name, up to `caps.max_apps`.
    pub apps: BTreeMap<String, App>,
    /// Which of `app`, `page`, `device`, `browser`, `country` each metric family carries.
    /// Families not named keep their default label set.
    pub labels: BTreeMap<String, Vec<Dimension>>,
    /// Cardinality caps.
    pub caps: Caps,
    /// Dropping traffic from bots and headless browsers.
    pub bots: Bots,
    /// Apdex target of `rum_page_load_seconds`; the buckets include it and 4 times it.
    #[serde(with = "humantime_serde")]
    pub page_load_apdex_target: Duration,
}

/// Cross-origin settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cors {
    /// Origins allowed to send, such as `https://shop.example`, or `https://*.example.org`
    /// for any subdomain. `*` allows every origin. Empty: no browser origin is allowed.
    pub allowed_origins: Vec<String>,
    /// Request headers allowed in addition to the ones the SDKs need.
    pub extra_allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer.
    #[serde(with = "humantime_serde")]
    pub max_age: Option<Duration>,
}

/// Limits on requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body as sent (compressed or not); larger ones get 413.
    pub max_body_bytes: ByteSize,
    /// Largest body after gzip decompression; larger ones get 413.
    pub max_decompressed_bytes: ByteSize,
    /// Most items (metrics, events, NDJSON lines, stats objects) in one request.
    pub max_items_per_request: usize,
    /// Time a client has to send the whole body; slower ones get 408.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Requests per second per client IP.
    pub per_ip: Rate,
    /// Requests per second per app.
    pub per_app: Rate,
    /// Most client IPs with a rate-limit bucket at once; beyond, new IPs share one bucket.
    pub max_tracked_ips: usize,
    /// How long a re-reported web-vitals metric (same `id`) may replace the earlier value
    /// before it is observed.
    #[serde(with = "humantime_serde")]
    pub rereport_window: Duration,
    /// Most metrics waiting out their re-report window; beyond, the oldest is observed early.
    pub max_pending_metrics: usize,
    /// How long an `Idempotency-Key` is remembered, so SDK retries are not counted twice.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// Most `Idempotency-Key`s remembered; beyond, the oldest are forgotten.
    pub max_idempotency_keys: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: ByteSize(1 << 20),
            max_decompressed_bytes: ByteSize(5 << 20),
            max_items_per_request: 1000,
            body_read_timeout: Duration::from_secs(10),
            per_ip: Rate {
                rate: 50.0,
                burst: 100,
            },
            per_app: Rate {
                rate: 2000.0,
                burst: 4000,
            },
            max_tracked_ips: 100_000,
            rereport_window: Duration::from_secs(30),
            max_pending_metrics: 100_000,
            idempotency_ttl: Duration::from_secs(300),
            max_idempotency_keys: 100_000,
        }
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per second allowed on average.
    pub rate: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

/// Where each intake listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Grafana Faro; `<path>/{app_key}` is served too.
    pub faro: String,
    /// web-vitals beacons and the project's snippet.
    pub beacon: String,
    /// Elastic APM RUM, API v2.
    pub elastic_v2: String,
    /// Elastic APM RUM, API v3.
    pub elastic_v3: String,
    /// Elastic APM RUM central configuration (`GET`), answered with an empty configuration.
    pub elastic_config: String,
    /// WebRTC call-quality summaries.
    pub webrtc: String,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            faro: "/collect".into(),
            beacon: "/beacon".into(),
            elastic_v2: "/intake/v2/rum/events".into(),
            elastic_v3: "/intake/v3/rum/events".into(),
            elastic_config: "/config/v1/rum/agents".into(),
            webrtc: "/webrtc".into(),
        }
    }
}

/// One app.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct App {
    /// Key the app's pages must send (`x-api-key` header, `/collect/{key}` path, or
    /// `api_key` query parameter for `sendBeacon`). Unset: no key needed.
    pub api_key: Option<Secret>,
}

/// Cardinality caps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Caps {
    /// Distinct `page` values per app; later pages become `other`.
    pub max_pages_per_app: usize,
    /// Distinct `app` values when `apps` is empty; later apps become `other`.
    pub max_apps: usize,
    /// Series (each histogram bucket, `_sum` and `_count` counts as one) per metric family;
    /// new label sets beyond it fold into one set whose values are all `other`.
    pub max_series_per_family: usize,
    /// Path segments kept by the fallback; deeper paths end in `/*`.
    pub max_path_depth: usize,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            max_pages_per_app: 200,
            max_apps: 20,
            max_series_per_family: 20_000,
            max_path_depth: 4,
        }
    }
}

/// Bot filtering.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bots {
    /// Drop requests whose `User-Agent` contains one of `user_agent_patterns`.
    pub enabled: bool,
    /// Case-insensitive substrings that mark a bot or headless browser.
    #[serde(deserialize_with = "lowercase_list")]
    pub user_agent_patterns: Vec<String>,
}

impl Default for Bots {
    fn default() -> Bots {
        let patterns = [
            "bot",
            "crawl",
            "spider",
            "slurp",
            "headlesschrome",
            "lighthouse",
            "pagespeed",
            "phantomjs",
            "puppeteer",
            "playwright",
            "selenium",
            "python-requests",
            "go-http-client",
            "curl/",
            "wget/",
            "k6/",
        ];
        Bots {
            enabled: true,
            user_agent_patterns: patterns.iter().map(|p| p.to_string()).collect(),
        }
    }
}

/// Bot patterns are compared with the lowercased user agent; lowercase them once, here.
fn lowercase_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    Ok(list.into_iter().map(|p| p.to_ascii_lowercase()).collect())
}

impl Default for Config {
    fn default() -> Config {
        Config {
            cors: Cors::default(),
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            country_header: None,
            paths: Paths::default(),
            routes: Vec::new(),
            apps: BTreeMap::new(),
            labels: BTreeMap::new(),
            caps: Caps::default(),
            bots: Bots::default(),
            page_load_apdex_target: Duration::from_secs(3),
        }
    }
}

impl Config {
    /// The labels `family` carries, from the config or the family's default.
    pub fn dimensions(&self, family: Family) -> &[Dimension] {
        self.labels
            .get(family.name())
            .map_or(family.default_dimensions(), Vec::as_slice)
    }
}

impl Validate for Config {
    fn validate(&self, problems: &mut Problems) {
        for (i, origin) in self.cors.allowed_origins.iter().enumerate() {
            if let Err(message) = crate::protect::cors::check_pattern(origin) {
                problems.add(format!("cors.allowed_origins[{i}]"), message);
            }
        }
        self.limits.validate(problems);
        for (i, route) in self.routes.iter().enumerate() {
            if let Err(message) = crate::pages::check_template(route) {
                problems.add(format!("routes[{i}]"), message);
            }
        }
        for name in self.apps.keys() {
            if !crate::pages::valid_app_name(name) {
                problems.add(
                    format!("apps.{name}"),
                    "app names are 1 to 64 letters, digits, '-', '_' or '.'",
                );
            }
        }
        for (family, dims) in &self.labels {
            let mut seen = std::collections::HashSet::new();
            if !Family::ALL.iter().any(|f| f.name() == family) {
                problems.add(
                    format!("labels.{family}"),
                    "not a metric family with beacon labels (see README, Metrics)",
                );
            } else if dims.iter().any(|d| !seen.insert(*d)) {
                problems.add(format!("labels.{family}"), "a label is listed twice");
            }
        }
        self.validate_paths(problems);
        if self.caps.max_pages_per_app == 0 || self.caps.max_apps == 0 {
            problems.add("caps", "max_pages_per_app and max_apps must be at least 1");
        }
        if self.caps.max_series_per_family < 100 {
            problems.add("caps.max_series_per_family", "must be at least 100");
        }
        if self.page_load_apdex_target.is_zero() {
            problems.add("page_load_apdex_target", "must be more than 0s");
        }
    }
}

impl Config {
    fn validate_paths(&self, problems: &mut Problems) {
        let p = &self.paths;
        let all = [
            ("faro", &p.faro),
            ("beacon", &p.beacon),
            ("elastic_v2", &p.elastic_v2),
            ("elastic_v3", &p.elastic_v3),
            ("elastic_config", &p.elastic_config),
            ("webrtc", &p.webrtc),
        ];
        let mut seen = std::collections::HashSet::new();
        for (key, path) in all {
            if !path.starts_with('/') || path.len() < 2 || path.contains(['{', '}', '*', ':']) {
                problems.add(
                    format!("paths.{key}"),
                    "must start with '/' and hold no '{', '}', '*' or ':'",
                );
            } else if !seen.insert(path.as_str()) {
                problems.add(format!("paths.{key}"), "is used by another intake");
            }
        }
    }
}

impl Limits {
    fn validate(&self, problems: &mut Problems) {
        for (key, rate) in [("per_ip", &self.per_ip), ("per_app", &self.per_app)] {
            if !(rate.rate > 0.0 && rate.rate.is_finite()) {
                problems.add(format!("limits.{key}.rate"), "must be more than 0");
            } else if f64::from(rate.burst) < rate.rate {
                problems.add(format!("limits.{key}.burst"), "must be at least the rate");
            }
        }
        if self.max_body_bytes.0 == 0 {
            problems.add("limits.max_body_bytes", "must be more than 0");
        }
        if self.max_decompressed_bytes.0 < self.max_body_bytes.0 {
            problems.add(
                "limits.max_decompressed_bytes",
                "must be at least max_body_bytes",
            );
        }
        let counts = [
            ("max_items_per_request", self.max_items_per_request),
            ("max_tracked_ips", self.max_tracked_ips),
            ("max_pending_metrics", self.max_pending_metrics),
            ("max_idempotency_keys", self.max_idempotency_keys),
        ];
        for (key, value) in counts {
            if value == 0 {
                problems.add(format!("limits.{key}"), "must be at least 1");
            }
        }
        if self.body_read_timeout.is_zero() {
            problems.add("limits.body_read_timeout", "must be more than 0s");
        }
    }
}
