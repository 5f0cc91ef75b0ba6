//! `db-slowquery digest`: slow log entries grouped by fingerprint, pt-query-digest style.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::sync::mpsc;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::fingerprint::{self, Options};
use crate::slowlog::{Event, Parser};
use crate::stats::Stat;

/// Longest example query kept per class; longer ones are cut (and marked) in the output.
pub const EXAMPLE_MAX_BYTES: usize = 4096;

/// Which entries count, and how queries are fingerprinted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Entries before this Unix time are skipped.
    pub since: Option<i64>,
    /// Entries at or after this Unix time are skipped.
    pub until: Option<i64>,
    pub options: Options,
}

/// One fingerprint's totals; only `Query_time` keeps its distribution (for p95).
#[derive(Debug, Clone)]
pub struct Class {
    pub count: u64,
    pub query_time: Stat,
    pub lock_time: Stat,
    pub rows_sent: Stat,
    pub rows_examined: Stat,
    /// The slowest entry's query, cut at [`EXAMPLE_MAX_BYTES`].
    pub example: Vec<u8>,
    pub example_query_time: f64,
    /// The position of the example in the input, so ties pick the first one whatever the
    /// order in which threads merge.
    pub example_seq: u64,
    pub database: Option<String>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

impl Default for Class {
    fn default() -> Class {
        Class {
            count: 0,
            query_time: Stat::with_quantiles(),
            lock_time: Stat::default(),
            rows_sent: Stat::default(),
            rows_examined: Stat::default(),
            example: Vec::new(),
            example_query_time: 0.0,
            example_seq: 0,
            database: None,
            first_seen: None,
            last_seen: None,
        }
    }
}

impl Class {
    /// Adds one entry; `seq` is its position in the input.
    pub fn add(&mut self, event: &Event, seq: u64) {
        self.count += 1;
        self.query_time.add(event.query_time);
        self.lock_time.add(event.lock_time);
        self.rows_sent.add(event.rows_sent);
        self.rows_examined.add(event.rows_examined);
        if self.count == 1 || self.is_better_example(event.query_time, seq) {
            let end = event.query.len().min(EXAMPLE_MAX_BYTES);
            self.example.clear();
            self.example.extend_from_slice(&event.query[..end]);
            self.example_query_time = event.query_time;
            self.example_seq = seq;
            self.database.clone_from(&event.database);
        }
        if let Some(ts) = event.timestamp {
            self.first_seen = Some(self.first_seen.map_or(ts, |f| f.min(ts)));
            self.last_seen = Some(self.last_seen.map_or(ts, |l| l.max(ts)));
        }
    }
}

impl Class {
    /// The slowest entry is the example; among equals, the first.
    fn is_better_example(&self, query_time: f64, seq: u64) -> bool {
        query_time > self.example_query_time
            || (query_time == self.example_query_time && seq < self.example_seq)
    }

    /// Adds everything `other` saw.
    pub fn merge(&mut self, other: Class) {
        if self.count == 0 || self.is_better_example(other.example_query_time, other.example_seq) {
            self.example = other.example;
            self.example_query_time = other.example_query_time;
            self.example_seq = other.example_seq;
            self.database = other.database;
        }
        self.count += other.count;
        self.query_time.merge(&other.query_time);
        self.lock_time.merge(&other.lock_time);
        self.rows_sent.merge(&other.rows_sent);
        self.rows_examined.merge(&other.rows_examined);
        let min = |a: Option<i64>, b: Option<i64>| a.into_iter().chain(b).min();
        let max = |a: Option<i64>, b: Option<i64>| a.into_iter().chain(b).max();
        self.first_seen = min(self.first_seen, other.first_seen);
        self.last_seen = max(self.last_seen, other.last_seen);
    }
}

/// Entries handed to a fingerprinting thread at once.
const BATCH: usize = 4096;

/// Every class seen in a set of slow logs.
#[derive(Debug, Default)]
pub struct Digest {
    classes: FxHashMap<Vec<u8>, Class>,
    pub events: u64,
    pub filtered: u64,
    pub oversized: u64,
}

impl Digest {
    /// Reads one slow log to its end on this thread.
    pub fn read(&mut self, input: impl Read, filter: &Filter) -> io::Result<()> {
        let mut parser = Parser::new(input);
        while let Some(event) = parser.next_event()? {
            self.add(&event, filter);
        }
        self.oversized += parser.oversized();
        Ok(())
    }

