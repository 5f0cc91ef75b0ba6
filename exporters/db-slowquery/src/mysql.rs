//! The `mysql_digest` source: counter deltas from
//! `performance_schema.events_statements_summary_by_digest` (MySQL 5.7+, MariaDB 10.x with
//! `performance_schema=ON`), running slow queries from the process list.
//!
//! A row's delta is its growth since the previous poll. A row that is new, or whose count went
//! down or whose `FIRST_SEEN` changed (the table was truncated, or the row was evicted and
//! came back), counts from zero, so exported counters never go backwards.

use std::collections::HashMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row};

use crate::aggregate::{Key, Observation, Totals};
use crate::config::SourceConfig;
use crate::exporter::{lock, Shared};
use crate::polling;

const DIGEST_SQL: &str = "SELECT COALESCE(SCHEMA_NAME, ''), DIGEST, COALESCE(DIGEST_TEXT, ''), \
     COUNT_STAR, SUM_TIMER_WAIT, SUM_LOCK_TIME, SUM_ROWS_SENT, SUM_ROWS_EXAMINED, \
     CAST(FIRST_SEEN AS CHAR) \
     FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NOT NULL";
const RUNNING_SQL: &str = "SELECT COUNT(*), CAST(COALESCE(MAX(TIME), 0) AS DOUBLE) \
     FROM information_schema.PROCESSLIST \
     WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND TIME >= ?";

/// performance_schema timers count picoseconds.
const PICOSECONDS: f64 = 1e12;

/// One digest row's cumulative values and when the row was created.
#[derive(Clone)]
struct Cumulative {
    totals: Totals,
    first_seen: String,
}

/// Polls one server until the task is aborted, reconnecting with backoff.
pub async fn run(config: SourceConfig, shared: Shared) {
    let mut previous: HashMap<(String, String), Cumulative> = HashMap::new();
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect(&config).await {
            Ok(mut conn) => {
                backoff = Duration::from_secs(1);
                tracing::info!(source = %config.name, "connected to MySQL");
                let mut clock = polling::Clock::new(&config, "MySQL");
                while clock
                    .poll(poll(&config, &shared, &mut conn, &mut previous))
                    .await
                {}
                let _ = conn.disconnect().await;
            }
            Err(error) => {
                tracing::warn!(source = %config.name, %error, "could not connect to MySQL");
            }
        }
        polling::set_down(&shared, &config.name);
        tokio::time::sleep(backoff).await;
        backoff = polling::next_backoff(backoff, &config);
    }
}

async fn connect(config: &SourceConfig) -> Result<Conn, String> {
    let dsn = crate::postgres::resolve_dsn(config)?;
    // Opts parsing errors quote the URL, password included: report only that it is invalid.
    let opts =
        Opts::from_url(&dsn).map_err(|_| "the dsn is not a valid mysql:// URL".to_string())?;
    let timeout = config.interval().max(Duration::from_secs(5));
    tokio::time::timeout(timeout, Conn::new(opts))
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|e| e.to_string())
}

async fn poll(
    config: &SourceConfig,
    shared: &Shared,
    conn: &mut Conn,
    previous: &mut HashMap<(String, String), Cumulative>,
) -> Result<(), mysql_async::Error> {
    let rows: Vec<Row> = conn.query(DIGEST_SQL).await?;
    let threshold = config.slow_threshold.as_secs_f64().ceil() as i64;
    let running: Option<(i64, f64)> = conn.exec_first(RUNNING_SQL, (threshold,)).await?;
    let mut current = HashMap::with_capacity(rows.len());
    let mut texts = HashMap::new();
    for row in rows {
        let Some((key, text, value)) = read_row(row) else {
            continue;
        };
        texts.insert(key.clone(), text);
        current.insert(key, value);
    }
    let mut states = lock(shared);
    let Some(state) = states.get_mut(&config.name) else {
        return Ok(());
    };
    state.up = true;
    let (count, longest) = running.unwrap_or((0, 0.0));
    state.running = count.max(0) as u64;
    state.longest_running = longest;
    for (key, cur) in &current {
        let delta = delta(previous.get(key), cur);
        if delta.calls == 0 {
            continue;
        }
        let text = texts.get(key).map_or("", String::as_str);
        state.aggregate.record(Observation {
            key: Key {
                database: key.0.clone(),
                query_id: key.1.clone(),
            },
            fingerprint: text,
            example: Some(text),
            delta,
            duration: None,
        });
    }
    state.aggregate.rerank();
    *previous = current;
    Ok(())
}

type DigestRow = ((String, String), String, Cumulative);

fn read_row(row: Row) -> Option<DigestRow> {
    let (schema, digest, text, count, timer, lock, sent, examined, first_seen): (
        String,
        String,
        String,
        u64,
        u64,
        u64,
        u64,
        u64,
        String,
    ) = mysql_async::from_row_opt(row).ok()?;
    let totals = Totals {
        calls: count,
        exec_seconds: timer as f64 / PICOSECONDS,
        lock_seconds: lock as f64 / PICOSECONDS,
        rows_sent: sent as f64,
        rows_examined: examined as f64,
    };
    Some(((schema, digest), text, Cumulative { totals, first_seen }))
}

/// The growth of a row since `before`; everything when the row is new or was reset.
fn delta(before: Option<&Cumulative>, now: &Cumulative) -> Totals {
    let cur = now.totals;
    match before {
        Some(prev)
            if prev.first_seen == now.first_seen
                && prev.totals.calls <= cur.calls
                && prev.totals.exec_seconds <= cur.exec_seconds =>
        {
            let p = prev.totals;
            Totals {
                calls: cur.calls - p.calls,
                exec_seconds: cur.exec_seconds - p.exec_seconds,
                lock_seconds: (cur.lock_seconds - p.lock_seconds).max(0.0),
                rows_sent: (cur.rows_sent - p.rows_sent).max(0.0),
                rows_examined: (cur.rows_examined - p.rows_examined).max(0.0),
            }
        }
        _ => cur,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(calls: u64, seconds: f64, first_seen: &str) -> Cumulative {
        Cumulative {
            totals: Totals {
                calls,
                exec_seconds: seconds,
                ..Totals::default()
            },
            first_seen: first_seen.into(),
        }
    }

    #[test]
    fn growth_is_the_delta_and_a_reset_or_recreated_row_counts_from_zero() {
        let a = row(10, 1.0, "t1");
        assert_eq!(delta(None, &a).calls, 10);
        assert_eq!(delta(Some(&a), &row(15, 1.5, "t1")).calls, 5);
        assert_eq!(
            delta(Some(&a), &row(3, 0.1, "t1")).calls,
            3,
            "truncated table"
        );
        assert_eq!(
            delta(Some(&a), &row(12, 2.0, "t2")).calls,
            12,
            "evicted and back"
        );
    }
}
