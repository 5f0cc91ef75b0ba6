//! Figures of a stream of echoed messages: round-trip quantiles, the RFC 3550 jitter
//! estimator, loss, an E-model MOS and the quality class.

use std::time::Duration;

/// What a stream measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub sent: u32,
    /// Round-trip times in the order the echoes arrived.
    pub round_trips: Vec<Duration>,
}

/// The summary the probe reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub median: Duration,
    pub p95: Duration,
    pub jitter: Duration,
    pub loss: f64,
    pub mos: f64,
    pub class: Class,
}

/// Call quality classes; each bound is inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Excellent,
    Good,
    Fair,
    Poor,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Excellent, Class::Good, Class::Fair, Class::Poor];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Excellent => "excellent",
            Class::Good => "good",
            Class::Fair => "fair",
            Class::Poor => "poor",
        }
    }

    /// The best class whose bounds (loss ratio, jitter, latency) all hold. Latency is the
    /// median round-trip time: what the probe measured, with no guess at the one-way share.
    pub fn of(loss: f64, jitter: Duration, latency: Duration) -> Class {
        const BOUNDS: [(Class, f64, u64, u64); 3] = [
            (Class::Excellent, 0.01, 30, 150),
            (Class::Good, 0.05, 50, 300),
            (Class::Fair, 0.10, 100, 500),
        ];
        BOUNDS
            .iter()
            .find(|(_, max_loss, max_jitter, max_latency)| {
                loss <= *max_loss
                    && jitter <= Duration::from_millis(*max_jitter)
                    && latency <= Duration::from_millis(*max_latency)
            })
            .map_or(Class::Poor, |(class, ..)| *class)
    }
}

impl Samples {
    /// The summary, or `None` when nothing came back.
    pub fn summary(&self) -> Option<Summary> {
        if self.round_trips.is_empty() {
            return None;
        }
        let mut sorted = self.round_trips.clone();
        sorted.sort();
        let median = quantile(&sorted, 0.5);
        let jitter = rfc3550_jitter(&self.round_trips);
        let loss = self.loss();
        Some(Summary {
            median,
            p95: quantile(&sorted, 0.95),
            jitter,
            loss,
            mos: mos(median, jitter, loss),
            class: Class::of(loss, jitter, median),
        })
    }

    /// Messages sent that did not come back, as a ratio of those sent.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        let received = (self.round_trips.len() as u32).min(self.sent);
        f64::from(self.sent - received) / f64::from(self.sent)
    }
}

/// The nearest-rank quantile `q` of `sorted`.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// RFC 3550 §6.4.1: J += (|D| - J) / 16, where D is the change in transit time between two
/// consecutive packets; for echoes, the change between consecutive round-trip times.
pub fn rfc3550_jitter(round_trips: &[Duration]) -> Duration {
    let mut jitter = 0.0f64;
    for pair in round_trips.windows(2) {
        let d = (pair[1].as_secs_f64() - pair[0].as_secs_f64()).abs();
        jitter += (d - jitter) / 16.0;
    }
    Duration::from_secs_f64(jitter)
}

/// A simplified ITU-T G.107 E-model for a G.711 voice call: the R factor from the one-way
/// delay (half the round trip), jitter (counted twice, as a jitter buffer would add it) and
/// loss, mapped to a MOS between 1 and 4.5.
pub fn mos(round_trip: Duration, jitter: Duration, loss: f64) -> f64 {
    let delay_ms = round_trip.as_secs_f64() * 1000.0 / 2.0 + jitter.as_secs_f64() * 2000.0 + 10.0;
    let delay_impairment = if delay_ms < 160.0 {
        delay_ms / 40.0
    } else {
        (delay_ms - 120.0) / 10.0
    };
    let r = (93.2 - delay_impairment - 2.5 * loss * 100.0).clamp(0.0, 100.0);
    let mos = 1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r);
    mos.clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let sorted = ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(quantile(&sorted, 0.5), Duration::from_millis(5));
        assert_eq!(quantile(&sorted, 0.95), Duration::from_millis(10));
        assert_eq!(quantile(&ms(&[7]), 0.95), Duration::from_millis(7));
    }

    #[test]
    fn a_steady_path_has_no_jitter() {
        assert_eq!(rfc3550_jitter(&ms(&[20, 20, 20, 20])), Duration::ZERO);
    }

    #[test]
    fn jitter_moves_a_sixteenth_of_the_way_per_packet() {
        let got = rfc3550_jitter(&ms(&[10, 26]));
        assert!((got.as_secs_f64() - 0.001).abs() < 1e-9, "{got:?}");
    }

    #[test]
    fn a_clean_fast_path_scores_near_the_top_of_the_scale() {
        let score = mos(Duration::from_millis(1), Duration::ZERO, 0.0);
        assert!(score > 4.3 && score <= 4.5, "{score}");
    }

    #[test]
    fn loss_and_delay_lower_the_score() {
        let clean = mos(Duration::from_millis(40), Duration::from_millis(2), 0.0);
        let lossy = mos(Duration::from_millis(40), Duration::from_millis(2), 0.05);
        let slow = mos(Duration::from_millis(600), Duration::from_millis(2), 0.0);
        assert!(lossy < clean && slow < clean, "{clean} {lossy} {slow}");
    }

    #[test]
    fn classes_follow_the_published_bounds() {
        let of = |loss, jitter, latency| Class::of(loss, ms(&[jitter])[0], ms(&[latency])[0]);
        assert_eq!(of(0.01, 30, 150), Class::Excellent);
        assert_eq!(of(0.02, 10, 100), Class::Good);
        assert_eq!(of(0.0, 60, 100), Class::Fair);
        assert_eq!(of(0.0, 10, 400), Class::Fair);
        assert_eq!(of(0.11, 10, 100), Class::Poor);
        assert_eq!(of(0.0, 10, 501), Class::Poor);
    }

    #[test]
    fn loss_counts_what_never_came_back() {
        let samples = Samples {
            sent: 4,
            round_trips: ms(&[1, 1, 1]),
        };
        assert_eq!(samples.loss(), 0.25);
    }
}
