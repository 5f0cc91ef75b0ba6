//! Optional plans of MySQL and MariaDB top queries (PostgreSQL's are in `auto_explain`): `EXPLAIN FORMAT=JSON` of each top query's
//! example, only for plain SELECT statements, on a connection of its own that is set read-only
//! and has a statement timeout, at most `explain_max_per_poll` per poll, once per query.

use std::collections::HashMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use serde_json::Value;

use crate::aggregate::Key;
use crate::config::SourceConfig;
use crate::exporter::{lock, Shared};

/// Longest plan kept; a longer one is recorded as an error instead of a cut, invalid JSON.
pub const PLAN_MAX_BYTES: usize = 64 * 1024;

/// What is known of one query's plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The `EXPLAIN FORMAT=JSON` output.
    Json(Value),
    /// Why there is no plan: the EXPLAIN failed, or the example is not a plain SELECT.
    Error(String),
}

/// The cached plans of one source and what was done to get them.
#[derive(Debug, Default)]
pub struct Plans {
    pub by_key: HashMap<Key, Plan>,
    pub ok: u64,
    pub failed: u64,
    pub refused: u64,
    pub no_connection: u64,
    /// Top queries without a plan left for a later poll by `explain_max_per_poll`.
    pub deferred: u64,
    /// PostgreSQL `auto_explain` plans read from the server log.
    pub logged_read: u64,
    /// Log entries longer than [`PLAN_MAX_BYTES`], skipped.
    pub logged_oversized: u64,
    /// Plans dropped from memory at `auto_explain_max_plans`.
    pub logged_evicted: u64,
}

/// The EXPLAIN connection, opened when needed.
#[derive(Default)]
struct Connection {
    conn: Option<Conn>,
    /// Whether a `USE` changed the default database of `conn`.
    in_database: bool,
    /// Connection failures are logged once until a connection works again.
    warned: bool,
}

impl Connection {
    /// A connection whose default database suits `database`, or `None` if none can be had.
    async fn get(&mut self, config: &SourceConfig, database: &str) -> Option<&mut Conn> {
        if database.is_empty() && self.in_database {
            // Unqualified names must not resolve in the previous query's database.
            self.conn = None;
        }
        if self.conn.is_none() {
            self.in_database = false;
            match connect(config).await {
                Ok(c) => {
                    self.conn = Some(c);
                    self.warned = false;
                }
                Err(error) => {
                    if !std::mem::replace(&mut self.warned, true) {
                        tracing::warn!(source = %config.name, %error, "could not connect for EXPLAIN");
                    }
                    return None;
                }
            }
        }
        self.in_database |= !database.is_empty();
        self.conn.as_mut()
    }
}

/// Explains the new top queries of one source every poll interval until aborted.
pub async fn run(config: SourceConfig, shared: Shared) {
    let mut connection = Connection::default();
    let mut ticker = tokio::time::interval(config.interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for (key, example) in pending(&config, &shared) {
            let Some(conn) = connection.get(&config, &key.database).await else {
                with_plans(&shared, &config.name, |p| p.no_connection += 1);
                break;
            };
            let (plan, keep) = explain(conn, &key.database, &example, config.explain_timeout).await;
            if !keep {
                connection.conn = None;
            }
            with_plans(&shared, &config.name, |p| {
                match &plan {
                    Plan::Json(_) => p.ok += 1,
                    Plan::Error(_) => p.failed += 1,
                }
                p.by_key.insert(key, plan);
            });
        }
    }
}

fn with_plans(shared: &Shared, source: &str, change: impl FnOnce(&mut Plans)) {
    if let Some(state) = lock(shared).get_mut(source) {
        change(&mut state.plans);
    }
}

/// Forgets the plans of queries that left the top K, records refusals, and returns the top
/// queries to explain now (at most `explain_max_per_poll`).
fn pending(config: &SourceConfig, shared: &Shared) -> Vec<(Key, String)> {
    let mut states = lock(shared);
    let Some(state) = states.get_mut(&config.name) else {
        return Vec::new();
    };
    let top: Vec<(Key, String)> = state
        .aggregate
        .top()
        .into_iter()
        .map(|(key, q)| (key.clone(), q.example.clone()))
        .collect();
    let plans = &mut state.plans;
    plans
        .by_key
        .retain(|key, _| top.iter().any(|(k, _)| k == key));
    let mut todo = Vec::new();
    for (key, example) in top {
        if plans.by_key.contains_key(&key) {
            continue;
        }
        if let Err(reason) = check_select(&example) {
            plans.refused += 1;
            plans
                .by_key
                .insert(key, Plan::Error(format!("not explained: {reason}")));
        } else if todo.len() < config.explain_max_per_poll {
            todo.push((key, example));
        } else {
            plans.deferred += 1;
        }
    }
    todo
}

async fn connect(config: &SourceConfig) -> Result<Conn, String> {
    let dsn = config.explain_dsn_source().resolve()?;
    // Opts parsing errors quote the URL, password included: report only that it is invalid.
    let opts = Opts::from_url(&dsn)
        .map_err(|_| "the explain_dsn is not a valid mysql:// URL".to_string())?;
    let wait = config.explain_timeout + Duration::from_secs(5);
    let mut conn = tokio::time::timeout(wait, Conn::new(opts))
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|e| e.to_string())?;
    conn.query_drop("SET SESSION TRANSACTION READ ONLY")
        .await
        .map_err(|e| format!("could not make the session read-only: {e}"))?;
    let seconds = config.explain_timeout.as_secs_f64();
    let mariadb = format!("SET SESSION max_statement_time = {seconds}");
    if conn.query_drop(mariadb).await.is_err() {
        let millis = config.explain_timeout.as_millis().max(1);
        conn.query_drop(format!("SET SESSION max_execution_time = {millis}"))
            .await
            .map_err(|e| format!("could not set a statement timeout: {e}"))?;
    }
    Ok(conn)
}