    /// Reads one slow log to its end, parsing on this thread and fingerprinting on `workers`
    /// more. Batches wait in bounded queues, so memory stays bounded; the result is the same as
    /// [`Digest::read`]'s (sums up to floating-point rounding order).
    pub fn read_parallel(
        &mut self,
        input: impl Read,
        filter: &Filter,
        workers: usize,
    ) -> io::Result<()> {
        if workers == 0 {
            return self.read(input, filter);
        }
        let results = std::thread::scope(|scope| -> io::Result<Vec<Digest>> {
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for _ in 0..workers {
                let (tx, rx) = mpsc::sync_channel::<(u64, Vec<Event>)>(2);
                senders.push(tx);
                handles.push(scope.spawn(move || {
                    let mut local = Digest::default();
                    for (first, batch) in rx {
                        for (i, event) in batch.iter().enumerate() {
                            local.add_at(event, filter, first + i as u64);
                        }
                    }
                    local
                }));
            }
            let mut parser = Parser::new(input);
            let mut batch = Vec::with_capacity(BATCH);
            let mut seq = self.events + self.filtered;
            let mut next = 0;
            let mut send = |batch: Vec<Event>, first: u64| {
                // A worker only goes away by panicking, which the join below reports.
                let _ = senders[next % workers].send((first, batch));
                next += 1;
            };
            while let Some(event) = parser.next_event()? {
                batch.push(event);
                if batch.len() == BATCH {
                    send(
                        std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                        seq,
                    );
                    seq += BATCH as u64;
                }
            }
            if !batch.is_empty() {
                send(batch, seq);
            }
            self.oversized += parser.oversized();
            drop(senders);
            Ok(handles
                .into_iter()
                .map(|h| h.join().expect("a fingerprinting thread panicked"))
                .collect())
        })?;
        for local in results {
            self.merge(local);
        }
        Ok(())
    }

    fn merge(&mut self, other: Digest) {
        self.events += other.events;
        self.filtered += other.filtered;
        self.oversized += other.oversized;
        for (fp, class) in other.classes {
            self.classes.entry(fp).or_default().merge(class);
        }
    }

    /// Adds one entry, unless the time filter excludes it.
    pub fn add(&mut self, event: &Event, filter: &Filter) {
        let seq = self.events + self.filtered;
        self.add_at(event, filter, seq);
    }

    fn add_at(&mut self, event: &Event, filter: &Filter, seq: u64) {
        let ts = event.timestamp.unwrap_or(i64::MIN);
        let early = filter.since.is_some_and(|since| ts < since);
        let late = filter.until.is_some_and(|until| ts >= until);
        if early || late {
            self.filtered += 1;
            return;
        }
        self.events += 1;
        let fp = fingerprint::fingerprint_with(&event.query, filter.options);
        match self.classes.get_mut(&fp) {
            Some(class) => class.add(event, seq),
            None => self.classes.entry(fp).or_default().add(event, seq),
        }
    }

    /// The classes by total query time, heaviest first (ties by query ID).
    pub fn ranked(&self) -> Vec<Ranked<'_>> {
        let mut ranked: Vec<Ranked<'_>> = self
            .classes
            .iter()
            .map(|(fp, class)| Ranked {
                id: fingerprint::query_id(fp),
                fingerprint: fp,
                class,
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.class
                .query_time
                .sum
                .total_cmp(&a.class.query_time.sum)
                .then_with(|| a.id.cmp(&b.id))
        });
        ranked
    }

    pub fn class_count(&self) -> usize {
        self.classes.len()
    }
}

/// A class with its query ID, for output.
pub struct Ranked<'a> {
    pub id: String,
    pub fingerprint: &'a [u8],
    pub class: &'a Class,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    global: JsonGlobal,
    classes: Vec<JsonClass<'a>>,
}

#[derive(Serialize)]
struct JsonGlobal {
    events: u64,
    classes: usize,
    filtered: u64,
    oversized: u64,
}

