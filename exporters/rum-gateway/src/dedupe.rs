//! Not counting twice: a bounded set of recently seen keys (SDK retries, late re-reports)
//! and a bounded holding area where a re-reported metric replaces its earlier value.
//!
//! Keys are kept as 64-bit hashes (with a per-process random seed), not as strings: at the
//! default 100,000 keys the chance that two collide is about 3 in 10 million, and memory per
//! key drops from a few hundred bytes to a few dozen.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The hash of a key, stable for the life of the process.
pub fn key_hash(key: &str) -> u64 {
    static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    SEED.get_or_init(Default::default).hash_one(key)
}

/// Keys remembered for a time, at most a number of them (the oldest are forgotten first).
#[derive(Debug, Default)]
pub struct TtlSet {
    inner: Mutex<TtlInner>,
}

#[derive(Debug, Default)]
struct TtlInner {
    expiry: HashMap<u64, Instant>,
    order: VecDeque<(Instant, u64)>,
}

impl TtlInner {
    fn sweep(&mut self, now: Instant, max: usize) {
        while let Some(&(at, key)) = self.order.front() {
            if at > now && self.order.len() <= max {
                break;
            }
            if self.expiry.get(&key) == Some(&at) {
                self.expiry.remove(&key);
            }
            self.order.pop_front();
        }
    }
}

impl TtlSet {
    /// Remembers `key` for `ttl`; false if it was already remembered.
    pub fn insert(&self, key: &str, now: Instant, ttl: Duration, max: usize) -> bool {
        self.insert_hash(key_hash(key), now, ttl, max)
    }

    fn insert_hash(&self, key: u64, now: Instant, ttl: Duration, max: usize) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.sweep(now, max.saturating_sub(1));
        if inner.expiry.get(&key).is_some_and(|at| *at > now) {
            return false;
        }
        let at = now + ttl;
        inner.expiry.insert(key, at);
        inner.order.push_back((at, key));
        true
    }

    pub fn contains(&self, key: &str, now: Instant) -> bool {
        self.contains_hash(key_hash(key), now)
    }

    fn contains_hash(&self, key: u64, now: Instant) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expiry.get(&key).is_some_and(|at| *at > now)
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expiry
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What became of an offered report.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// First report of its id: held until its window ends.
    Held,
    /// A re-report within the window: it replaced the held value.
    Replaced,
    /// A re-report after the value was observed: dropped.
    Late,
}

/// Reports held for a window after their first arrival, keyed by id; a later report with
/// the same id replaces the held value. When the window ends the value is released to be
/// observed once, and the id is remembered for another window so stragglers are dropped.
#[derive(Debug)]
pub struct Holding<T> {
    inner: Mutex<HoldInner<T>>,
    released: TtlSet,
}

#[derive(Debug)]
struct HoldInner<T> {
    held: HashMap<u64, T>,
    order: VecDeque<(Instant, u64)>,
}

impl<T> Default for Holding<T> {
    fn default() -> Holding<T> {
        Holding {
            inner: Mutex::new(HoldInner {
                held: HashMap::new(),
                order: VecDeque::new(),
            }),
            released: TtlSet::default(),
        }
    }
}

impl<T> Holding<T> {
    /// Offers a report; when holding it would pass `max`, the oldest held report is
    /// returned to be observed now instead of being lost.
    pub fn offer(
        &self,
        key: &str,
        value: T,
        now: Instant,
        window: Duration,
        max: usize,
    ) -> (Offer, Option<T>) {
        let hash = key_hash(key);
        if self.released.contains_hash(hash, now) {
            return (Offer::Late, None);
        }
        let mut evicted = None;
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = inner.held.get_mut(&hash) {
                *slot = value;
                return (Offer::Replaced, None);
            }
            if inner.held.len() >= max {
                if let Some((_, oldest)) = inner.order.pop_front() {
                    evicted = inner.held.remove(&oldest).map(|v| (oldest, v));
                }
            }
            inner.held.insert(hash, value);
            inner.order.push_back((now, hash));
        }
        let evicted = evicted.map(|(oldest, v)| {
            self.released.insert_hash(oldest, now, window, max);
            v
        });
        (Offer::Held, evicted)
    }

    /// Releases every report first offered at least `window` before `now`.
    pub fn due(&self, now: Instant, window: Duration, max_remembered: usize) -> Vec<T> {
        let mut out = Vec::new();
        let mut keys = Vec::new();
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(&(at, key)) = inner.order.front() {
                if now.duration_since(at) < window {
                    break;
                }
                inner.order.pop_front();
                if let Some(value) = inner.held.remove(&key) {
                    out.push(value);
                    keys.push(key);
                }
            }
        }
        for key in keys {
            self.released.insert_hash(key, now, window, max_remembered);
        }
        out
    }

    /// Releases everything held, at shutdown.
    pub fn drain(&self) -> Vec<T> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.order.clear();
        inner.held.drain().map(|(_, v)| v).collect()
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .held
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(10);

    #[test]
    fn a_key_is_refused_until_its_ttl_passes() {
        let set = TtlSet::default();
        let t0 = Instant::now();
        assert!(set.insert("k", t0, W, 10));
        assert!(!set.insert("k", t0 + Duration::from_secs(9), W, 10));
        assert!(set.insert("k", t0 + Duration::from_secs(11), W, 10));
    }

    #[test]
    fn the_set_forgets_the_oldest_keys_beyond_its_size() {
        let set = TtlSet::default();
        let t0 = Instant::now();
        for i in 0..100 {
            set.insert(&i.to_string(), t0, W, 10);
        }
        assert!(set.len() <= 10);
        assert!(set.contains("99", t0));
    }

    #[test]
    fn a_rereport_replaces_the_held_value_and_a_late_one_is_dropped() {
        let hold = Holding::default();
        let t0 = Instant::now();
        assert_eq!(hold.offer("cls:1", 0.1, t0, W, 10).0, Offer::Held);
        assert_eq!(
            hold.offer("cls:1", 0.3, t0 + Duration::from_secs(1), W, 10)
                .0,
            Offer::Replaced
        );
        assert!(hold.due(t0 + Duration::from_secs(5), W, 10).is_empty());
        assert_eq!(hold.due(t0 + W, W, 10), vec![0.3]);
        assert_eq!(hold.offer("cls:1", 0.4, t0 + W, W, 10).0, Offer::Late);
    }

    #[test]
    fn a_full_holding_area_releases_its_oldest_report_instead_of_losing_one() {
        let hold = Holding::default();
        let t0 = Instant::now();
        hold.offer("a", 1, t0, W, 2);
        hold.offer("b", 2, t0, W, 2);
        assert_eq!(hold.offer("c", 3, t0, W, 2), (Offer::Held, Some(1)));
        assert_eq!(hold.len(), 2);
    }
}
