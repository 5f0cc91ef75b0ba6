//! Per-source query totals with bounded cardinality.
//!
//! Every observation (a slow log entry, or a counter delta from the database) is added to the
//! totals of its query, which rank queries by total time. Only the top K keys own series; the
//! rest go to `query_id="other"`. Each delta is counted in exactly one series when it arrives.
//! A key that leaves the top K hands what its series showed to `other` (which only grows) and
//! its series ends; if it comes back, its series starts again from zero, which Prometheus reads
//! as a counter reset. So the sum of all series of a source is always everything counted, and
//! no series ever decreases while it exists. A newcomer replaces the lightest member only when
//! it is heavier by the hysteresis margin, so members do not churn between scrapes.

use std::collections::HashMap;

use serde::Serialize;

/// A query ID within its database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub database: String,
    pub query_id: String,
}

/// Counter deltas of one observation.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    pub calls: u64,
    pub exec_seconds: f64,
    pub lock_seconds: f64,
    pub rows_sent: f64,
    pub rows_examined: f64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.calls += other.calls;
        self.exec_seconds += other.exec_seconds;
        self.lock_seconds += other.lock_seconds;
        self.rows_sent += other.rows_sent;
        self.rows_examined += other.rows_examined;
    }
}

/// What a source reports about one query.
pub struct Observation<'a> {
    pub key: Key,
    /// The fingerprint (slow log) or normalised text (database); only read for new keys.
    pub fingerprint: &'a str,
    /// An example statement, kept for `/queries`.
    pub example: Option<&'a str>,
    pub delta: Totals,
    /// The duration of a single execution, for the histogram (slow log only).
    pub duration: Option<f64>,
}

/// Counts of a histogram, one per bucket bound, plus sum and count.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.counts.len() != bounds.len() {
            self.counts.resize(bounds.len(), 0);
        }
        for (count, &bound) in self.counts.iter_mut().zip(bounds) {
            if value <= bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }
}

/// One tracked query.
#[derive(Debug, Clone)]
pub struct Query {
    pub fingerprint: String,
    pub example: String,
    /// Everything seen since the key was first tracked: the ranking.
    pub seen: Totals,
    /// What its own series shows.
    pub exported: Totals,
    pub histogram: Histogram,
    pub in_top: bool,
}

/// Limits of one source.
#[derive(Debug, Clone)]
pub struct Limits {
    pub top_k: usize,
    pub hysteresis: f64,
    pub max_tracked: usize,
    pub fingerprint_max_length: usize,
    pub bucket_bounds: Vec<f64>,
}

/// Totals of one source.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub limits: Limits,
    pub queries: HashMap<Key, Query>,
    pub other: Totals,
    pub other_histogram: Histogram,
    top_count: usize,
    /// Keys dropped from memory because more than `max_tracked` were seen.
    pub forgotten: u64,
}

impl Aggregate {
    pub fn new(limits: Limits) -> Aggregate {
        Aggregate {
            limits,
            queries: HashMap::new(),
            other: Totals::default(),
            other_histogram: Histogram::default(),
            top_count: 0,
            forgotten: 0,
        }
    }

    /// Adds one observation to its query's series, or to `other`.
    pub fn record(&mut self, observation: Observation<'_>) {
        let top_full = self.top_count >= self.limits.top_k;
        let max_len = self.limits.fingerprint_max_length;
        let query = self
            .queries
            .entry(observation.key)
            .or_insert_with(|| Query {
                fingerprint: truncate(observation.fingerprint, max_len),
                example: String::new(),
                seen: Totals::default(),
                exported: Totals::default(),
                histogram: Histogram::default(),
                in_top: false,
            });
        if !query.in_top && !top_full {
            query.in_top = true;
            self.top_count += 1;
        }
        if let Some(example) = observation.example {
            if query.example.is_empty() {
                query.example = truncate(example, 4096);
            }
        }
        query.seen.add(&observation.delta);
        let bounds = &self.limits.bucket_bounds;
        if query.in_top {
            query.exported.add(&observation.delta);
            if let Some(d) = observation.duration {
                query.histogram.observe(bounds, d);
            }
        } else {
            self.other.add(&observation.delta);
            if let Some(d) = observation.duration {
                self.other_histogram.observe(bounds, d);
            }
        }
    }

    /// Re-ranks after a batch of observations: newcomers heavier than the lightest member by
    /// the hysteresis margin take its place; then the memory limit is enforced.
    pub fn rerank(&mut self) {
        let mut outside: Vec<(f64, Key)> = Vec::new();
        let mut inside: Vec<(f64, Key)> = Vec::new();
        for (key, q) in &self.queries {
            let entry = (q.seen.exec_seconds, key.clone());
            if q.in_top {
                inside.push(entry);
            } else {
                outside.push(entry);
            }
        }
        outside.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        inside.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        let mut lightest = inside.into_iter();
        for (weight, key) in outside {
            if self.top_count < self.limits.top_k {
                self.set_top(&key, true);
                continue;
            }
            let Some((member_weight, member)) = lightest.next() else {
                break;
            };
            if weight <= member_weight * (1.0 + self.limits.hysteresis) {
                break;
            }
            self.set_top(&member, false);
            self.set_top(&key, true);
        }
        self.forget_lightest();
    }

    fn set_top(&mut self, key: &Key, in_top: bool) {
        let Some(q) = self.queries.get_mut(key) else {
            return;
        };
        if q.in_top == in_top {
            return;
        }
        q.in_top = in_top;
        if in_top {
            self.top_count += 1;
            return;
        }
        self.top_count -= 1;
        self.other.add(&q.exported);
        q.exported = Totals::default();
        merge_histogram(&mut self.other_histogram, &q.histogram);
        q.histogram = Histogram::default();
    }

    /// Drops the lightest keys outside the top K beyond `max_tracked`; their counts are in
    /// `other` already.
    fn forget_lightest(&mut self) {
        let excess = self.queries.len().saturating_sub(self.limits.max_tracked);
        if excess == 0 {
            return;
        }
        let mut candidates: Vec<(f64, Key)> = self
            .queries
            .iter()
            .filter(|(_, q)| !q.in_top)
            .map(|(k, q)| (q.seen.exec_seconds, k.clone()))
            .collect();
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, key) in candidates.into_iter().take(excess) {
            if self.queries.remove(&key).is_some() {
                self.forgotten += 1;
            }
        }
    }

    /// The keys with their own series, heaviest first.
    pub fn top(&self) -> Vec<(&Key, &Query)> {
        let mut top: Vec<(&Key, &Query)> = self.queries.iter().filter(|(_, q)| q.in_top).collect();
        top.sort_by(|a, b| {
            b.1.seen
                .exec_seconds
                .total_cmp(&a.1.seen.exec_seconds)
                .then_with(|| a.0.cmp(b.0))
        });
        top
    }
}

fn merge_histogram(into: &mut Histogram, from: &Histogram) {
    if into.counts.len() < from.counts.len() {
        into.counts.resize(from.counts.len(), 0);
    }
    for (a, b) in into.counts.iter_mut().zip(&from.counts) {
        *a += b;
    }
    into.sum += from.sum;
    into.count += from.count;
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests;
