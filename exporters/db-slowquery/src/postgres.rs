//! The `postgres` source: counter deltas from `pg_stat_statements`, running slow queries from
//! `pg_stat_activity`.
//!
//! Statistics are read with `pg_stat_statements(false)`, which skips the query text file, and
//! the text is fetched once per query ID never seen before. A row's delta is its growth since
//! the previous poll; a row that is new (first poll, after eviction, after a reset) or whose
//! calls went down (reset) counts from zero, so exported counters never go backwards. Rows
//! with a NULL query ID (other users' statements without `pg_read_all_stats`) are skipped;
//! rows of several users or nesting levels for one query ID are summed into one series.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::aggregate::{Key, Observation, Totals};
use crate::config::SourceConfig;
use crate::exporter::{lock, Shared};
use crate::polling;

/// PostgreSQL 13 (pg_stat_statements 1.8) has neither `toplevel` nor `pg_stat_statements_info()`.
const STATS_SQL_13: &str = "SELECT s.userid::oid::bigint, s.dbid::oid::bigint, true, s.queryid, \
     s.calls, s.total_exec_time, s.rows, coalesce(d.datname::text, '') \
     FROM pg_stat_statements(false) s LEFT JOIN pg_database d ON d.oid = s.dbid \
     WHERE s.queryid IS NOT NULL";
const STATS_SQL: &str =
    "SELECT s.userid::oid::bigint, s.dbid::oid::bigint, s.toplevel, s.queryid, \
     s.calls, s.total_exec_time, s.rows, coalesce(d.datname::text, '') \
     FROM pg_stat_statements(false) s LEFT JOIN pg_database d ON d.oid = s.dbid \
     WHERE s.queryid IS NOT NULL";
const NULL_IDS_SQL: &str = "SELECT count(*) FROM pg_stat_statements(false) WHERE queryid IS NULL";
const RESET_SQL: &str = "SELECT stats_reset::text FROM pg_stat_statements_info()";
const TEXT_SQL: &str =
    "SELECT DISTINCT ON (queryid) queryid, query FROM pg_stat_statements(true) WHERE queryid = ANY($1)";
const RUNNING_SQL: &str =
    "SELECT count(*), coalesce(max(extract(epoch FROM now() - query_start)), 0)::float8 \
     FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
     AND query_start < now() - make_interval(secs => $1)";

/// One row's identity in `pg_stat_statements`.
type RowKey = (i64, i64, bool, i64);

#[derive(Clone, Copy)]
struct Row {
    calls: i64,
    total_ms: f64,
    rows: i64,
}

/// What the previous poll saw, to turn cumulative columns into deltas.
#[derive(Default)]
struct Previous {
    rows: HashMap<RowKey, Row>,
    stats_reset: Option<String>,
    texts: HashMap<i64, String>,
}

/// Polls one PostgreSQL server until the task is aborted, reconnecting with backoff.
pub async fn run(config: SourceConfig, shared: Shared) {
    let mut previous = Previous::default();
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect(&config).await {
            Ok(client) => {
                backoff = Duration::from_secs(1);
                tracing::info!(source = %config.name, "connected to PostgreSQL");
                let mut clock = polling::Clock::new(&config, "PostgreSQL");
                while clock
                    .poll(poll(&config, &shared, &client, &mut previous))
                    .await
                {}
            }
            Err(error) => {
                tracing::warn!(source = %config.name, %error, "could not connect to PostgreSQL");
            }
        }
        polling::set_down(&shared, &config.name);
        tokio::time::sleep(backoff).await;
        backoff = polling::next_backoff(backoff, &config);
    }
}

/// The connection string from `dsn`, `dsn_env` or `dsn_file`; errors never include it.
pub fn resolve_dsn(config: &SourceConfig) -> Result<String, String> {
    config.dsn_source().resolve()
}

async fn connect(config: &SourceConfig) -> Result<Client, String> {
    let dsn = resolve_dsn(config)?;
    let timeout = config.interval().max(Duration::from_secs(5));
    let connecting = tokio_postgres::connect(&dsn, NoTls);
    let (client, connection) = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| "timed out connecting".to_string())?
        // The error text of tokio-postgres names the failing step, never the password.
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Ends when the server goes away; the next query then fails and reconnects.
        let _ = connection.await;
    });
    Ok(client)
}

