//! The `--config.file` of db-slowquery: the sources to watch and their limits.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use exporter_kit::{Problems, Secret, Validate};
use serde::Deserialize;

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The databases and slow logs to watch; each becomes a `source` label value.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

/// What a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Tails a MySQL or MariaDB slow query log file.
    MysqlSlowlog,
    /// Polls `pg_stat_statements` and `pg_stat_activity` of a PostgreSQL server.
    Postgres,
    /// Polls `performance_schema.events_statements_summary_by_digest` of MySQL or MariaDB.
    MysqlDigest,
}

/// Where a tailed slow log starts when the exporter starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// At the end: entries written before the start are not counted (again).
    #[default]
    End,
    /// At the beginning of the file.
    Beginning,
}

/// One source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The `source` label of every series of this source; unique in the file.
    pub name: String,
    /// `mysql_slowlog`, `postgres` or `mysql_digest`.
    pub kind: Kind,
    /// `mysql_slowlog`: the slow log file to tail.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `mysql_slowlog`: `end` (default) or `beginning`.
    #[serde(default)]
    pub start_at: StartAt,
    /// `postgres`, `mysql_digest`: the connection string, password included (`postgres`: URL
    /// or `key=value` form; `mysql_digest`: `mysql://user:password@host:port/`, a unix socket
    /// with `?socket=PATH`).
    #[serde(default)]
    pub dsn: Option<Secret>,
    /// `postgres`, `mysql_digest`: the environment variable holding the connection string.
    #[serde(default)]
    pub dsn_env: Option<String>,
    /// `postgres`, `mysql_digest`: a file holding the connection string (trailing newline
    /// ignored).
    #[serde(default)]
    pub dsn_file: Option<PathBuf>,
    /// Entries faster than this are ignored (slow log); running queries longer than this are
    /// reported (PostgreSQL).
    #[serde(default = "default_slow_threshold", with = "humantime_serde")]
    pub slow_threshold: Duration,
    /// How often the slow log is checked for new entries, or the database polled.
    #[serde(default, with = "humantime_serde")]
    pub poll_interval: Option<Duration>,
    /// Query IDs with their own series, by total time; the rest are summed as `other`.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// How much more total time a newcomer needs than the lightest member to take its place
    /// in the top K (0.2 = 20 %), so the set does not churn between scrapes.
    #[serde(default = "default_hysteresis")]
    pub hysteresis: f64,
    /// Most query IDs whose totals are remembered; beyond it the lightest are forgotten
    /// (their time stays counted in `other`).
    #[serde(default = "default_max_tracked")]
    pub max_tracked_queries: usize,
    /// Longest fingerprint text in `db_slowquery_query_info` and `/queries`.
    #[serde(default = "default_fingerprint_length")]
    pub fingerprint_max_length: usize,
    /// `mysql_slowlog`: longest entry read; longer ones are skipped and counted.
    #[serde(default = "default_max_entry_bytes")]
    pub max_entry_bytes: usize,
    /// `mysql_slowlog`: how long the last entry of the file must stay unchanged before it is
    /// read (an entry is complete for sure only once the next one starts).
    #[serde(default = "default_settle", with = "humantime_serde")]
    pub settle_time: Duration,
    /// `mysql_slowlog`, `mysql_digest`: run `EXPLAIN FORMAT=JSON` of the example of each top
    /// query that is a plain SELECT, on a separate read-only connection (`explain_dsn`), and
    /// show the plan in `/queries`. Off by default.
    #[serde(default)]
    pub explain: bool,
    /// The connection string of the EXPLAIN connection (`mysql://user:password@host:port/`);
    /// its user needs `SELECT` on the tables of the queries, nothing more.
    #[serde(default)]
    pub explain_dsn: Option<Secret>,
    /// The environment variable holding the EXPLAIN connection string.
    #[serde(default)]
    pub explain_dsn_env: Option<String>,
    /// A file holding the EXPLAIN connection string (trailing newline ignored).
    #[serde(default)]
    pub explain_dsn_file: Option<PathBuf>,
    /// Most EXPLAINs run per poll; the other top queries without a plan wait for later polls.
    #[serde(default = "default_explain_per_poll")]
    pub explain_max_per_poll: usize,
    /// Statement timeout of each EXPLAIN (`max_statement_time` on MariaDB,
    /// `max_execution_time` on MySQL); the exporter waits one second longer, then reconnects.
    #[serde(default = "default_explain_timeout", with = "humantime_serde")]
    pub explain_timeout: Duration,
    /// `postgres`: the server log file to read `auto_explain` plans from (`stderr` format,
    /// `auto_explain.log_format` `json` or `text`), shown in `/queries`. Off when unset.
    #[serde(default)]
    pub auto_explain_log: Option<PathBuf>,
    /// `postgres`: most plans read from the log kept in memory, the latest per query ID and
    /// per query text.
    #[serde(default = "default_auto_explain_max_plans")]
    pub auto_explain_max_plans: usize,
}

/// Where a connection string comes from: exactly one of the three is set.
pub struct DsnSource<'a> {
    /// The config key of the inline form (`dsn` or `explain_dsn`), for error messages.
    pub key: &'static str,
    pub inline: &'a Option<Secret>,
    pub env: &'a Option<String>,
    pub file: &'a Option<PathBuf>,
}

