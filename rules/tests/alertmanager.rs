//! The generated Alertmanager configuration in a real Alertmanager on a free loopback port:
//! a page silences the ticket of the same SLO, a down exporter silences its dependants, and
//! nothing else is silenced. Fails when `prometheus-alertmanager` is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rulegen::gen::{generate, Options};
use serde_json::{json, Value};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Kills the Alertmanager this test started, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 request, so that the answer is neither chunked nor kept alive.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn start(config: &Path, dir: &Path) -> (Server, u16) {
    let port = free_port();
    let child = Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{ALERTMANAGER} must be installed: {e}"));
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while http(port, "GET", "/-/ready", "").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "alertmanager did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

fn alert(labels: Value) -> Value {
    json!({"labels": labels, "annotations": {"summary": "test"}})
}

#[test]
fn pages_silence_tickets_of_their_slo_and_a_down_exporter_silences_its_dependants() {
    let mut model = rulegen::spec::load_paths(&[PathBuf::from("specs")]).unwrap();
    // Inhibitions are applied when a group is flushed: flush at once.
    let routing = model.routing.as_mut().unwrap();
    routing.group_wait = rulegen::duration::Duration(1);
    let out = generate(&model, &Options::default());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        &out.files[Path::new("alertmanager/alertmanager.yml")],
    )
    .unwrap();
    let (_server, port) = start(&config, dir.path());

    let alerts = json!([
        alert(
            json!({"alertname": "ErrorBudgetBurn", "severity": "critical", "service": "shop", "slo": "lcp", "team": "web", "sloth_severity": "page"})
        ),
        alert(
            json!({"alertname": "ErrorBudgetBurn", "severity": "warning", "service": "shop", "slo": "lcp", "team": "web", "sloth_severity": "ticket"})
        ),
        alert(
            json!({"alertname": "ErrorBudgetBurn", "severity": "warning", "service": "shop", "slo": "journeys", "team": "web", "sloth_severity": "ticket"})
        ),
        alert(
            json!({"alertname": "ExporterDown", "severity": "critical", "exporter": "rum-gateway", "job": "rum-gateway"})
        ),
        alert(
            json!({"alertname": "RumLcpPoor", "severity": "warning", "exporter": "rum-gateway", "page": "/"})
        ),
        alert(
            json!({"alertname": "DBSlowquerySourceDown", "severity": "critical", "exporter": "db-slowquery", "source": "orders"})
        ),
        alert(
            json!({"alertname": "RumInpPoor", "severity": "warning", "exporter": "webrtc-probe"})
        ),
    ]);
    let (status, body) = http(port, "POST", "/api/v2/alerts", &alerts.to_string()).unwrap();
    assert_eq!(status, 200, "{body}");

    let expected = [
        ("ErrorBudgetBurn", "lcp", "critical", false),
        ("ErrorBudgetBurn", "lcp", "warning", true),
        ("ErrorBudgetBurn", "journeys", "warning", false),
        ("ExporterDown", "", "critical", false),
        ("RumLcpPoor", "", "warning", true),
        ("DBSlowquerySourceDown", "", "critical", false),
        ("RumInpPoor", "", "warning", false),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = http(port, "GET", "/api/v2/alerts", "").unwrap();
        let got: Vec<Value> = serde_json::from_str(&body).unwrap();
        let inhibited = |name: &str, slo: &str, severity: &str| {
            got.iter()
                .find(|a| {
                    a["labels"]["alertname"] == name
                        && a["labels"]["slo"].as_str().unwrap_or("") == slo
                        && a["labels"]["severity"] == severity
                })
                .map(|a| !a["status"]["inhibitedBy"].as_array().unwrap().is_empty())
        };
        let now: Vec<_> = expected
            .iter()
            .map(|(n, s, sev, _)| inhibited(n, s, sev).unwrap_or(false))
            .collect();
        let want: Vec<_> = expected.iter().map(|e| e.3).collect();
        if now == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "inhibited {now:?}, expected {want:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
