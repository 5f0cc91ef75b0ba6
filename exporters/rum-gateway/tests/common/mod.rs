//! Helpers for rum-gateway's tests: start the real binary with a config, post to it, read
//! its metrics.
#![allow(dead_code)]

use std::io::Write;
use std::time::{Duration, Instant};

use exporter_kit::testing::RunningExporter;

pub const BIN: &str = env!("CARGO_BIN_EXE_rum-gateway");
pub const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A gateway process and the temp dir holding its config.
pub struct Gateway {
    pub exporter: RunningExporter,
    pub client: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the gateway on `config` (YAML), with extra flags.
    pub fn start_with(config: &str, flags: &[&str]) -> Gateway {
        // reqwest is built without a TLS provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rum.yml");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(config.as_bytes())
            .unwrap();
        let mut args = vec![format!("--config.file={}", path.display())];
        args.extend(flags.iter().map(|f| f.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Gateway {
            exporter: RunningExporter::start(BIN, &args),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    pub fn start(config: &str) -> Gateway {
        Gateway::start_with(config, &[])
    }

    pub fn url(&self, path: &str) -> String {
        self.exporter.url(path)
    }

    /// POSTs `body` to `path` as a desktop Chrome would, with `headers` added.
    pub fn post(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> reqwest::blocking::Response {
        let mut request = self.client.post(self.url(path)).body(body.into());
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        {
            request = request.header("user-agent", CHROME_UA);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().unwrap()
    }

    /// POSTs and asserts the status, returning the body text.
    pub fn post_expect(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
        status: u16,
    ) -> String {
        let response = self.post(path, body, headers);
        let got = response.status().as_u16();
        let text = response.text().unwrap();
        assert_eq!(got, status, "POST {path}: {text}");
        text
    }

    pub fn metrics(&self) -> Metrics {
        Metrics(
            self.client
                .get(self.url("/metrics"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
        )
    }

    /// Waits until `check` holds on the metrics (held vitals are released on a timer).
    pub fn wait_for(&self, what: &str, check: impl Fn(&Metrics) -> bool) -> Metrics {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let metrics = self.metrics();
            if check(&metrics) {
                return metrics;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; metrics:\n{}",
                metrics.0
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A scraped `/metrics` page.
pub struct Metrics(pub String);

impl Metrics {
    /// The sum of every sample named `name` whose labels include all of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
                if metric != name {
                    return None;
                }
                let all = labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
                all.then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }

    /// Distinct label sets (lines) of `name`.
    pub fn lines(&self, name: &str) -> usize {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.split(['{', ' ']).next() == Some(name))
            .count()
    }

    pub fn rejected(&self, reason: &str) -> f64 {
        self.sum("rum_beacons_rejected_total", &[("reason", reason)])
    }
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A config with short windows for tests, plus `extra` YAML appended at top level.
pub fn test_config(extra: &str) -> String {
    format!(
        "limits:\n  rereport_window: 300ms\n  per_ip: {{rate: 100000, burst: 100000}}\n  per_app: {{rate: 100000, burst: 100000}}\n{extra}"
    )
}
