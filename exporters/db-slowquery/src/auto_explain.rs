//! Optional plans of PostgreSQL top queries, read from the `auto_explain` entries of the server
//! log (`stderr` format, `auto_explain.log_format` `json` or `text`).
//!
//! An entry is a `duration: … ms  plan:` line followed by lines that start with a tab. A plan is
//! matched to a query by its `Query Identifier` (with `auto_explain.log_verbose = on` and
//! `compute_query_id`; PostgreSQL 16 and later) or the `query_id=%Q` of `log_line_prefix`,
//! else by its query text with constants replaced, compared with the
//! normalised text of `pg_stat_statements`. The last plans read are kept, at most
//! `auto_explain_max_plans`, so a query that enters the top K later still finds its plan.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::config::SourceConfig;
use crate::explain::{Plan, PLAN_MAX_BYTES};
use crate::exporter::{lock, Shared};

/// One plan read from the log, with what it can be matched by.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedPlan {
    pub query_id: Option<String>,
    pub text: Option<String>,
    pub plan: Value,
}

/// Cuts the log into plan entries, line by line.
#[derive(Debug, Default)]
pub struct Parser {
    entry: Option<String>,
    /// The `query_id=N` of the entry's first line (`%Q` in `log_line_prefix`).
    prefix_id: Option<String>,
    oversized: bool,
    /// Entries longer than [`PLAN_MAX_BYTES`], skipped.
    pub skipped: u64,
}

impl Parser {
    /// Takes one line (without its newline); returns the entry this line ended, if any.
    pub fn line(&mut self, line: &str) -> Option<LoggedPlan> {
        if let Some(rest) = line.strip_prefix('\t') {
            if let Some(entry) = self.entry.as_mut() {
                if entry.len() + rest.len() + 1 > PLAN_MAX_BYTES {
                    self.oversized = true;
                } else if !self.oversized {
                    entry.push_str(rest);
                    entry.push('\n');
                }
            }
            return None;
        }
        let ended = self.finish();
        if line.contains("duration: ") && line.trim_end().ends_with("plan:") {
            self.entry = Some(String::new());
            self.prefix_id = prefix_query_id(line);
        }
        ended
    }

    /// Ends the entry being read (the log has been quiet since it was written).
    pub fn finish(&mut self) -> Option<LoggedPlan> {
        let entry = self.entry.take()?;
        if std::mem::take(&mut self.oversized) {
            self.skipped += 1;
            return None;
        }
        let mut plan = parse_entry(&entry)?;
        // 0 means no query ID was computed.
        let prefix_id = self.prefix_id.take().filter(|id| id != "0");
        plan.query_id = plan.query_id.or(prefix_id);
        Some(plan)
    }
}

/// The signed number after `query_id=` in a log line, if any.
fn prefix_query_id(line: &str) -> Option<String> {
    let rest = &line[line.find("query_id=")? + "query_id=".len()..];
    let end = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    let id = &rest[..end];
    id.parse::<i64>().ok().map(|_| id.to_string())
}

fn parse_entry(entry: &str) -> Option<LoggedPlan> {
    if entry.trim_start().starts_with('{') {
        let plan: Value = serde_json::from_str(entry).ok()?;
        let query_id = match &plan["Query Identifier"] {
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let text = plan["Query Text"].as_str().map(str::to_string);
        return Some(LoggedPlan {
            query_id,
            text,
            plan,
        });
    }
    let mut text = None;
    let mut query_id = None;
    for line in entry.lines() {
        if let Some(t) = line.strip_prefix("Query Text: ") {
            text.get_or_insert_with(|| t.to_string());
        } else if let Some(id) = line.strip_prefix("Query Identifier: ") {
            query_id.get_or_insert_with(|| id.trim().to_string());
        }
    }
    Some(LoggedPlan {
        query_id,
        text,
        plan: Value::String(entry.to_string()),
    })
}

/// A query text with constants, parameters and whitespace dropped, lowercased, so that
/// `SELECT * FROM t WHERE id = 5;` and `SELECT * FROM t WHERE id = $1` compare equal.
pub fn normalise(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    while i < bytes.len() {
        let b = bytes[i];
        let after_word = i > 0 && word(bytes[i - 1]);
        if b == b'\'' {
            i += 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else if bytes[i] == b'\'' {
                    break;
                } else {
                    i += 1;
                }
            }
            out.push('?');
        } else if (b.is_ascii_digit() || b == b'$') && !after_word {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            out.push('?');
            continue;
        } else if b >= 0x80 {
            // Keep multi-byte characters whole.
            let len = sql[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&sql[i..i + len]);
            i += len;
            continue;
        } else if !b.is_ascii_whitespace() {
            out.push(char::from(b.to_ascii_lowercase()));
        }
        i += 1;
    }
    out.trim_end_matches(';').to_string()
}

