//! Helpers for exporters' tests: start the real binary on a free port and check its output
//! with the real promtool. Only compiled with the `testing` feature.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a binary gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An exporter process started by a test; killed when dropped.
pub struct RunningExporter {
    child: Child,
    /// `127.0.0.1:PORT`, as the exporter logged it.
    pub address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl RunningExporter {
    /// Starts `binary` listening on a free loopback port, with `args` added, and waits until
    /// it logs the address it listens on. Panics with the exporter's log if it does not.
    pub fn start(binary: &str, args: &[&str]) -> RunningExporter {
        let mut child = Command::new(binary)
            .arg("--web.listen-address=127.0.0.1:0")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {binary}: {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (found_tx, found_rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let address = line
                    .contains("listening")
                    .then(|| field(&line, "address"))
                    .flatten();
                // Keep the line before announcing the address, so the log has it by then.
                sink.lock().unwrap().push(line);
                if let Some(address) = address {
                    let _ = found_tx.send(address);
                }
            }
        });
        let address = found_rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "{binary} did not start listening; log:\n{}",
                logs.lock().unwrap().join("\n")
            )
        });
        RunningExporter {
            child,
            address,
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`HUP`, `TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for RunningExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `key` in a logfmt or JSON log line.
fn field(line: &str, key: &str) -> Option<String> {
    let logfmt = format!(" {key}=");
    let json = format!("\"{key}\":\"");
    let (start, end) = match (line.find(&logfmt), line.find(&json)) {
        (Some(at), _) => (at + logfmt.len(), ' '),
        (None, Some(at)) => (at + json.len(), '"'),
        (None, None) => return None,
    };
    let value = line[start..].split(end).next()?.trim_matches('"');
    Some(value.to_string())
}

/// Runs `promtool check metrics` on `text` and returns what it printed (stdout and stderr)
/// and whether it exited 0. Panics if promtool is not installed: `make test` installs it.
pub fn promtool_check_metrics(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus; `make test` installs it)");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed)
}

/// GETs `url` and returns the status and body; panics on a connection error.
pub fn get(url: &str) -> (u16, String) {
    // reqwest is built without a TLS provider of its own; the kit's is ring.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::blocking::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().expect("a text body"))
}

/// The value of the sample written exactly as `series` (name and labels) in a text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The binary starts with no arguments but a free port, and `promtool check metrics` has
/// nothing to say about its `/metrics`.
pub fn check_metrics_pass_promtool(binary: &str, prefix: &str) {
    let exporter = RunningExporter::start(binary, &[]);
    let (status, text) = get(&exporter.url("/metrics"));
    assert_eq!(status, 200);
    let build_info = format!("{prefix}_build_info{{version=\"");
    assert!(text.contains(&build_info), "no {build_info} in:\n{text}");
    let (ok, printed) = promtool_check_metrics(&text);
    assert!(
        ok && printed.is_empty(),
        "promtool check metrics said:\n{printed}\nof:\n{text}"
    );
    for path in ["/", "/-/healthy", "/-/ready"] {
        assert_eq!(get(&exporter.url(path)).0, 200, "{path}");
    }
}

/// `--config.check` passes the embedded default and names the file, line and key of an
/// unknown key.
pub fn check_config_check(binary: &str, default_config: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, default_config).expect("write the config");
    let output = Command::new(binary)
        .arg(format!("--config.file={}", good.display()))
        .arg("--config.check")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let verdict = String::from_utf8_lossy(&output.stdout);
    assert_eq!(verdict, format!("{}: config OK\n", good.display()));

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "\nno_such_key_anywhere: 1\n").expect("write the config");
    let output = Command::new(binary)
        .arg(format!("--config.file={}", bad.display()))
        .arg("--config.check")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}:2:1: no_such_key_anywhere: unknown field `no_such_key_anywhere`",
        bad.display()
    );
    assert!(error.starts_with(&expected), "{error}");
}

/// SIGHUP re-reads the config file; a bad file keeps the old config and sets
/// `<prefix>_config_last_reload_successful` to 0, a good one sets it back to 1.
pub fn check_reload_on_sighup(binary: &str, prefix: &str, default_config: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("config.yml");
    std::fs::write(&path, default_config).expect("write the config");
    let exporter = RunningExporter::start(binary, &[&format!("--config.file={}", path.display())]);
    let series = format!("{prefix}_config_last_reload_successful");
    let reload_state = || sample(&get(&exporter.url("/metrics")).1, &series);
    assert_eq!(reload_state(), Some(1.0));

    std::fs::write(&path, "no_such_key_anywhere: 1\n").expect("write the config");
    exporter.signal("HUP");
    wait_for(|| reload_state() == Some(0.0), &exporter);
    std::fs::write(&path, default_config).expect("write the config");
    exporter.signal("HUP");
    wait_for(|| reload_state() == Some(1.0), &exporter);
}

/// SIGTERM and SIGINT end the process with status 0, promptly.
pub fn check_graceful_shutdown(binary: &str) {
    for signal in ["TERM", "INT"] {
        let mut exporter = RunningExporter::start(binary, &[]);
        exporter.signal(signal);
        // Generous: on a loaded CI machine a clean exit can take seconds to be scheduled.
        let status = exporter.wait_exit(Duration::from_secs(20));
        assert!(
            status.is_some_and(|s| s.success()),
            "SIG{signal}: {status:?}\n{}",
            exporter.logs()
        );
        // The log reader thread may lag the exit a little.
        wait_for(|| exporter.logs().contains("shutting down"), &exporter);
    }
}

/// Flags can come from environment variables named after the exporter.
pub fn check_flags_from_environment(binary: &str, env_prefix: &str) {
    let output = Command::new(binary)
        .arg("--config.check")
        .env(
            format!("{env_prefix}_CONFIG_FILE"),
            "/nonexistent/config.yml",
        )
        .output()
        .expect("the binary runs");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.starts_with("/nonexistent/config.yml:"), "{error}");
}

/// `--log.format=json` writes one JSON object a line; `--version` names the revision.
pub fn check_json_logs_and_version(binary: &str) {
    let exporter = RunningExporter::start(binary, &["--log.format=json"]);
    let logs = exporter.logs();
    for line in logs.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "not JSON: {line}"
        );
    }
    assert!(logs.contains("\"message\":\"listening\""), "{logs}");

    let output = Command::new(binary)
        .arg("--version")
        .output()
        .expect("the binary runs");
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        version.contains(" (revision ") && version.contains("rustc "),
        "{version}"
    );
}

fn wait_for(condition: impl Fn() -> bool, exporter: &RunningExporter) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("condition not met in 10s; log:\n{}", exporter.logs());
}

/// The kit's checks as `#[test]`s for one exporter binary; an exporter's test file is
/// `exporter_kit::kit_checks!(env!("CARGO_BIN_EXE_rum-gateway"), rum_gateway::INFO);`.
#[macro_export]
macro_rules! kit_checks {
    ($binary:expr, $info:expr) => {
        #[test]
        fn metrics_pass_promtool_check_metrics() {
            $crate::testing::check_metrics_pass_promtool($binary, &$info.metric_prefix());
        }

        #[test]
        fn config_check_passes_the_default_and_locates_an_unknown_key() {
            $crate::testing::check_config_check($binary, $info.default_config);
        }

        #[test]
        fn sighup_reloads_and_a_failed_reload_shows_in_the_metric() {
            let prefix = $info.metric_prefix();
            $crate::testing::check_reload_on_sighup($binary, &prefix, $info.default_config);
        }

        #[test]
        fn sigterm_and_sigint_shut_down_cleanly() {
            $crate::testing::check_graceful_shutdown($binary);
        }

        #[test]
        fn logs_can_be_json_and_the_version_names_the_revision() {
            $crate::testing::check_json_logs_and_version($binary);
        }

        #[test]
        fn flags_are_read_from_environment_variables() {
            let env_prefix = $info.metric_prefix().to_uppercase();
            $crate::testing::check_flags_from_environment($binary, &env_prefix);
        }
    };
}
