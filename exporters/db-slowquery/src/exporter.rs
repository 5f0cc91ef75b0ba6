//! Exporter mode: runs the configured sources, serves their totals on `/metrics` and the top
//! queries on `/queries`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exporter_kit::app::SetupError;
use exporter_kit::axum::extract::State;
use exporter_kit::axum::response::{Html, IntoResponse};
use exporter_kit::axum::routing::get;
use exporter_kit::axum::Json;
use exporter_kit::App;
use serde::Serialize;

use crate::aggregate::{Aggregate, Key, Limits, Observation, Totals};
use crate::config::{Config, Kind, SourceConfig};
use crate::explain::{Plan, Plans};
use crate::fingerprint;
use crate::metrics::Collector;
use crate::slowlog::Event;
use crate::tail::Tailer;

/// Everything one source has reported.
#[derive(Debug)]
pub struct SourceState {
    pub kind: Kind,
    /// Whether EXPLAIN plans are fetched for this source.
    pub explain: bool,
    /// Whether `auto_explain` plans are read from a server log for this source.
    pub auto_explain: bool,
    pub aggregate: Aggregate,
    pub up: bool,
    pub running: u64,
    pub longest_running: f64,
    pub below_threshold: u64,
    /// PostgreSQL rows without a query ID (not readable by the monitoring role).
    pub null_query_id_rows: u64,
    pub oversized: u64,
    pub rotations: u64,
    pub truncations: u64,
    pub errors: u64,
    /// EXPLAIN plans of the top queries (MySQL kinds with `explain` on).
    pub plans: Plans,
}

/// The states of all sources, by name, shared by the sources, `/metrics` and `/queries`.
pub type Shared = Arc<Mutex<BTreeMap<String, SourceState>>>;

