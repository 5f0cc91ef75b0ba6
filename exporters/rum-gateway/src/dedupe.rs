//! Not counting twice: a bounded set of recently seen keys (SDK retries, late re-reports)
//! and a bounded holding area where a re-reported metric replaces its earlier value.
//!
//! Keys are kept as 64-bit hashes (with a per-process random seed), not as strings: at the
//! default 100,000 keys the chance that two collide is about 3 in 10 million, and memory per
//! key drops from a few hundred bytes to a few dozen.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

fn seed() -> &'static RandomState {
    static SEED: OnceLock<RandomState> = OnceLock::new();
    SEED.get_or_init(Default::default)
}

/// The hash of a key, stable for the life of the process.
pub fn key_hash(key: &str) -> u64 {
    seed().hash_one(key)
}

/// The hash of a report id (what it is about, then the reporter's id) within its app,
/// without joining them into one string first.
pub fn report_key(app: &str, kind: &str, id: &str) -> u64 {
    let mut hasher = seed().build_hasher();
    app.hash(&mut hasher);
    kind.hash(&mut hasher);
    id.hash(&mut hasher);
    hasher.finish()
}

/// The maps below are keyed by hashes made with a per-process random seed, so they need no
/// second hash (and an attacker cannot aim keys at one bucket).
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

/// Keys remembered for a time, at most a number of them (the oldest are forgotten first).
#[derive(Debug, Default)]
pub struct TtlSet {
    inner: Mutex<TtlInner>,
}

#[derive(Debug, Default)]
struct TtlInner {
    expiry: HashKeyed<Instant>,
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

    fn insert(&mut self, key: u64, now: Instant, ttl: Duration, max: usize) -> bool {
        self.sweep(now, max.saturating_sub(1));
        if self.contains(key, now) {
            return false;
        }
        let at = now + ttl;
        self.expiry.insert(key, at);
        self.order.push_back((at, key));
        true
    }

    fn contains(&self, key: u64, now: Instant) -> bool {
        self.expiry.get(&key).is_some_and(|at| *at > now)
    }
}

impl TtlSet {
    /// Remembers `key` for `ttl`; false if it was already remembered.
    pub fn insert(&self, key: &str, now: Instant, ttl: Duration, max: usize) -> bool {
        self.insert_hash(key_hash(key), now, ttl, max)
    }

    /// [`TtlSet::insert`] for a key already hashed with [`key_hash`] or [`report_key`].
    pub fn insert_hash(&self, key: u64, now: Instant, ttl: Duration, max: usize) -> bool {
        self.lock().insert(key, now, ttl, max)
    }

    pub fn contains(&self, key: &str, now: Instant) -> bool {
        self.lock().contains(key_hash(key), now)
    }

    pub fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TtlInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
    /// First report of its id after the holding area closed: observe it now.
    Passed,
}

/// Reports held for a window after their first arrival, keyed by id; a later report with
/// the same id replaces the held value. When the window ends the value is released to be
/// observed once, and the id is remembered for another window so stragglers are dropped.
/// Held values and remembered ids share one map, so an offer costs one lookup in it (at a
/// million beacons a minute the map is far larger than the CPU caches, and each lookup is a
/// cache miss) under one lock. Once [`Holding::close`]d (at shutdown), nothing more is held:
/// first reports pass straight through, re-reports are dropped.
#[derive(Debug)]
pub struct Holding<T> {
    inner: Mutex<HoldInner<T>>,
}

#[derive(Debug)]
enum Slot<T> {
    /// Waiting out its window; its first arrival is in `order`.
    Held(T),
    /// Observed; reports of the id are dropped until this instant (also in `released`).
    Released(Instant),
}

#[derive(Debug)]
struct HoldInner<T> {
    slots: HashKeyed<Slot<T>>,
    /// Slots that are `Held`.
    held: usize,
    /// Held ids by first arrival.
    order: VecDeque<(Instant, u64)>,
    /// Released ids by the end of their remembering.
    released: VecDeque<(Instant, u64)>,
    closed: bool,
}

impl<T> Default for Holding<T> {
    fn default() -> Holding<T> {
        Holding {
            inner: Mutex::new(HoldInner {
                slots: HashKeyed::default(),
                held: 0,
                order: VecDeque::new(),
                released: VecDeque::new(),
                closed: false,
            }),
        }
    }
}

impl<T> HoldInner<T> {
    /// Forgets released ids whose time is over, and the oldest beyond `max` of them.
    fn sweep(&mut self, now: Instant, max: usize) {
        while let Some(&(until, key)) = self.released.front() {
            if until > now && self.released.len() <= max {
                break;
            }
            self.released.pop_front();
            // The id may be held again by now (released, forgotten, reported anew).
            if matches!(self.slots.get(&key), Some(Slot::Released(u)) if *u == until) {
                self.slots.remove(&key);
            }
        }
    }

    /// Releases the held report `key`: its value, and the id remembered for `window`.
    fn release(&mut self, key: u64, now: Instant, window: Duration, max: usize) -> Option<T> {
        let until = now + window;
        let slot = self.slots.get_mut(&key)?;
        let Slot::Held(_) = slot else {
            return None;
        };
        let Slot::Held(value) = std::mem::replace(slot, Slot::Released(until)) else {
            unreachable!("the slot was just seen held");
        };
        self.held -= 1;
        self.released.push_back((until, key));
        self.sweep(now, max);
        Some(value)
    }
}