#[derive(Serialize)]
struct JsonClass<'a> {
    rank: usize,
    query_id: &'a str,
    fingerprint: String,
    count: u64,
    query_time: JsonStat,
    lock_time: JsonStat,
    rows_sent: JsonStat,
    rows_examined: JsonStat,
    database: Option<&'a str>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    example: String,
}

#[derive(Serialize)]
struct JsonStat {
    sum: f64,
    mean: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    p95: Option<f64>,
    max: f64,
}

impl From<&Stat> for JsonStat {
    fn from(stat: &Stat) -> JsonStat {
        JsonStat {
            sum: stat.sum,
            mean: stat.mean(),
            p95: stat.has_quantiles().then(|| stat.quantile(0.95)),
            max: stat.max,
        }
    }
}

/// A `--since`/`--until` value: Unix seconds, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (or with a
/// `T`), all UTC, or a duration such as `1h` meaning that long before `now`.
pub fn parse_time_arg(value: &str, now: i64) -> Result<i64, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(ago) = humantime_serde::re::humantime::parse_duration(value) {
        return Ok(now - ago.as_secs() as i64);
    }
    let num = |r: std::ops::Range<usize>| value.get(r).and_then(|s| s.parse::<i64>().ok());
    let bytes = value.as_bytes();
    let date_ok = bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-';
    let (Some(y), Some(mo), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(format!("cannot read {value:?} as a time"));
    };
    if !date_ok || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(format!("cannot read {value:?} as a time"));
    }
    if bytes.len() == 10 {
        return Ok(crate::slowlog::unix_time(y, mo, d, 0, 0, 0));
    }
    match (bytes.len() >= 19, num(11..13), num(14..16), num(17..19)) {
        (true, Some(h), Some(mi), Some(s)) if matches!(bytes[10], b' ' | b'T') => {
            Ok(crate::slowlog::unix_time(y, mo, d, h, mi, s))
        }
        _ => Err(format!("cannot read {value:?} as a time")),
    }
}

/// The report as JSON; `limit` 0 means every class.
pub fn to_json(digest: &Digest, limit: usize) -> String {
    let ranked = digest.ranked();
    let classes = limited(&ranked, limit)
        .iter()
        .enumerate()
        .map(|(i, r)| JsonClass {
            rank: i + 1,
            query_id: &r.id,
            fingerprint: String::from_utf8_lossy(r.fingerprint).into_owned(),
            count: r.class.count,
            query_time: (&r.class.query_time).into(),
            lock_time: (&r.class.lock_time).into(),
            rows_sent: (&r.class.rows_sent).into(),
            rows_examined: (&r.class.rows_examined).into(),
            database: r.class.database.as_deref(),
            first_seen: r.class.first_seen,
            last_seen: r.class.last_seen,
            example: String::from_utf8_lossy(&r.class.example).into_owned(),
        })
        .collect();
    let report = JsonReport {
        global: JsonGlobal {
            events: digest.events,
            classes: digest.class_count(),
            filtered: digest.filtered,
            oversized: digest.oversized,
        },
        classes,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

fn limited<'r, 'a>(ranked: &'r [Ranked<'a>], limit: usize) -> &'r [Ranked<'a>] {
    if limit == 0 {
        ranked
    } else {
        &ranked[..limit.min(ranked.len())]
    }
}