impl DsnSource<'_> {
    /// The connection string; errors never contain it.
    pub fn resolve(&self) -> Result<String, String> {
        if let Some(dsn) = self.inline {
            return Ok(dsn.expose().to_string());
        }
        if let Some(name) = self.env {
            return std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"));
        }
        if let Some(path) = self.file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("could not read {}_file {}: {e}", self.key, path.display()))?;
            return Ok(text.trim_end_matches(['\n', '\r']).to_string());
        }
        Err(format!("no {} configured", self.key))
    }

    fn count(&self) -> usize {
        usize::from(self.inline.is_some())
            + usize::from(self.env.is_some())
            + usize::from(self.file.is_some())
    }
}

fn default_slow_threshold() -> Duration {
    Duration::from_millis(100)
}

fn default_top_k() -> usize {
    100
}

fn default_hysteresis() -> f64 {
    0.2
}

fn default_max_tracked() -> usize {
    10_000
}

fn default_fingerprint_length() -> usize {
    200
}

fn default_max_entry_bytes() -> usize {
    crate::slowlog::DEFAULT_MAX_ENTRY_BYTES
}

fn default_settle() -> Duration {
    Duration::from_secs(2)
}

fn default_explain_per_poll() -> usize {
    5
}

fn default_auto_explain_max_plans() -> usize {
    256
}

fn default_explain_timeout() -> Duration {
    Duration::from_secs(2)
}

impl SourceConfig {
    /// The poll interval, defaulting by kind (1 s for a log, 15 s for a database).
    pub fn interval(&self) -> Duration {
        self.poll_interval.unwrap_or(match self.kind {
            Kind::MysqlSlowlog => Duration::from_secs(1),
            Kind::Postgres | Kind::MysqlDigest => Duration::from_secs(15),
        })
    }

    /// Where the source's own connection string comes from.
    pub fn dsn_source(&self) -> DsnSource<'_> {
        DsnSource {
            key: "dsn",
            inline: &self.dsn,
            env: &self.dsn_env,
            file: &self.dsn_file,
        }
    }

    /// Where the EXPLAIN connection string comes from.
    pub fn explain_dsn_source(&self) -> DsnSource<'_> {
        DsnSource {
            key: "explain_dsn",
            inline: &self.explain_dsn,
            env: &self.explain_dsn_env,
            file: &self.explain_dsn_file,
        }
    }
}

impl Validate for Config {
    fn validate(&self, problems: &mut Problems) {
        let mut names = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let key = |field: &str| format!("sources[{i}].{field}");
            if source.name.is_empty() {
                problems.add(key("name"), "must not be empty");
            } else if !names.insert(source.name.as_str()) {
                problems.add(
                    key("name"),
                    format!("duplicate source name {:?}", source.name),
                );
            }
            validate_kind(source, &key, problems);
            validate_explain(source, &key, problems);
            validate_auto_explain(source, &key, problems);
            if source.top_k == 0 {
                problems.add(key("top_k"), "must be at least 1");
            }
            if source.max_tracked_queries < source.top_k {
                problems.add(key("max_tracked_queries"), "must be at least top_k");
            }
            if !(0.0..=10.0).contains(&source.hysteresis) {
                problems.add(key("hysteresis"), "must be between 0 and 10");
            }
            if source.poll_interval.is_some_and(|d| d.is_zero()) {
                problems.add(key("poll_interval"), "must be positive");
            }
        }
    }
}

fn validate_kind(source: &SourceConfig, key: &dyn Fn(&str) -> String, problems: &mut Problems) {
    let dsn_count = source.dsn_source().count();
    match source.kind {
        Kind::MysqlSlowlog => {
            if source.path.is_none() {
                problems.add(key("path"), "is required for kind mysql_slowlog");
            }
            if dsn_count > 0 {
                problems.add(key("kind"), "mysql_slowlog takes a path, not a dsn");
            }
        }
        Kind::Postgres | Kind::MysqlDigest => {
            if dsn_count != 1 {
                problems.add(
                    key("dsn"),
                    "exactly one of dsn, dsn_env and dsn_file is required",
                );
            }
            if source.path.is_some() {
                problems.add(key("path"), "is only for kind mysql_slowlog");
            }
            if source.start_at != StartAt::End {
                problems.add(key("start_at"), "is only for kind mysql_slowlog");
            }
        }
    }
}

fn validate_explain(source: &SourceConfig, key: &dyn Fn(&str) -> String, problems: &mut Problems) {
    let dsn_count = source.explain_dsn_source().count();
    if !source.explain {
        if dsn_count > 0 {
            problems.add(key("explain_dsn"), "is only used when explain is on");
        }
        return;
    }
    if source.kind == Kind::Postgres {
        problems.add(
            key("explain"),
            "is only for kinds mysql_slowlog and mysql_digest",
        );
    } else if dsn_count != 1 {
        problems.add(
            key("explain_dsn"),
            "exactly one of explain_dsn, explain_dsn_env and explain_dsn_file is required \
             when explain is on",
        );
    }
    if source.explain_max_per_poll == 0 {
        problems.add(key("explain_max_per_poll"), "must be at least 1");
    }
    if source.explain_timeout.is_zero() {
        problems.add(key("explain_timeout"), "must be positive");
    }
}

fn validate_auto_explain(
    source: &SourceConfig,
    key: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) {
    if source.auto_explain_log.is_some() && source.kind != Kind::Postgres {
        problems.add(key("auto_explain_log"), "is only for kind postgres");
    }
    if source.auto_explain_max_plans == 0 {
        problems.add(key("auto_explain_max_plans"), "must be at least 1");
    }
}
