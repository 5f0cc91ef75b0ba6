//! Token buckets keyed by client IP or app, in a bounded map.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Rate;

/// The key every new client shares once the map is full of active ones.
const OVERFLOW_KEY: &str = "\u{0}overflow";

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets by key.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// Takes one token for `key`; when none is left, how long until one is.
    pub fn check(
        &self,
        key: &str,
        rate: Rate,
        max_keys: usize,
        now: Instant,
    ) -> Result<(), Duration> {
        let burst = f64::from(rate.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let key = if buckets.contains_key(key) || buckets.len() < max_keys {
            key
        } else {
            // Forget buckets that have refilled: they behave exactly like new ones.
            buckets.retain(|_, b| b.tokens + elapsed(b.at, now) * rate.rate < burst);
            if buckets.len() < max_keys {
                key
            } else {
                OVERFLOW_KEY
            }
        };
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens = (bucket.tokens + elapsed(bucket.at, now) * rate.rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate.rate))
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
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
        let limiter = Limiter::default();
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
        let limiter = Limiter::default();
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
}