/// Runs one EXPLAIN; the flag says whether the connection is still usable.
async fn explain(conn: &mut Conn, database: &str, sql: &str, timeout: Duration) -> (Plan, bool) {
    let work = async {
        if !database.is_empty() {
            conn.query_drop(format!("USE `{}`", database.replace('`', "``")))
                .await?;
        }
        conn.query_first::<String, _>(format!("EXPLAIN FORMAT=JSON {sql}"))
            .await
    };
    match tokio::time::timeout(timeout + Duration::from_secs(1), work).await {
        Ok(Ok(Some(text))) => (parse_plan(&text), true),
        Ok(Ok(None)) => (Plan::Error("EXPLAIN returned no row".into()), true),
        // A server error (syntax, privileges, timeout) leaves the connection usable.
        Ok(Err(mysql_async::Error::Server(e))) => (Plan::Error(e.to_string()), true),
        Ok(Err(e)) => (Plan::Error(e.to_string()), false),
        Err(_) => (Plan::Error("EXPLAIN timed out".into()), false),
    }
}

fn parse_plan(text: &str) -> Plan {
    if text.len() > PLAN_MAX_BYTES {
        return Plan::Error(format!("plan larger than {PLAN_MAX_BYTES} bytes"));
    }
    match serde_json::from_str(text) {
        Ok(value) => Plan::Json(value),
        Err(e) => Plan::Error(format!("EXPLAIN output is not JSON: {e}")),
    }
}

/// Accepts one plain SELECT; refuses anything that writes, locks, or hides more statements.
pub fn check_select(sql: &str) -> Result<(), &'static str> {
    let words = words(sql)?;
    if words.first().map(String::as_str) != Some("select") {
        return Err("not a SELECT statement");
    }
    for pair in words.windows(2) {
        match (pair[0].as_str(), pair[1].as_str()) {
            ("for", "update") | ("for", "share") | ("share", "mode") => {
                return Err("a locking SELECT")
            }
            _ => {}
        }
    }
    if words.iter().any(|w| w == "into") {
        return Err("SELECT ... INTO writes");
    }
    Ok(())
}

/// The lowercased words of a statement outside strings, quoted names and comments.
fn words(sql: &str) -> Result<Vec<String>, &'static str> {
    let bytes = sql.as_bytes();
    let mut words = Vec::new();
    let mut ended = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let rest = &bytes[i..];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if rest.starts_with(b"/*!") || rest.starts_with(b"/*M!") {
            return Err("an executable comment");
        }
        if rest.starts_with(b"/*") {
            let end = find(bytes, i + 2, b"*/").ok_or("an unterminated comment")?;
            i = end + 2;
            continue;
        }
        if b == b'#' || rest.starts_with(b"-- ") || rest == b"--" {
            i = find(bytes, i, b"\n").map_or(bytes.len(), |end| end + 1);
            continue;
        }
        if ended {
            return Err("more than one statement");
        }
        match b {
            b';' => ended = true,
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i)?,
            b'?' => return Err("a normalised text with placeholders, not an example"),
            _ if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                words.push(sql[start..i].to_ascii_lowercase());
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(words)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from.min(bytes.len())..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The index of the closing quote of the quoted text starting at `start`.
fn skip_quoted(bytes: &[u8], start: usize) -> Result<usize, &'static str> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return Ok(i);
        }
        i += 1;
    }
    Err("an unterminated string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_selects_are_accepted() {
        for sql in [
            "SELECT v FROM t WHERE id = 1",
            "  select * from t where name = 'for update; into' -- into\n;",
            "/* app */ SELECT `into` FROM `t` WHERE s = \"a\\\"b\";\n",
            "SELECT a FROM t1 UNION SELECT b FROM t2 ORDER BY 1 LIMIT 5",
        ] {
            assert_eq!(check_select(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn anything_but_a_plain_select_is_refused() {
        let cases = [
            ("UPDATE t SET v = 1", "not a SELECT statement"),
            ("DELETE FROM t", "not a SELECT statement"),
            (
                "WITH x AS (SELECT 1) DELETE FROM t",
                "not a SELECT statement",
            ),
            ("SELECT v INTO @x FROM t", "SELECT ... INTO writes"),
            (
                "SELECT * FROM t INTO OUTFILE '/tmp/x'",
                "SELECT ... INTO writes",
            ),
            ("SELECT * FROM t FOR UPDATE", "a locking SELECT"),
            ("SELECT * FROM t LOCK IN SHARE MODE", "a locking SELECT"),
            ("SELECT 1; DROP TABLE t", "more than one statement"),
            ("SELECT 1 /*!; DROP TABLE t */", "an executable comment"),
            ("SELECT 'open", "an unterminated string"),
            (
                "SELECT `v` FROM `t` WHERE `id` = ?",
                "a normalised text with placeholders, not an example",
            ),
        ];
        for (sql, reason) in cases {
            assert_eq!(check_select(sql), Err(reason), "{sql}");
        }
    }

    #[test]
    fn oversized_or_invalid_plans_are_errors() {
        assert_eq!(
            parse_plan("{\"query_block\": {}}"),
            Plan::Json(serde_json::json!({"query_block": {}}))
        );
        assert!(matches!(parse_plan("nope"), Plan::Error(_)));
        let big = format!("\"{}\"", "x".repeat(PLAN_MAX_BYTES));
        assert_eq!(
            parse_plan(&big),
            Plan::Error(format!("plan larger than {PLAN_MAX_BYTES} bytes"))
        );
    }
}