/// Upper bounds of the duration histogram, as multiples of the slow threshold.
const BUCKET_FACTORS: [f64; 10] = [1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

impl SourceState {
    pub fn new(config: &SourceConfig) -> SourceState {
        let base = config.slow_threshold.as_secs_f64().max(0.001);
        SourceState {
            kind: config.kind,
            explain: config.explain && config.kind != Kind::Postgres,
            auto_explain: config.auto_explain_log.is_some() && config.kind == Kind::Postgres,
            aggregate: Aggregate::new(Limits {
                top_k: config.top_k,
                hysteresis: config.hysteresis,
                max_tracked: config.max_tracked_queries,
                fingerprint_max_length: config.fingerprint_max_length,
                bucket_bounds: BUCKET_FACTORS.iter().map(|f| f * base).collect(),
            }),
            up: false,
            running: 0,
            longest_running: 0.0,
            below_threshold: 0,
            null_query_id_rows: 0,
            oversized: 0,
            rotations: 0,
            truncations: 0,
            errors: 0,
            plans: Plans::default(),
        }
    }
}

/// Registers the metrics and routes and starts the sources (restarted on reload).
pub fn setup(app: &mut App<Config>) -> Result<(), SetupError> {
    let shared: Shared = Arc::default();
    app.registry()
        .register_collector(Box::new(Collector::new(shared.clone())));
    app.route("/queries", get(queries_json).with_state(shared.clone()));
    app.route(
        "/queries/table",
        get(queries_html).with_state(shared.clone()),
    );
    app.link("/queries", "Top queries per source (JSON)");
    app.link("/queries/table", "Top queries per source (table)");
    let mut config = app.config();
    tokio::spawn(async move {
        let mut running: HashMap<String, Running> = HashMap::new();
        loop {
            let current = config.borrow_and_update().clone();
            reconcile(&current, &mut running, &shared);
            if config.changed().await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// A started source and how to stop it.
struct Running {
    config: SourceConfig,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Stops sources that went away or changed, starts new ones; unchanged ones keep running.
fn reconcile(config: &Config, running: &mut HashMap<String, Running>, shared: &Shared) {
    running.retain(|name, r| {
        config
            .sources
            .iter()
            .any(|s| &s.name == name && s == &r.config)
    });
    {
        let mut states = lock(shared);
        states.retain(|name, _| running.contains_key(name));
        for source in &config.sources {
            if !running.contains_key(&source.name) {
                states.insert(source.name.clone(), SourceState::new(source));
            }
        }
    }
    for source in &config.sources {
        if running.contains_key(&source.name) {
            continue;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = match source.kind {
            Kind::MysqlSlowlog => {
                start_slowlog(source.clone(), shared.clone(), stop.clone());
                Vec::new()
            }
            Kind::Postgres => vec![tokio::spawn(crate::postgres::run(
                source.clone(),
                shared.clone(),
            ))],
            Kind::MysqlDigest => vec![tokio::spawn(crate::mysql::run(
                source.clone(),
                shared.clone(),
            ))],
        };
        if source.auto_explain_log.is_some() && source.kind == Kind::Postgres {
            crate::auto_explain::start(source.clone(), shared.clone(), stop.clone());
        }
        if source.explain && source.kind != Kind::Postgres {
            tasks.push(tokio::spawn(crate::explain::run(
                source.clone(),
                shared.clone(),
            )));
        }
        tracing::info!(source = %source.name, kind = ?source.kind, "source started");
        running.insert(
            source.name.clone(),
            Running {
                config: source.clone(),
                stop,
                tasks,
            },
        );
    }
}

/// Locks the shared state; a panicked holder left the totals usable, so poisoning is ignored.
pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, BTreeMap<String, SourceState>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn start_slowlog(config: SourceConfig, shared: Shared, stop: Arc<AtomicBool>) {
    let Some(path) = config.path.clone() else {
        return;
    };
    let mut tailer = Tailer::new(
        path,
        config.start_at,
        config.settle_time,
        config.max_entry_bytes,
    );
    let interval = config.interval();
    std::thread::spawn(move || {
        let mut batch: Vec<Event> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let result = tailer.poll(&mut |event| batch.push(event));
            let mut states = lock(&shared);
            let Some(state) = states.get_mut(&config.name) else {
                break;
            };
            match result {
                Ok(stats) => {
                    state.up = true;
                    state.rotations += stats.rotations;
                    state.truncations += stats.truncations;
                    state.oversized += stats.oversized;
                }
                Err(error) => {
                    if state.up {
                        tracing::warn!(source = %config.name, %error, "could not read the slow log");
                    }
                    state.up = false;
                    state.errors += 1;
                }
            }
            record_events(&config, state, batch.drain(..));
            drop(states);
            sleep_unless_stopped(interval, &stop);
        }
    });
}

fn record_events(
    config: &SourceConfig,
    state: &mut SourceState,
    events: impl Iterator<Item = Event>,
) {
    let threshold = config.slow_threshold.as_secs_f64();
    let mut any = false;
    for event in events {
        if event.query_time < threshold {
            state.below_threshold += 1;
            continue;
        }
        let fp = fingerprint::fingerprint(&event.query);
        let fp_text = String::from_utf8_lossy(&fp);
        let example = String::from_utf8_lossy(&event.query);
        state.aggregate.record(Observation {
            key: Key {
                database: event.database.clone().unwrap_or_default(),
                query_id: fingerprint::query_id(&fp),
            },
            fingerprint: &fp_text,
            example: Some(&example),
            delta: Totals {
                calls: 1,
                exec_seconds: event.query_time,
                lock_seconds: event.lock_time,
                rows_sent: event.rows_sent,
                rows_examined: event.rows_examined,
            },
            duration: Some(event.query_time),
        });
        any = true;
    }
    if any {
        state.aggregate.rerank();
    }
}

/// Sleeps for `interval`, or less when `stop` is set meanwhile.
pub fn sleep_unless_stopped(interval: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < interval && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step.min(interval - slept));
        slept += step;
    }
}

/// One row of `/queries`.
#[derive(Serialize)]
struct QueryRow {
    query_id: String,
    database: String,
    fingerprint: String,
    example: String,
    calls: u64,
    exec_seconds: f64,
    mean_seconds: f64,
    lock_seconds: f64,
    rows_sent: f64,
    rows_examined: f64,
    /// The `EXPLAIN FORMAT=JSON` output, when explained.
    plan: Option<serde_json::Value>,
    /// Why there is no plan, when the query was refused or its EXPLAIN failed.
    plan_error: Option<String>,
}

#[derive(Serialize)]
struct SourceRows {
    source: String,
    up: bool,
    queries: Vec<QueryRow>,
    other: Totals,
}

fn snapshot(shared: &Shared) -> Vec<SourceRows> {
    let states = lock(shared);
    states
        .iter()
        .map(|(name, state)| SourceRows {
            source: name.clone(),
            up: state.up,
            other: state.aggregate.other,
            queries: state
                .aggregate
                .top()
                .into_iter()
                .map(|(key, q)| QueryRow {
                    query_id: key.query_id.clone(),
                    database: key.database.clone(),
                    fingerprint: q.fingerprint.clone(),
                    example: q.example.clone(),
                    calls: q.seen.calls,
                    exec_seconds: q.seen.exec_seconds,
                    mean_seconds: q.seen.exec_seconds / (q.seen.calls.max(1) as f64),
                    lock_seconds: q.seen.lock_seconds,
                    rows_sent: q.seen.rows_sent,
                    rows_examined: q.seen.rows_examined,
                    plan: match state.plans.by_key.get(key) {
                        Some(Plan::Json(value)) => Some(value.clone()),
                        _ => None,
                    },
                    plan_error: match state.plans.by_key.get(key) {
                        Some(Plan::Error(error)) => Some(error.clone()),
                        _ => None,
                    },
                })
                .collect(),
        })
        .collect()
}

async fn queries_json(State(shared): State<Shared>) -> impl IntoResponse {
    Json(snapshot(&shared))
}

async fn queries_html(State(shared): State<Shared>) -> impl IntoResponse {
    let mut page = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>db-slowquery: top queries\
         </title></head><body><h1>Top queries</h1>",
    );
    for source in snapshot(&shared) {
        page.push_str(&format!(
            "<h2>{} ({})</h2><table border=\"1\"><tr><th>Query ID</th><th>Database</th>\
             <th>Calls</th><th>Total (s)</th><th>Mean (s)</th><th>Rows examined</th>\
             <th>Fingerprint</th><th>Example</th><th>Plan</th></tr>",
            escape(&source.source),
            if source.up { "up" } else { "down" }
        ));
        for q in &source.queries {
            page.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.6}</td>\
                 <td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&q.query_id),
                escape(&q.database),
                q.calls,
                q.exec_seconds,
                q.mean_seconds,
                q.rows_examined,
                escape(&q.fingerprint),
                escape(&q.example),
                plan_cell(q)
            ));
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>");
    Html(page)
}

fn plan_cell(q: &QueryRow) -> String {
    if let Some(plan) = &q.plan {
        // A text plan (PostgreSQL `auto_explain.log_format = text`) is shown as it was logged.
        let pretty = match plan {
            serde_json::Value::String(text) => text.clone(),
            json => serde_json::to_string_pretty(json).unwrap_or_default(),
        };
        return format!(
            "<details><summary>plan</summary><pre>{}</pre></details>",
            escape(&pretty)
        );
    }
    q.plan_error.as_deref().map(escape).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
