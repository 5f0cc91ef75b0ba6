//! Per-attribute statistics in fixed memory: sum, max and a sparse log histogram for
//! percentiles, so a class costs the same whether it saw ten events or ten million.

/// Values below this fall in the first bucket.
const SMALLEST: f64 = 1e-6;
/// Each bucket is 5 % wider than the previous one, so a percentile is off by at most 5 %.
const GROWTH: f64 = 1.05;
const LAST_BUCKET: u16 = 1000;

/// Sum, max and, when asked for, the distribution of one attribute (Query_time, Rows_sent, ...)
/// of a class.
#[derive(Debug, Clone, Default)]
pub struct Stat {
    pub sum: f64,
    pub max: f64,
    /// (bucket, count), sorted by bucket; only buckets that were hit.
    buckets: Vec<(u16, u32)>,
    count: u64,
    with_quantiles: bool,
}

impl Stat {
    /// A stat that also keeps the distribution, for [`Stat::quantile`].
    pub fn with_quantiles() -> Stat {
        Stat {
            with_quantiles: true,
            ..Stat::default()
        }
    }

    pub fn has_quantiles(&self) -> bool {
        self.with_quantiles
    }

    pub fn add(&mut self, value: f64) {
        let value = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        self.sum += value;
        if value > self.max {
            self.max = value;
        }
        self.count += 1;
        if !self.with_quantiles {
            return;
        }
        let bucket = bucket_of(value);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(at) => self.buckets[at].1 = self.buckets[at].1.saturating_add(1),
            Err(at) => self.buckets.insert(at, (bucket, 1)),
        }
    }

    /// Adds everything `other` saw.
    pub fn merge(&mut self, other: &Stat) {
        self.with_quantiles |= other.with_quantiles;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
        self.count += other.count;
        for &(bucket, n) in &other.buckets {
            match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
                Ok(at) => self.buckets[at].1 = self.buckets[at].1.saturating_add(n),
                Err(at) => self.buckets.insert(at, (bucket, n)),
            }
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `q` quantile (0..=1): the upper bound of the bucket that holds it, capped at the max.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for &(bucket, n) in &self.buckets {
            seen += u64::from(n);
            if seen >= rank {
                return upper_bound(bucket).min(self.max);
            }
        }
        self.max
    }
}

fn bucket_of(value: f64) -> u16 {
    if value < SMALLEST {
        return 0;
    }
    let index = 1.0 + (value / SMALLEST).ln() / GROWTH.ln();
    (index.floor() as u64).min(u64::from(LAST_BUCKET)) as u16
}

fn upper_bound(bucket: u16) -> f64 {
    if bucket == 0 {
        SMALLEST
    } else if bucket == LAST_BUCKET {
        f64::INFINITY
    } else {
        SMALLEST * GROWTH.powi(i32::from(bucket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_95th_percentile_is_within_five_percent() {
        let mut stat = Stat::with_quantiles();
        for i in 1..=1000 {
            stat.add(f64::from(i) / 1000.0);
        }
        let p95 = stat.quantile(0.95);
        assert!((0.95..=0.95 * 1.05).contains(&p95), "{p95}");
        assert_eq!(stat.max, 1.0);
        assert!((stat.mean() - 0.5005).abs() < 1e-9);
    }

    #[test]
    fn zeros_and_huge_values_have_buckets() {
        let mut stat = Stat::with_quantiles();
        stat.add(0.0);
        stat.add(1e30);
        assert_eq!(stat.quantile(0.5), SMALLEST);
        assert_eq!(stat.quantile(1.0), 1e30);
    }
}