/// The last plans read, by query ID and by normalised text, at most `capacity` of them.
#[derive(Debug)]
pub struct Recent {
    capacity: usize,
    by_match: HashMap<String, Value>,
    order: VecDeque<String>,
    /// Plans dropped because the cache was full.
    pub evicted: u64,
}

impl Recent {
    pub fn new(capacity: usize) -> Recent {
        Recent {
            capacity,
            by_match: HashMap::new(),
            order: VecDeque::new(),
            evicted: 0,
        }
    }

    pub fn insert(&mut self, logged: LoggedPlan) {
        let key = match (&logged.query_id, &logged.text) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(text)) => format!("text:{}", normalise(text)),
            (None, None) => return,
        };
        if let Some(text) = logged.text.as_deref().filter(|_| logged.query_id.is_some()) {
            // Also reachable by text, for a query ID computed differently.
            self.put(format!("text:{}", normalise(text)), logged.plan.clone());
        }
        self.put(key, logged.plan);
    }

    fn put(&mut self, key: String, plan: Value) {
        if self.by_match.insert(key.clone(), plan).is_some() {
            self.order.retain(|k| k != &key);
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.by_match.remove(&old);
                self.evicted += 1;
            }
        }
    }

    /// The plan of a query, by its ID first, then by its normalised text.
    pub fn find(&self, query_id: &str, text: &str) -> Option<&Value> {
        self.by_match
            .get(&format!("id:{query_id}"))
            .or_else(|| self.by_match.get(&format!("text:{}", normalise(text))))
    }
}

/// Follows the server log file from its end, across rename and truncation.
struct LogTail {
    path: PathBuf,
    file: Option<(File, u64)>,
    position: u64,
    partial: Vec<u8>,
}

impl LogTail {
    fn open(path: PathBuf) -> LogTail {
        let mut tail = LogTail {
            path,
            file: None,
            position: 0,
            partial: Vec::new(),
        };
        if let Ok(file) = File::open(&tail.path) {
            let meta = file.metadata().ok();
            tail.position = meta.as_ref().map_or(0, |m| m.len());
            tail.file = Some((file, meta.map_or(0, |m| m.ino())));
        }
        tail
    }

    /// Feeds the complete lines written since the last call; returns whether any were.
    fn read(&mut self, line: &mut dyn FnMut(&str)) -> std::io::Result<bool> {
        let current = std::fs::metadata(&self.path)?;
        let mut any = self.drain(line)?;
        let renamed = self
            .file
            .as_ref()
            .is_none_or(|(_, ino)| *ino != current.ino());
        if renamed || current.len() < self.position {
            self.file = Some((File::open(&self.path)?, current.ino()));
            self.position = 0;
            self.partial.clear();
            any |= self.drain(line)?;
        }
        Ok(any)
    }

    fn drain(&mut self, line: &mut dyn FnMut(&str)) -> std::io::Result<bool> {
        let Some((file, _)) = self.file.as_mut() else {
            return Ok(false);
        };
        file.seek(SeekFrom::Start(self.position))?;
        let mut chunk = vec![0; 64 * 1024];
        let mut any = false;
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                return Ok(any);
            }
            any = true;
            self.position += n as u64;
            for piece in chunk[..n].split_inclusive(|&b| b == b'\n') {
                if self.partial.len() + piece.len() <= PLAN_MAX_BYTES + 1024 {
                    self.partial.extend_from_slice(piece);
                }
                if piece.ends_with(b"\n") {
                    let text = String::from_utf8_lossy(&self.partial);
                    line(text.trim_end_matches(['\n', '\r']));
                    self.partial.clear();
                }
            }
        }
    }
}

/// Reads the log every poll interval until stopped, and gives the top queries their plans.
pub fn start(config: SourceConfig, shared: Shared, stop: Arc<AtomicBool>) {
    let Some(path) = config.auto_explain_log.clone() else {
        return;
    };
    std::thread::spawn(move || {
        let mut tail = LogTail::open(path);
        let mut parser = Parser::default();
        let mut recent = Recent::new(config.auto_explain_max_plans);
        let mut warned = false;
        while !stop.load(Ordering::Relaxed) {
            let mut read = Vec::new();
            let result = tail.read(&mut |line| read.extend(parser.line(line)));
            if let Ok(false) = result {
                read.extend(parser.finish());
            }
            match &result {
                // Logged once until the log can be read again.
                Err(error) if !std::mem::replace(&mut warned, true) => {
                    tracing::warn!(source = %config.name, %error, "could not read the server log");
                }
                Err(_) => {}
                Ok(_) => warned = false,
            }
            let count = read.len() as u64;
            read.into_iter().for_each(|p| recent.insert(p));
            if !assign(&config, &shared, &recent, count, parser.skipped) {
                break;
            }
            crate::exporter::sleep_unless_stopped(config.interval(), &stop);
        }
    });
}