impl<T> Holding<T> {
    /// Offers a report under its hashed key ([`report_key`]); when holding it would pass
    /// `max`, the oldest held report is returned to be observed now instead of being lost.
    pub fn offer(
        &self,
        hash: u64,
        value: T,
        now: Instant,
        window: Duration,
        max: usize,
    ) -> (Offer, Option<T>) {
        let mut inner = self.lock();
        match inner.slots.get_mut(&hash) {
            Some(Slot::Released(until)) if *until > now => return (Offer::Late, None),
            Some(Slot::Held(held)) => {
                *held = value;
                return (Offer::Replaced, None);
            }
            // Absent, or remembered past its time: a first report.
            _ => {}
        }
        if inner.closed {
            let until = now + window;
            inner.slots.insert(hash, Slot::Released(until));
            inner.released.push_back((until, hash));
            inner.sweep(now, max);
            return (Offer::Passed, Some(value));
        }
        let mut evicted = None;
        if inner.held >= max {
            if let Some((_, oldest)) = inner.order.pop_front() {
                evicted = inner.release(oldest, now, window, max);
            }
        }
        inner.slots.insert(hash, Slot::Held(value));
        inner.held += 1;
        inner.order.push_back((now, hash));
        (Offer::Held, evicted)
    }

    /// Releases every report first offered at least `window` before `now`.
    pub fn due(&self, now: Instant, window: Duration, max_remembered: usize) -> Vec<T> {
        let mut out = Vec::new();
        let mut inner = self.lock();
        while let Some(&(at, key)) = inner.order.front() {
            if now.duration_since(at) < window {
                break;
            }
            inner.order.pop_front();
            if let Some(value) = inner.release(key, now, window, max_remembered) {
                out.push(value);
            }
        }
        inner.sweep(now, max_remembered);
        out
    }

    /// Closes the holding area and releases everything held, whatever its window: at
    /// shutdown. The ids stay remembered for `window`, so re-reports are still dropped.
    pub fn close(&self, now: Instant, window: Duration, max_remembered: usize) -> Vec<T> {
        let mut inner = self.lock();
        inner.closed = true;
        let mut out = Vec::with_capacity(inner.held);
        while let Some((_, key)) = inner.order.pop_front() {
            if let Some(value) = inner.release(key, now, window, max_remembered) {
                out.push(value);
            }
        }
        out
    }

    /// Reports held now.
    pub fn len(&self) -> usize {
        self.lock().held
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids remembered as released now (for tests of the bound).
    pub fn remembered(&self) -> usize {
        self.lock().released.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HoldInner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
        assert_eq!(hold.offer(key_hash("cls:1"), 0.1, t0, W, 10).0, Offer::Held);
        assert_eq!(
            hold.offer(key_hash("cls:1"), 0.3, t0 + Duration::from_secs(1), W, 10)
                .0,
            Offer::Replaced
        );
        assert!(hold.due(t0 + Duration::from_secs(5), W, 10).is_empty());
        assert_eq!(hold.due(t0 + W, W, 10), vec![0.3]);
        assert_eq!(
            hold.offer(key_hash("cls:1"), 0.4, t0 + W, W, 10).0,
            Offer::Late
        );
    }

    #[test]
    fn a_closed_holding_area_releases_everything_and_then_holds_nothing() {
        let hold = Holding::default();
        let t0 = Instant::now();
        hold.offer(key_hash("a"), 1, t0, W, 10);
        hold.offer(key_hash("b"), 2, t0, W, 10);
        assert_eq!(hold.close(t0, W, 10), vec![1, 2]);
        assert!(hold.is_empty());
        assert_eq!(hold.offer(key_hash("a"), 3, t0, W, 10), (Offer::Late, None));
        assert_eq!(
            hold.offer(key_hash("c"), 4, t0, W, 10),
            (Offer::Passed, Some(4))
        );
        assert_eq!(hold.offer(key_hash("c"), 5, t0, W, 10), (Offer::Late, None));
        assert!(hold.is_empty());
    }

    #[test]
    fn a_released_id_is_forgotten_after_its_window_and_may_be_held_again() {
        let hold = Holding::default();
        let t0 = Instant::now();
        hold.offer(key_hash("a"), 1, t0, W, 10);
        assert_eq!(hold.due(t0 + W, W, 10), vec![1]);
        assert_eq!(hold.remembered(), 1);
        let later = t0 + W + W + Duration::from_secs(1);
        assert_eq!(
            hold.offer(key_hash("a"), 2, later, W, 10),
            (Offer::Held, None)
        );
        assert_eq!(hold.len(), 1);
        // The old remembering, swept now, must not forget the new held report.
        assert!(hold.due(later, W, 10).is_empty());
        assert_eq!(hold.remembered(), 0);
        assert_eq!(hold.due(later + W, W, 10), vec![2]);
    }

    #[test]
    fn remembered_ids_stay_within_the_bound() {
        let hold = Holding::default();
        let t0 = Instant::now();
        for i in 0..100 {
            hold.offer(key_hash(&i.to_string()), i, t0, W, 10);
        }
        assert_eq!(hold.len(), 10);
        assert!(hold.remembered() <= 10);
        assert_eq!(hold.due(t0 + W, W, 10).len(), 10);
        assert!(hold.remembered() <= 10);
    }

    #[test]
    fn a_full_holding_area_releases_its_oldest_report_instead_of_losing_one() {
        let hold = Holding::default();
        let t0 = Instant::now();
        hold.offer(key_hash("a"), 1, t0, W, 2);
        hold.offer(key_hash("b"), 2, t0, W, 2);
        assert_eq!(
            hold.offer(key_hash("c"), 3, t0, W, 2),
            (Offer::Held, Some(1))
        );
        assert_eq!(hold.len(), 2);
    }
}
