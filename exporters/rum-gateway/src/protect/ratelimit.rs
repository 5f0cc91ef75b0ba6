//! Token buckets keyed by client IP or app, in a bounded map.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use exporter_kit::prometheus_client::metrics::counter::Counter;

use crate::config::Rate;

/// The least time between two sweeps of a full map for refilled buckets: a sweep walks every
/// key, so while the map is full of active clients a new client costs one walk a second at
/// most, not one each.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    /// Refills for the time since the last take, then takes one token if there is one.
    fn take(&mut self, rate: f64, burst: f64, now: Instant) -> Result<(), Duration> {
        self.tokens = (self.tokens + elapsed(self.at, now) * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// Buckets by key (a client IP, an app name), at most `max_keys` of them; every new key
/// shares one overflow bucket while the map is full of active ones, and each request taken
/// from that bucket is counted.
#[derive(Debug)]
pub struct Limiter<K> {
    inner: Mutex<Buckets<K>>,
    shared: Counter,
}

#[derive(Debug)]
struct Buckets<K> {
    by_key: HashMap<K, Bucket>,
    overflow: Option<Bucket>,
    last_sweep: Option<Instant>,
}

impl<K> Default for Limiter<K> {
    fn default() -> Limiter<K> {
        Limiter::counting(Counter::default())
    }
}

impl<K> Limiter<K> {
    /// A limiter that counts in `shared` each request checked against the overflow bucket.
    pub fn counting(shared: Counter) -> Limiter<K> {
        Limiter {
            inner: Mutex::new(Buckets {
                by_key: HashMap::new(),
                overflow: None,
                last_sweep: None,
            }),
            shared,
        }
    }
}

impl<K: Hash + Eq> Limiter<K> {
    /// Takes one token for `key`; when none is left, how long until one is. A key already
    /// tracked costs no allocation.
    pub fn check<Q>(
        &self,
        key: &Q,
        rate: Rate,
        max_keys: usize,
        now: Instant,
    ) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let burst = f64::from(rate.burst.max(1));
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = inner.by_key.get_mut(key) {
            return bucket.take(rate.rate, burst, now);
        }
        let sweep_due = |last: Option<Instant>| {
            last.is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_INTERVAL)
        };
        if inner.by_key.len() >= max_keys && sweep_due(inner.last_sweep) {
            // Forget buckets that have refilled: they behave exactly like new ones.
            inner
                .by_key
                .retain(|_, b| b.tokens + elapsed(b.at, now) * rate.rate < burst);
            inner.last_sweep = Some(now);
        }
        if inner.by_key.len() < max_keys {
            let bucket = inner
                .by_key
                .entry(key.to_owned())
                .or_insert(Bucket::full(burst, now));
            return bucket.take(rate.rate, burst, now);
        }
        self.shared.inc();
        inner
            .overflow
            .get_or_insert(Bucket::full(burst, now))
            .take(rate.rate, burst, now)
    }

    /// Keys tracked, the overflow bucket included once used.
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.by_key.len() + usize::from(inner.overflow.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn elapsed(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64()
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let limiter = Limiter::<String>::default();
        let rate = Rate {
            rate: 2.0,
            burst: 3,
        };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("ip", rate, 10, t0).is_ok());
        }
        let wait = limiter.check("ip", rate, 10, t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 1);
        assert!(limiter
            .check("ip", rate, 10, t0 + Duration::from_millis(500))
            .is_ok());
        assert!(limiter.check("other", rate, 10, t0).is_ok());
    }

    #[test]
    fn the_map_stays_bounded_under_many_clients() {
        let limiter = Limiter::<String>::default();
        let rate = Rate {
            rate: 1.0,
            burst: 1,
        };
        let t0 = Instant::now();
        for i in 0..1000 {
            let _ = limiter.check(&i.to_string(), rate, 100, t0);
        }
        assert!(limiter.len() <= 101);
    }

    /// A limiter with its shared-bucket counter, and a rate.
    fn counted(rate: f64, burst: u32) -> (Limiter<String>, Counter, Rate) {
        let shared = Counter::default();
        let limiter = Limiter::counting(shared.clone());
        (limiter, shared, Rate { rate, burst })
    }

    #[test]
    fn new_keys_share_a_counted_bucket_while_the_map_is_full_of_active_ones() {
        let (limiter, shared, rate) = counted(1.0, 2);
        let t0 = Instant::now();
        // Two clients drain their buckets: the map is full of active ones.
        for key in ["a", "b"] {
            assert!(limiter.check(key, rate, 2, t0).is_ok());
            assert!(limiter.check(key, rate, 2, t0).is_ok());
        }
        assert_eq!(shared.get(), 0);
        // New clients share one bucket (burst 2), each request counted.
        assert!(limiter.check("c", rate, 2, t0).is_ok());
        assert!(limiter.check("d", rate, 2, t0).is_ok());
        assert!(limiter.check("e", rate, 2, t0).is_err());
        assert_eq!(shared.get(), 3);
        // Once a and b have refilled and a second has passed since the last sweep, they are
        // forgotten and a new client gets a bucket of its own.
        let later = t0 + Duration::from_secs(3);
        assert!(limiter.check("f", rate, 2, later).is_ok());
        assert_eq!(shared.get(), 3);
        assert_eq!(limiter.len(), 2, "f's bucket and the shared one");
    }

    #[test]
    fn a_full_map_is_swept_at_most_once_a_second() {
        let (limiter, shared, rate) = counted(10.0, 1);
        let t0 = Instant::now();
        assert!(limiter.check("a", rate, 1, t0).is_ok());
        // Full of an active client: the sweep frees nothing, "b" takes the shared bucket.
        assert!(limiter.check("b", rate, 1, t0).is_ok());
        // "a" refills within 0.1 s, but the map was swept less than a second ago.
        let soon = t0 + Duration::from_millis(500);
        assert!(limiter.check("c", rate, 1, soon).is_ok());
        assert_eq!(shared.get(), 2);
        // A second after the sweep, "a" is forgotten and "d" gets its own bucket.
        let later = t0 + Duration::from_millis(1100);
        assert!(limiter.check("d", rate, 1, later).is_ok());
        assert_eq!(shared.get(), 2);
    }
}