/// Gives each top query the plan last read for it; false when the source is gone.
fn assign(
    config: &SourceConfig,
    shared: &Shared,
    recent: &Recent,
    read: u64,
    skipped: u64,
) -> bool {
    let mut states = lock(shared);
    let Some(state) = states.get_mut(&config.name) else {
        return false;
    };
    let top: Vec<_> = state
        .aggregate
        .top()
        .into_iter()
        .map(|(key, q)| (key.clone(), recent.find(&key.query_id, &q.example).cloned()))
        .collect();
    let plans = &mut state.plans;
    plans.logged_read += read;
    plans.logged_oversized = skipped;
    plans.logged_evicted = recent.evicted;
    plans.by_key.clear();
    for (key, plan) in top {
        if let Some(plan) = plan {
            plans.by_key.insert(key, Plan::Json(plan));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_and_parameters_normalise_alike() {
        assert_eq!(
            normalise("SELECT * FROM items WHERE id = 42 AND name = 'it''s';"),
            normalise("select *\n from items where id = $1 and name = $2")
        );
        assert_ne!(normalise("SELECT a FROM t1"), normalise("SELECT a FROM t2"));
        assert_eq!(normalise("SELECT x1 FROM t"), "selectx1fromt");
    }

    #[test]
    fn json_and_text_entries_are_cut_from_the_log_lines() {
        let mut parser = Parser::default();
        let lines = [
            "2026-12-03 10:00:00 UTC [42] LOG:  statement: SELECT 1",
            "2026-12-03 10:00:00 UTC [42] LOG:  duration: 0.015 ms  plan:",
            "\t{",
            "\t  \"Query Text\": \"SELECT 1;\",",
            "\t  \"Query Identifier\": -123,",
            "\t  \"Plan\": {\"Node Type\": \"Result\"}",
            "\t}",
            "2026-12-03 10:00:01 UTC [42] LOG:  duration: 0.020 ms  plan:",
            "\tQuery Text: SELECT * FROM t WHERE id = 1",
            "\tIndex Scan using t_pkey on t  (cost=0.15..8.17 rows=1 width=8)",
        ];
        let found: Vec<LoggedPlan> = lines.iter().filter_map(|l| parser.line(l)).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].query_id.as_deref(), Some("-123"));
        assert_eq!(found[0].plan["Plan"]["Node Type"], "Result");
        let text = parser.finish().unwrap();
        assert_eq!(text.text.as_deref(), Some("SELECT * FROM t WHERE id = 1"));
        assert!(text.plan.as_str().unwrap().contains("Index Scan"));
    }

    #[test]
    fn a_query_id_in_the_log_line_prefix_is_used() {
        let mut parser = Parser::default();
        parser.line("2026-12-03 10:00:00 UTC [42] query_id=-4021 LOG:  duration: 1 ms  plan:");
        parser.line("\tQuery Text: /* app */ SELECT 1");
        let plan = parser.finish().unwrap();
        assert_eq!(plan.query_id.as_deref(), Some("-4021"));
        parser.line("[42] query_id=0 LOG:  duration: 1 ms  plan:");
        parser.line("\tQuery Text: SELECT 1");
        assert_eq!(parser.finish().unwrap().query_id, None, "0 is no query ID");

        let mut recent = Recent::new(10);
        recent.insert(plan);
        let found = recent.find("-4021", "SELECT 2");
        assert!(found.is_some(), "matched by ID although the texts differ");
        assert!(recent.find("7", "select 1").is_none());
    }

    #[test]
    fn the_log_is_followed_from_its_end_across_rename_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postgresql.log");
        let write = |text: &str| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap();
            file.write_all(text.as_bytes()).unwrap();
        };
        let mut lines = Vec::new();
        write("old\n");
        let mut tail = LogTail::open(path.clone());
        write("one\ntw");
        tail.read(&mut |l| lines.push(l.to_string())).unwrap();
        write("o\n");
        std::fs::rename(&path, dir.path().join("postgresql.log.1")).unwrap();
        write("three\n");
        tail.read(&mut |l| lines.push(l.to_string())).unwrap();
        std::fs::write(&path, "").unwrap();
        write("four\n");
        tail.read(&mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["one", "two", "three", "four"]);
    }

    #[test]
    fn oversized_entries_are_skipped_and_the_cache_is_bounded() {
        let mut parser = Parser::default();
        parser.line("LOG:  duration: 1 ms  plan:");
        let long = format!("\t{}", "x".repeat(PLAN_MAX_BYTES));
        parser.line(&long);
        assert_eq!(parser.finish(), None);
        assert_eq!(parser.skipped, 1);

        let mut recent = Recent::new(2);
        for id in 0..3 {
            recent.insert(LoggedPlan {
                query_id: Some(id.to_string()),
                text: None,
                plan: Value::from(id),
            });
        }
        assert_eq!(recent.evicted, 1);
        assert_eq!(recent.find("0", ""), None);
        assert_eq!(recent.find("2", ""), Some(&Value::from(2)));
    }
}
