//! A small exporter built on the kit for its own tests: a config with nested keys, a
//! cross-field rule and probe modules, and a prober that succeeds, fails or hangs on demand.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use clap::Parser;
use exporter_kit::prometheus_client::metrics::gauge::Gauge;
use exporter_kit::{
    App, ExporterInfo, Flags, ProbeContext, ProbeModules, Prober, Problems, Secret, Validate,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub const INFO: ExporterInfo = ExporterInfo {
    name: "kit-test",
    default_port: 9999,
    default_config: "greeting: embedded\n",
    build: exporter_kit::build_info!(),
};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    #[serde(default)]
    pub greeting: String,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub modules: BTreeMap<String, Module>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_rate")]
    pub rate: u32,
    #[serde(default = "default_burst")]
    pub burst: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rate: default_rate(),
            burst: default_burst(),
        }
    }
}

fn default_rate() -> u32 {
    10
}

fn default_burst() -> u32 {
    20
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub behaviour: Behaviour,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default)]
    pub password: Option<Secret>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    Succeed,
    Fail,
    Hang,
}

impl Validate for TestConfig {
    fn validate(&self, problems: &mut Problems) {
        if self.limits.burst < self.limits.rate {
            problems.add(
                "limits.burst",
                format!("must be at least limits.rate ({})", self.limits.rate),
            );
        }
        for (name, module) in &self.modules {
            if module.timeout.is_zero() {
                problems.add(format!("modules.{name}.timeout"), "must be more than 0s");
            }
        }
    }
}

impl ProbeModules for TestConfig {
    type Module = Module;

    fn module(&self, name: &str) -> Option<&Module> {
        self.modules.get(name)
    }

    fn timeout(module: &Module) -> Duration {
        module.timeout
    }
}

pub struct TestProber;

impl Prober<TestConfig> for TestProber {
    async fn probe(&self, module: &Module, target: &str, ctx: &mut ProbeContext) -> bool {
        let answer = Gauge::<i64>::default();
        ctx.registry
            .register("test_probe_answer", "Always 42", answer.clone());
        answer.set(42);
        ctx.log(format!("probing {target}"));
        match module.behaviour {
            Behaviour::Succeed => true,
            Behaviour::Fail => {
                ctx.log("failing on purpose");
                false
            }
            Behaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                true
            }
        }
    }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kit: Flags,
}

/// Parses `args` as the kit's flags would be on a command line.
pub fn flags(args: &[&str]) -> Flags {
    let mut argv = vec!["kit-test"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).expect("flags parse").kit
}

pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A kit exporter serving in this process on a free loopback port.
pub struct Harness {
    pub address: String,
    pub dir: tempfile::TempDir,
    pub config: watch::Receiver<Arc<TestConfig>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Harness {
    /// Writes `config` to a file and serves with it, plus `args`; `setup` may add routes.
    pub async fn start(config: &str, args: &[&str]) -> Harness {
        Harness::start_with(config, args, |_| {}).await
    }

    pub async fn start_with(
        config: &str,
        args: &[&str],
        setup: impl FnOnce(&mut App<TestConfig>),
    ) -> Harness {
        install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let config_arg = format!("--config.file={}", config_path.display());
        let mut all_args = vec![config_arg.as_str()];
        all_args.extend_from_slice(args);
        let mut app = App::<TestConfig>::new(INFO, flags(&all_args)).expect("config loads");
        app.serve_probes(TestProber);
        setup(&mut app);
        let config_rx = app.config();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        Harness {
            address,
            dir,
            config: config_rx,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let response = client().get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

pub fn client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::new()
}

/// The value of the first sample of `name` (with its labels, as written) in a text exposition.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