async fn poll(
    config: &SourceConfig,
    shared: &Shared,
    client: &Client,
    previous: &mut Previous,
) -> Result<(), tokio_postgres::Error> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .get(0);
    let (stats_reset, rows) = if version >= 140_000 {
        let reset: Option<String> = client.query_one(RESET_SQL, &[]).await?.get(0);
        (reset, client.query(STATS_SQL, &[]).await?)
    } else {
        // Without pg_stat_statements_info() a reset shows only as calls going down.
        (None, client.query(STATS_SQL_13, &[]).await?)
    };
    let null_ids: i64 = client.query_one(NULL_IDS_SQL, &[]).await?.get(0);
    let threshold = config.slow_threshold.as_secs_f64();
    let running = client.query_one(RUNNING_SQL, &[&threshold]).await?;
    if stats_reset != previous.stats_reset {
        // pg_stat_statements_reset(): every row starts again from zero.
        previous.rows.clear();
        previous.stats_reset = stats_reset;
    }
    let mut current: HashMap<RowKey, Row> = HashMap::with_capacity(rows.len());
    let mut databases: HashMap<i64, String> = HashMap::new();
    for row in &rows {
        let key: RowKey = (row.get(0), row.get(1), row.get(2), row.get(3));
        let value = Row {
            calls: row.get(4),
            total_ms: row.get(5),
            rows: row.get(6),
        };
        databases.insert(key.1, row.get(7));
        current.insert(key, value);
    }
    fetch_new_texts(client, previous, current.keys().map(|k| k.3)).await?;
    let deltas = deltas(&previous.rows, &current, &databases);
    previous.rows = current;
    let mut states = lock(shared);
    let Some(state) = states.get_mut(&config.name) else {
        return Ok(());
    };
    state.up = true;
    state.running = running.get::<_, i64>(0).max(0) as u64;
    state.longest_running = running.get(1);
    state.null_query_id_rows = null_ids.max(0) as u64;
    for (key, delta) in deltas {
        let text = previous.texts.get(&key.1).map_or("", String::as_str);
        state.aggregate.record(Observation {
            key: Key {
                database: key.0,
                query_id: key.1.to_string(),
            },
            fingerprint: text,
            example: Some(text),
            delta,
            duration: None,
        });
    }
    state.aggregate.rerank();
    Ok(())
}

/// Per (database, query ID): the growth of each row since `before`, summed.
fn deltas(
    before: &HashMap<RowKey, Row>,
    now: &HashMap<RowKey, Row>,
    databases: &HashMap<i64, String>,
) -> HashMap<(String, i64), Totals> {
    let mut out: HashMap<(String, i64), Totals> = HashMap::new();
    for (key, cur) in now {
        let base = match before.get(key) {
            Some(prev) if prev.calls <= cur.calls && prev.total_ms <= cur.total_ms => *prev,
            // New, evicted and back, or reset: all of it happened since.
            _ => Row {
                calls: 0,
                total_ms: 0.0,
                rows: 0,
            },
        };
        let calls = (cur.calls - base.calls).max(0) as u64;
        if calls == 0 {
            continue;
        }
        let database = databases.get(&key.1).cloned().unwrap_or_default();
        let totals = out.entry((database, key.3)).or_default();
        totals.calls += calls;
        totals.exec_seconds += ((cur.total_ms - base.total_ms) / 1000.0).max(0.0);
        totals.rows_sent += (cur.rows - base.rows).max(0) as f64;
    }
    out
}

/// Reads the text of query IDs not seen before, in one statement.
async fn fetch_new_texts(
    client: &Client,
    previous: &mut Previous,
    ids: impl Iterator<Item = i64>,
) -> Result<(), tokio_postgres::Error> {
    let new: Vec<i64> = ids
        .collect::<HashSet<i64>>()
        .into_iter()
        .filter(|id| !previous.texts.contains_key(id))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    for row in client.query(TEXT_SQL, &[&new]).await? {
        let id: i64 = row.get(0);
        let text: Option<String> = row.get(1);
        previous.texts.insert(id, text.unwrap_or_default());
    }
    // Bound the cache: forget texts of IDs no longer in the view.
    if previous.texts.len() > 20_000 {
        let live: HashSet<i64> = previous.rows.keys().map(|k| k.3).chain(new).collect();
        previous.texts.retain(|id, _| live.contains(id));
    }
    Ok(())
}
