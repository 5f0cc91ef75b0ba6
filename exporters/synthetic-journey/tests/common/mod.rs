//! A small site served on loopback for the journey tests, and a shared browser pool.

#![allow(dead_code)]

use std::net::SocketAddr;

use exporter_kit::axum::extract::Query;
use exporter_kit::axum::response::Html;
use exporter_kit::axum::routing::get;
use exporter_kit::axum::{self, Router};
use tokio::net::TcpListener;

const HOME: &str = r#"<!DOCTYPE html>
<html><head><title>Home</title></head><body>
<h1>Home</h1>
<button id="reveal" onclick="setTimeout(() => {
  const p = document.createElement('p');
  p.className = 'result';
  p.textContent = 'Revealed after a delay';
  document.body.appendChild(p);
}, 300)">Reveal</button>
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

/// Serves `/` (a form and a button revealing text after 300 ms), `/welcome?code=` and
/// `/throws` (a page that logs an error and throws).
pub async fn site() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { Html(HOME) }))
        .route("/welcome", get(welcome))
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
