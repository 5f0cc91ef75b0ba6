//! What the tests share: a small site served on loopback, the journeys walked on it, and the
//! set-up of a journey test (its turn with the browser, an artifact directory, a runner).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use exporter_kit::axum::extract::Query;
use exporter_kit::axum::response::Html;
use exporter_kit::axum::routing::get;
use exporter_kit::axum::{self, Router};
use prometheus_client::metrics::gauge::Gauge;
use synthetic_journey::artifacts::ArtifactStore;
use synthetic_journey::browser::{BrowserMetrics, BrowserPool};
use synthetic_journey::config::Journey;
use synthetic_journey::metrics::JourneyOutcome;
use synthetic_journey::runner::Runner;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, MutexGuard};

const HOME: &str = r#"<!DOCTYPE html>
<html><head><title>Home</title></head><body>
<h1>Home</h1>
<button id="reveal" onclick="setTimeout(() => {
  const p = document.createElement('p');
  p.className = 'result';
  p.textContent = 'Revealed after a delay';
  document.body.appendChild(p);
}, 300)">Reveal</button>
<p><a id="link" href="/later?code=link">Welcome by link</a></p>
<form action="/welcome" method="get">
  <input id="code" name="code" autocomplete="off">
  <button id="go" type="submit">Go</button>
</form>
</body></html>"#;

const THROWS: &str = r#"<!DOCTYPE html>
<html><head><title>Broken</title></head><body>
<h1>Something is wrong</h1>
<script>console.error("backend said no"); throw new Error("boom from the page");</script>
</body></html>"#;

#[derive(serde::Deserialize)]
struct Code {
    code: String,
}

async fn welcome(Query(q): Query<Code>) -> Html<String> {
    let code: String = q
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Html(format!(
        "<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>Welcome {code}</h1></body></html>"
    ))
}

async fn welcome_with_late_image(code: Query<Code>) -> Html<String> {
    let Html(page) = welcome(code).await;
    Html(page.replace("</body>", "<img src=\"/late-image\" alt=\"\"></body>"))
}

/// Serves `/` (a form, a link and a button revealing text after 300 ms), `/welcome?code=`,
/// `/later?code=` (the same welcome, whose load event waits 300 ms for an image) and
/// `/throws` (a page that logs an error and throws).
pub async fn site() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { Html(HOME) }))
        .route("/welcome", get(welcome))
        .route("/later", get(welcome_with_late_image))
        .route(
            "/late-image",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                axum::http::StatusCode::NOT_FOUND
            }),
        )
        .route("/throws", get(|| async { Html(THROWS) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// The browser the tests need; a test fails, not skips, without it.
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn require_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium"
    );
}

/// Every process below `root`, from `/proc`.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let parent: u32 = after.split(' ').nth(1).unwrap().parse().unwrap();
        all.push((pid, parent));
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    found.remove(0);
    found
}

/// Whether `pid` still runs (a zombie does not count).
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            !after.starts_with('Z')
        })
        .unwrap_or(false)
}

/// One Chromium at a time within a test binary: the machine is small and shared.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// A journey from its YAML.
pub fn journey(yaml: &str) -> Arc<Journey> {
    Arc::new(serde_yaml::from_str(yaml).unwrap())
}

/// Every kind of step on the site: reveal, fill the form, press Enter, land on the welcome page.
pub fn form_journey(address: SocketAddr) -> Arc<Journey> {
    std::env::set_var("SJ_TEST_ROOM_CODE", "abc123");
    journey(&format!(
        r##"
name: form
timeout: 30s
steps:
  - {{action: navigate, url: "http://{address}/", name: open_home}}
  - {{action: click, selector: "#reveal"}}
  - {{action: wait, selector: ".result", timeout: 5s}}
  - {{action: assert_text, selector: ".result", contains: "Revealed"}}
  - {{action: fill, selector: "#code", value: "${{env:SJ_TEST_ROOM_CODE}}"}}
  - {{action: press, key: Enter}}
  - {{action: wait, selector: "h1", name: welcome_shown}}
  - {{action: assert_url, contains: "/welcome?code=abc123"}}
  - {{action: assert_text, selector: "h1", contains: "Welcome abc123"}}
"##
    ))
}

/// A journey test's set-up: its turn with the browser, the site, an artifact directory (the
/// store keeps 3 runs per journey) and a runner with a browser pool of its own.
pub struct Walker {
    pub address: SocketAddr,
    pub dir: tempfile::TempDir,
    pub runner: Runner,
    pub metrics: BrowserMetrics,
    _turn: MutexGuard<'static, ()>,
}

impl Walker {
    pub async fn new() -> Walker {
        let turn = SERIAL.lock().await;
        require_chromium();
        let address = site().await;
        let dir = tempfile::tempdir().unwrap();
        let metrics = BrowserMetrics::default();
        let pool = Arc::new(BrowserPool::new(CHROMIUM, metrics.clone()));
        let store = ArtifactStore::new(dir.path(), 3);
        Walker {
            address,
            runner: Runner::new(pool, 1, Gauge::default(), store),
            dir,
            metrics,
            _turn: turn,
        }
    }

    /// Runs `journey` once within `limit`.
    pub async fn walk(
        &self,
        journey: Arc<Journey>,
        limit: Duration,
    ) -> (JourneyOutcome, Vec<String>) {
        self.runner.run(journey, limit).await
    }

    /// Walks the form journey, which must pass, and returns the PID of the browser that did.
    pub async fn walk_form(&self) -> u32 {
        let (outcome, logs) = self
            .walk(form_journey(self.address), Duration::from_secs(30))
            .await;
        assert!(
            outcome.success,
            "{:?} at {:?}\n{logs:#?}",
            outcome.reason, outcome.failed_step
        );
        self.runner.pool().current_pid().unwrap()
    }
}
