//! The benchmark behind BENCHMARKS.md: journey overhead against the page's own timings,
//! stability over many consecutive runs, and HTTP checks against blackbox_exporter.
//! Run through `bench/run.sh`; prints Markdown sections on stdout.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exporter_kit::axum::extract::State;
use exporter_kit::axum::response::Html;
use exporter_kit::axum::routing::{get, post};
use exporter_kit::axum::{self, Json, Router};
use prometheus_client::metrics::gauge::Gauge;
use synthetic_journey::artifacts::ArtifactStore;
use synthetic_journey::browser::{BrowserMetrics, BrowserPool};
use synthetic_journey::config::Journey;
use synthetic_journey::runner::Runner;

/// The page times its own work and posts the marks back: load end, the click handler, the
/// moment the revealed element is inserted, and the input event.
const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Bench</title><script>
function mark(name, value) {
  fetch('/mark', {method: 'POST', keepalive: true, headers: {'content-type': 'application/json'},
    body: JSON.stringify({name, value})});
}
addEventListener('load', () => setTimeout(() => {
  mark('load', performance.getEntriesByType('navigation')[0].loadEventEnd);
}, 0));
function reveal() {
  const clicked = performance.now();
  setTimeout(() => {
    const p = document.createElement('p');
    p.className = 'result';
    p.textContent = 'Revealed';
    document.body.appendChild(p);
    mark('reveal', performance.now() - clicked);
  }, 100);
}
</script></head><body>
<h1>Bench</h1>
<button id="reveal" onclick="reveal()">Reveal</button>
<input id="code" oninput="mark('input', 0)">
</body></html>"#;

type Marks = Arc<Mutex<Vec<(String, f64)>>>;

#[derive(serde::Deserialize)]
struct Mark {
    name: String,
    value: f64,
}

async fn site(marks: Marks) -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/mark",
            post(
                |State(marks): State<Marks>, Json(m): Json<Mark>| async move {
                    marks.lock().unwrap().push((m.name, m.value));
                },
            ),
        )
        .with_state(marks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

fn five_steps(address: SocketAddr) -> Arc<Journey> {
    let yaml = format!(
        r##"
name: bench
timeout: 30s
steps:
  - {{action: navigate, url: "http://{address}/"}}
  - {{action: click, selector: "#reveal"}}
  - {{action: wait, selector: ".result"}}
  - {{action: fill, selector: "#code", value: "12345"}}
  - {{action: assert_text, selector: ".result", contains: "Revealed"}}
"##
    );
    Arc::new(serde_yaml::from_str(&yaml).unwrap())
}

fn stats(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let pick = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize];
    (mean, pick(0.5), pick(0.99))
}

async fn overhead(runner: &Runner, address: SocketAddr, marks: &Marks, runs: usize) {
    let journey = five_steps(address);
    // A first run warms the browser up; it is not counted.
    let _ = runner.run(journey.clone(), Duration::from_secs(30)).await;
    let mut per_step = Vec::new();
    let mut totals = Vec::new();
    let mut in_page_totals = Vec::new();
    let mut step_sums = [0.0; 5];
    for _ in 0..runs {
        marks.lock().unwrap().clear();
        let (outcome, _) = runner.run(journey.clone(), Duration::from_secs(30)).await;
        assert!(outcome.success, "{:?}", outcome.reason);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = marks.lock().unwrap().clone();
        let find = |name: &str| got.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let (Some(load), Some(reveal)) = (find("load"), find("reveal")) else {
            eprintln!("marks missing: {got:?}");
            continue;
        };
        let in_page = (load + reveal) / 1000.0;
        let measured = outcome
            .steps
            .iter()
            .map(|s| s.duration.as_secs_f64())
            .sum::<f64>();
        for (sum, step) in step_sums.iter_mut().zip(&outcome.steps) {
            *sum += step.duration.as_secs_f64();
        }
        totals.push(measured);
        in_page_totals.push(in_page);
        per_step.push((measured - in_page) / 5.0 * 1000.0);
    }
    let n = totals.len();
    let (mean, p50, p99) = stats(&mut per_step);
    println!("### 1. Overhead of a five-step journey\n");
    println!("{n} runs of navigate, click, wait (the page reveals an element 100 ms after the click), fill, assert_text, in one browser, after one warm-up run.\n");
    println!("| | value |\n|---|---|");
    println!(
        "| measured, sum of the five steps (mean) | {:.1} ms |",
        stats(&mut totals).0 * 1000.0
    );
    println!(
        "| timed inside the page: loadEventEnd + click-to-reveal (mean) | {:.1} ms |",
        stats(&mut in_page_totals).0 * 1000.0
    );
    println!("| **overhead per step** mean / p50 / p99 | **{mean:.1} / {p50:.1} / {p99:.1} ms** |");
    for (i, sum) in step_sums.iter().enumerate() {
        println!(
            "| step {i} ({}) mean | {:.1} ms |",
            ["navigate", "click", "wait", "fill", "assert_text"][i],
            sum / n as f64 * 1000.0
        );
    }
    println!();
}