/// The report as a text table, then each class's fingerprint and example.
pub fn to_table(digest: &Digest, limit: usize) -> String {
    let ranked = digest.ranked();
    let shown = limited(&ranked, limit);
    let mut out = format!(
        "# {} events, {} classes, {} shown, {} outside --since/--until, {} oversized\n\n",
        digest.events,
        digest.class_count(),
        shown.len(),
        digest.filtered,
        digest.oversized
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<32}  {:>8}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  {:>11}  {:>13}",
        "Rank",
        "Query ID",
        "Count",
        "Total(s)",
        "Mean(s)",
        "p95(s)",
        "Max(s)",
        "Lock(s)",
        "Rows sent",
        "Rows examined"
    );
    for (i, r) in shown.iter().enumerate() {
        let c = r.class;
        let _ = writeln!(
            out,
            "{:>4}  {:<32}  {:>8}  {:>10.3}  {:>9.6}  {:>9.6}  {:>9.6}  {:>9.6}  {:>11}  {:>13}",
            i + 1,
            r.id,
            c.count,
            c.query_time.sum,
            c.query_time.mean(),
            c.query_time.quantile(0.95),
            c.query_time.max,
            c.lock_time.sum,
            c.rows_sent.sum,
            c.rows_examined.sum
        );
    }
    for (i, r) in shown.iter().enumerate() {
        let _ = write!(
            out,
            "\n# {} {}\n# fingerprint: {}\n{};\n",
            i + 1,
            r.id,
            String::from_utf8_lossy(r.fingerprint),
            String::from_utf8_lossy(&r.class.example)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
# Query_time: 2.0  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 10
SET timestamp=100;
SELECT * FROM t WHERE id = 1;
# Query_time: 1.0  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 10
SET timestamp=200;
SELECT * FROM t WHERE id = 22;
# Query_time: 0.5  Lock_time: 0  Rows_sent: 0  Rows_examined: 0
SET timestamp=300;
UPDATE t SET a = 1;
";

    #[test]
    fn classes_are_ranked_by_total_time_with_the_slowest_example() {
        let mut digest = Digest::default();
        digest.read(LOG.as_bytes(), &Filter::default()).unwrap();
        let ranked = digest.ranked();
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].fingerprint, b"select * from t where id = ?");
        assert_eq!(ranked[0].class.count, 2);
        assert_eq!(ranked[0].class.query_time.sum, 3.0);
        assert_eq!(ranked[0].class.rows_examined.sum, 20.0);
        assert_eq!(ranked[0].class.example, b"SELECT * FROM t WHERE id = 1");
        assert_eq!(ranked[0].class.first_seen, Some(100));
        assert_eq!(ranked[0].class.last_seen, Some(200));
    }

    #[test]
    fn since_and_until_keep_entries_in_the_half_open_range() {
        let mut digest = Digest::default();
        let filter = Filter {
            since: Some(200),
            until: Some(300),
            ..Filter::default()
        };
        digest.read(LOG.as_bytes(), &filter).unwrap();
        assert_eq!(digest.events, 1);
        assert_eq!(digest.filtered, 2);
        let json: serde_json::Value = serde_json::from_str(&to_json(&digest, 0)).unwrap();
        assert_eq!(
            json["classes"][0]["example"],
            "SELECT * FROM t WHERE id = 22"
        );
        assert_eq!(
            json["classes"][0]["query_id"],
            "86A4FD498C70095E35FC3906162972DA"
        );
    }

    #[test]
    fn reading_on_several_threads_gives_the_same_classes() {
        let log = LOG.repeat(700);
        let mut one = Digest::default();
        one.read(log.as_bytes(), &Filter::default()).unwrap();
        let mut many = Digest::default();
        many.read_parallel(log.as_bytes(), &Filter::default(), 3)
            .unwrap();
        assert_eq!(one.events, many.events);
        let summary = |d: &Digest| -> Vec<(String, u64, Vec<u8>, u64)> {
            d.ranked()
                .iter()
                .map(|r| {
                    (
                        r.id.clone(),
                        r.class.count,
                        r.class.example.clone(),
                        r.class.example_seq,
                    )
                })
                .collect()
        };
        assert_eq!(summary(&one), summary(&many));
    }

    #[test]
    fn time_arguments_are_read_as_utc() {
        assert_eq!(parse_time_arg("1700000000", 0), Ok(1_700_000_000));
        assert_eq!(parse_time_arg("2023-11-14", 0), Ok(1_699_920_000));
        assert_eq!(parse_time_arg("2023-11-14T22:13:20", 0), Ok(1_700_000_000));
        assert_eq!(parse_time_arg("1h", 10_000), Ok(6_400));
        assert!(parse_time_arg("yesterday-ish", 0).is_err());
    }

    #[test]
    fn the_limit_cuts_the_table() {
        let mut digest = Digest::default();
        digest.read(LOG.as_bytes(), &Filter::default()).unwrap();
        let table = to_table(&digest, 1);
        assert!(table.contains("2 classes, 1 shown"), "{table}");
        assert!(!table.contains("update t set"), "{table}");
    }
}
