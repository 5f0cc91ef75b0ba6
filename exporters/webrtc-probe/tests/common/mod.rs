//! What the integration tests share: coturn started on loopback free ports, the exporter
//! started with a config, and probes read back as metrics.
#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exporter_kit::testing::{self, RunningExporter};

pub const USER: &str = "probe";
pub const PASSWORD: &str = "correct-horse";
pub const SHARED_SECRET: &str = "s3cret-shared";
pub const REALM: &str = "probe.test";

/// How coturn checks credentials.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `--lt-cred-mech --user=probe:correct-horse`
    LongTerm,
    /// `--use-auth-secret --static-auth-secret=s3cret-shared`
    Rest,
}

/// A coturn `turnserver` on loopback, killed (by PID) when dropped.
pub struct Coturn {
    child: Child,
    pub port: u16,
    pub tls_port: Option<u16>,
    pub dir: tempfile::TempDir,
    /// The CA (self-signed certificate) of the TLS listener, when there is one.
    pub ca_file: Option<PathBuf>,
}

impl Coturn {
    pub fn start(auth: Auth) -> Coturn {
        Self::launch(auth, false, true, &[])
    }

    /// With extra `turnserver` options.
    pub fn start_with(auth: Auth, options: &[&str]) -> Coturn {
        Self::launch(auth, false, true, options)
    }

    /// Without `--allow-loopback-peers`: permissions for loopback peers are refused (403).
    pub fn start_refusing_loopback_peers(auth: Auth) -> Coturn {
        Self::launch(auth, false, false, &[])
    }

    /// Also listens for TLS, with a certificate for `localhost` and 127.0.0.1.
    pub fn start_with_tls(auth: Auth) -> Coturn {
        Self::launch(auth, true, true, &[])
    }

    fn launch(auth: Auth, tls: bool, loopback_peers: bool, options: &[&str]) -> Coturn {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (min_port, max_port) = relay_range();
        let mut args = vec![
            "-n".to_string(),
            "--listening-ip=127.0.0.1".into(),
            "--relay-ip=127.0.0.1".into(),
            format!("--listening-port={port}"),
            format!("--min-port={min_port}"),
            format!("--max-port={max_port}"),
            format!("--realm={REALM}"),
            "--no-cli".into(),
            "--fingerprint".into(),
            "--no-dtls".into(),
            "--simple-log".into(),
            format!("--log-file={}", dir.path().join("turn.log").display()),
            format!("--pidfile={}", dir.path().join("turn.pid").display()),
        ];
        if loopback_peers {
            args.push("--allow-loopback-peers".into());
        }
        args.extend(options.iter().map(|o| o.to_string()));
        match auth {
            Auth::LongTerm => {
                args.push("--lt-cred-mech".into());
                args.push(format!("--user={USER}:{PASSWORD}"));
            }
            Auth::Rest => {
                args.push("--use-auth-secret".into());
                args.push(format!("--static-auth-secret={SHARED_SECRET}"));
            }
        }
        let mut ca_file = None;
        let mut tls_port = None;
        if tls {
            let (cert, key) = self_signed(dir.path());
            let tport = free_port();
            args.push(format!("--cert={}", cert.display()));
            args.push(format!("--pkey={}", key.display()));
            args.push(format!("--tls-listening-port={tport}"));
            ca_file = Some(cert);
            tls_port = Some(tport);
        } else {
            args.push("--no-tls".into());
        }
        let child = Command::new("turnserver")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "turnserver must be installed (Debian package coturn; `make test` installs it)",
            );
        let coturn = Coturn {
            child,
            port,
            tls_port,
            dir,
            ca_file,
        };
        coturn.wait_listening(port);
        if let Some(tport) = tls_port {
            coturn.wait_listening(tport);
        }
        coturn
    }

    fn wait_listening(&self, port: u16) {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("turnserver did not listen on {port}; log:\n{}", self.log());
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn tls_address(&self) -> String {
        format!("localhost:{}", self.tls_port.expect("started with TLS"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turn.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both TCP and UDP on loopback right now.
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A range of 200 relay ports below the kernel's ephemeral range (32768 and up, where the
/// exporter's own sockets land), picked at random so that parallel servers rarely share one.
fn relay_range() -> (u16, u16) {
    let slot = std::process::id() as u64 * 7919 + nanos();
    let base = 10_000 + (slot % 110) as u16 * 200;
    (base, base + 199)
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM into `dir`.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// The exporter started with `config` (YAML) written to a file in `dir`.
pub fn exporter(dir: &Path, config: &str) -> RunningExporter {
    exporter_with(dir, config, &[])
}

/// The exporter started with `config` and extra flags.
pub fn exporter_with(dir: &Path, config: &str, flags: &[&str]) -> RunningExporter {
    let path = dir.join("webrtc-probe.yml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(config.as_bytes())
        .unwrap();
    let flag = format!("--config.file={}", path.display());
    let mut args = vec![flag.as_str(), "--log.level=debug"];
    args.extend_from_slice(flags);
    RunningExporter::start(env!("CARGO_BIN_EXE_webrtc-probe"), &args)
}

/// One probe: the metrics text and how long the request took.
pub fn probe(exporter: &RunningExporter, module: &str, target: &str) -> (String, Duration) {
    let started = Instant::now();
    let url = exporter.url(&format!("/probe?module={module}&target={target}"));
    let (status, body) = testing::get(&url);
    assert_eq!(status, 200, "{body}");
    (body, started.elapsed())
}

/// The value of `series` in `text`, or a panic showing the text.
pub fn value(text: &str, series: &str) -> f64 {
    testing::sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// Asserts a failed probe at `stage`.
pub fn assert_failed_at(text: &str, stage: &str) {
    assert_eq!(value(text, "probe_success"), 0.0, "{text}");
    let series = format!("webrtc_probe_failed_stage{{stage=\"{stage}\"}}");
    assert_eq!(value(text, &series), 1.0, "{text}");
}