async fn stability(runner: &Runner, pool: &BrowserPool, address: SocketAddr, runs: usize) {
    let journey = five_steps(address);
    let mut ok = 0;
    let mut rss_start = 0;
    let started = Instant::now();
    let mut failures = Vec::new();
    for i in 0..runs {
        let (outcome, _) = runner.run(journey.clone(), Duration::from_secs(30)).await;
        if outcome.success {
            ok += 1;
        } else if failures.len() < 5 {
            failures.push(format!(
                "run {i}: {:?} at {:?}",
                outcome.reason, outcome.failed_step
            ));
        }
        if i == 0 {
            rss_start = pool.measure_memory().unwrap_or(0);
        }
    }
    let rss_end = pool.measure_memory().unwrap_or(0);
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!("### 2. Stability over {runs} consecutive runs\n");
    println!("| | value |\n|---|---|");
    println!(
        "| runs / successes | {runs} / {ok} ({:.2} %) |",
        ok as f64 * 100.0 / runs as f64
    );
    println!(
        "| wall time | {:.0} s ({:.0} ms per run) |",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
    println!(
        "| browser RSS (all processes) after run 1 | {:.1} MiB |",
        mb(rss_start)
    );
    println!(
        "| browser RSS after run {runs} | {:.1} MiB ({:+.1} %) |",
        mb(rss_end),
        (rss_end as f64 / rss_start.max(1) as f64 - 1.0) * 100.0
    );
    for failure in failures {
        println!("\nfailure: {failure}");
    }
    println!();
}

/// CPU time (user + system) of `pid` in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ready(url: &str) {
    for _ in 0..100 {
        if reqwest::get(url).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered");
}

async fn probe_series(name: &str, pid: u32, url: &str, probes: usize) -> String {
    let client = reqwest::Client::new();
    for _ in 0..20 {
        client.get(url).send().await.unwrap().text().await.unwrap();
    }
    let cpu_before = cpu_seconds(pid);
    let mut latencies = Vec::with_capacity(probes);
    let mut successes = 0;
    for _ in 0..probes {
        let started = Instant::now();
        let body = client.get(url).send().await.unwrap().text().await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if body.lines().any(|l| l == "probe_success 1") {
            successes += 1;
        }
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    let (mean, p50, p99) = stats(&mut latencies);
    format!(
        "| {name} | {successes}/{probes} | {mean:.2} / {p50:.2} / {p99:.2} ms | {:.0} ms |",
        cpu * 1000.0 * 1000.0 / probes as f64
    )
}

async fn http_checks(address: SocketAddr, probes: usize, binary: &str) {
    let dir = tempfile::tempdir().unwrap();
    let target = format!("http://{address}/health");
    let bb_config = dir.path().join("blackbox.yml");
    std::fs::write(&bb_config, "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n").unwrap();
    let bb_port = free_port();
    let blackbox = Killed(
        Command::new("/usr/bin/prometheus-blackbox-exporter")
            .arg(format!("--config.file={}", bb_config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{bb_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-blackbox-exporter (apt-get install prometheus-blackbox-exporter)"),
    );
    let sj_config = dir.path().join("synthetic.yml");
    std::fs::write(
        &sj_config,
        format!("checks:\n  - {{name: health, kind: http, url: '{target}', interval: 24h}}\n"),
    )
    .unwrap();
    let sj_port = free_port();
    let synthetic = Killed(
        Command::new(binary)
            .arg(format!("--config.file={}", sj_config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{sj_port}"))
            .arg(format!(
                "--artifacts.dir={}",
                dir.path().join("artifacts").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ready(&format!("http://127.0.0.1:{bb_port}/-/healthy")).await;
    wait_ready(&format!("http://127.0.0.1:{sj_port}/-/healthy")).await;
    let bb_url = format!("http://127.0.0.1:{bb_port}/probe?module=http_2xx&target={target}");
    let sj_url = format!("http://127.0.0.1:{sj_port}/probe?check=health");
    println!("### 3. HTTP checks side by side with blackbox_exporter\n");
    println!("Both probe `{target}` (a loopback axum server) {probes} times in a row through their `/probe` endpoints; one client, no concurrency. CPU is user+system time of the exporter process over the {probes} probes, scaled to 1,000.\n");
    println!("| exporter | successes | latency per probe mean / p50 / p99 | CPU per 1,000 probes |\n|---|---|---|---|");
    println!(
        "{}",
        probe_series(
            "synthetic-journey (release build)",
            synthetic.0.id(),
            &sj_url,
            probes
        )
        .await
    );
    println!(
        "{}",
        probe_series(&blackbox_version(), blackbox.0.id(), &bb_url, probes).await
    );
    println!();
}

fn blackbox_version() -> String {
    let out = Command::new("/usr/bin/prometheus-blackbox-exporter")
        .arg("--version")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2).unwrap_or("?").to_string();
    format!("prometheus-blackbox-exporter {version} (Debian)")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let overhead_runs = env("BENCH_OVERHEAD_RUNS", 30);
    let stability_runs = env("BENCH_STABILITY_RUNS", 1000);
    let probes = env("BENCH_PROBES", 2000);
    let binary =
        std::env::var("BENCH_BINARY").expect("BENCH_BINARY: the release synthetic-journey binary");

    let marks = Marks::default();
    let address = site(marks.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let pool = Arc::new(BrowserPool::new(
        "/usr/bin/chromium",
        BrowserMetrics::default(),
    ));
    let runner = Runner::new(
        pool.clone(),
        1,
        Gauge::default(),
        ArtifactStore::new(dir.path(), 3),
    );

    overhead(&runner, address, &marks, overhead_runs).await;
    stability(&runner, &pool, address, stability_runs).await;
    http_checks(address, probes, &binary).await;
    pool.shutdown();
}
