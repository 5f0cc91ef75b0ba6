//! The stack under test: `scripts/demo.sh` itself, run on free ports with the workspace's debug
//! binaries and short intervals, and small clients for what it serves.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binaries demo.sh starts, all from the workspace.
const BINARIES: [&str; 7] = [
    "rum-gateway",
    "webrtc-probe",
    "synthetic-journey",
    "db-slowquery",
    "rulegen",
    "demo-app",
    "alert-webhook",
];

/// Every port demo.sh takes from the environment.
const PORTS: [&str; 16] = [
    "DEMO_APP_PORT",
    "DEMO_RUM_GATEWAY_PORT",
    "DEMO_DB_SLOWQUERY_PORT",
    "DEMO_WEBRTC_PROBE_EU_PORT",
    "DEMO_WEBRTC_PROBE_US_PORT",
    "DEMO_SYNTHETIC_JOURNEY_EU_PORT",
    "DEMO_SYNTHETIC_JOURNEY_US_PORT",
    "DEMO_PROMETHEUS_PORT",
    "DEMO_PROMETHEUS_EU_PORT",
    "DEMO_PROMETHEUS_US_PORT",
    "DEMO_ALERTMANAGER_PORT",
    "DEMO_WEBHOOK_PORT",
    "DEMO_TURN_PORT",
    "DEMO_MARIADB_PORT",
    "DEMO_POSTGRES_PORT",
    "DEMO_TURN_RELAY_BASE",
];

/// Intervals short enough for the whole test to take a few minutes.
const INTERVALS: [(&str, &str); 5] = [
    ("DEMO_SCRAPE_INTERVAL", "2s"),
    ("DEMO_EVALUATION_INTERVAL", "2s"),
    ("DEMO_PROBE_INTERVAL", "10s"),
    ("DEMO_JOURNEY_INTERVAL", "10s"),
    ("DEMO_CHECK_INTERVAL", "5s"),
];

pub struct Stack {
    child: Child,
    state: Option<tempfile::TempDir>,
    ports: BTreeMap<&'static str, u16>,
    stopped: bool,
}

impl Stack {
    /// Runs scripts/demo.sh in a process group of its own and waits until it printed its URLs.
    pub fn start() -> Stack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bin = binaries_dir();
        let state = tempfile::Builder::new()
            .prefix("e2e-stack")
            .tempdir()
            .unwrap();
        let ports = free_ports();
        let out = File::create(state.path().join("demo.out")).unwrap();
        let mut command = Command::new(repository_root().join("scripts/demo.sh"));
        command
            .env("DEMO_STATE_DIR", state.path())
            .env("DEMO_BIN_DIR", &bin)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        for (name, port) in &ports {
            command.env(name, port.to_string());
        }
        let relay = ports["DEMO_TURN_RELAY_BASE"];
        command.env("DEMO_TURN_RELAY_PORTS", format!("{relay}-{}", relay + 99));
        command.envs(INTERVALS);
        let child = command.spawn().expect("scripts/demo.sh starts");
        let mut stack = Stack {
            child,
            state: Some(state),
            ports,
            stopped: false,
        };
        stack.wait_ready();
        stack
    }

    fn wait_ready(&mut self) {
        let until = Instant::now() + Duration::from_secs(240);
        loop {
            if self.output().contains("Press Ctrl-C to stop everything.") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("demo.sh exited with {status}:\n{}", self.output());
            }
            assert!(
                Instant::now() < until,
                "demo.sh not ready after 240 s:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn state(&self) -> &Path {
        self.state.as_ref().unwrap().path()
    }

    /// What demo.sh printed, the webhook's notification lines included.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.state().join("demo.out")).unwrap_or_default()
    }

    pub fn url(&self, port: &str) -> String {
        format!("http://127.0.0.1:{}", self.ports[port])
    }

    /// Stops the stack as Ctrl-C does (SIGTERM to demo.sh's process group) and returns the
    /// PIDs demo.sh started that were still alive after it exited (and were then killed).
    pub fn stop(&mut self) -> Vec<u32> {
        self.stopped = true;
        let group = format!("-{}", self.child.id());
        signal("TERM", &group);
        let until = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            signal("KILL", &group);
            let _ = self.child.wait();
        }
        let pids = std::fs::read_to_string(self.state().join("pids")).unwrap_or_default();
        let mut leaked = Vec::new();
        for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
            if signal("0", &pid.to_string()) {
                signal("KILL", &pid.to_string());
                leaked.push(pid);
            }
        }
        leaked
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
        if std::thread::panicking() {
            let kept = self.state.take().unwrap().keep();
            eprintln!(
                "the stack's configs and logs are kept in {}",
                kept.display()
            );
        }
    }
}

/// `kill -SIG -- TARGET`; true if it succeeded.
fn signal(sig: &str, target: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(target)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory of this test's own build profile (`<target>/debug`), where
/// `cargo build --workspace --bins` puts every binary.
fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    for binary in BINARIES {
        assert!(
            dir.join(binary).is_file(),
            "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
            dir.join(binary).display()
        );
    }
    dir
}

/// Free loopback ports, held until all are chosen so none is given twice. The TURN relay
/// range (UDP) is a random block of 100 ports below the kernel's ephemeral range.
fn free_ports() -> BTreeMap<&'static str, u16> {
    let held: Vec<TcpListener> = PORTS
        .iter()
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut ports: BTreeMap<&'static str, u16> = PORTS
        .iter()
        .zip(&held)
        .map(|(name, l)| (*name, l.local_addr().unwrap().port()))
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let block = (nanos ^ std::process::id()) % 100;
    ports.insert("DEMO_TURN_RELAY_BASE", 20_000 + block as u16 * 100);
    ports
}

/// GET a URL and parse its JSON body.
pub fn get_json(url: &str) -> Result<Value, String> {
    let response = reqwest::blocking::get(url).map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response.text().map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {url}: {e}: {body}"))
}

pub fn post(url: &str) -> String {
    let response = reqwest::blocking::Client::new()
        .post(url)
        .send()
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert!(response.status().is_success(), "POST {url}: {response:?}");
    response.text().unwrap()
}

/// An instant query; Err with Prometheus' error when it does not parse or fails.
pub fn query(prometheus: &str, expr: &str) -> Result<Vec<Value>, String> {
    let url = format!("{prometheus}/api/v1/query");
    let response = reqwest::blocking::Client::new()
        .post(&url)
        .form(&[("query", expr)])
        .send()
        .map_err(|e| format!("{url}: {e}"))?;
    let body: Value = response.json().map_err(|e| format!("{url}: {e}"))?;
    if body["status"] != "success" {
        return Err(format!("{expr}: {}", body["error"]));
    }
    Ok(body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Retries `check` until it returns Ok or `timeout` passes; panics with its last error.
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let until = Instant::now() + timeout;
    loop {
        match check() {
            Ok(value) => return value,
            Err(error) if Instant::now() >= until => {
                panic!("{what}: not true after {timeout:?}: {error}")
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}
