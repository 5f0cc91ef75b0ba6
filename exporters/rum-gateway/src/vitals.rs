//! Web vitals: names, thresholds, server-side ratings, sanity limits and histogram buckets.

use crate::names::Family;

/// Longest time the gateway believes for any timing (15 minutes); beyond is rejected.
pub const MAX_SECONDS: f64 = 900.0;
/// Largest CLS the gateway believes; real pages stay far below.
pub const MAX_CLS: f64 = 100.0;

/// The Core Web Vitals and their companions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vital {
    Lcp,
    Inp,
    Fcp,
    Ttfb,
    Cls,
}

/// The three ratings of web-vitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub fn label(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::NeedsImprovement => "needs-improvement",
            Rating::Poor => "poor",
        }
    }
}

impl Vital {
    pub const ALL: [Vital; 5] = [Vital::Lcp, Vital::Inp, Vital::Fcp, Vital::Ttfb, Vital::Cls];

    /// From a web-vitals `name` (`LCP`) or a Faro values key (`lcp`).
    pub fn from_name(name: &str) -> Option<Vital> {
        // Compared in place: this runs for every key of every measurement.
        [
            ("lcp", Vital::Lcp),
            ("inp", Vital::Inp),
            ("fcp", Vital::Fcp),
            ("ttfb", Vital::Ttfb),
            ("cls", Vital::Cls),
        ]
        .into_iter()
        .find(|(known, _)| name.eq_ignore_ascii_case(known))
        .map(|(_, vital)| vital)
    }

    /// The `metric` label of `rum_web_vitals_rating_total`.
    pub fn label(self) -> &'static str {
        match self {
            Vital::Lcp => "LCP",
            Vital::Inp => "INP",
            Vital::Fcp => "FCP",
            Vital::Ttfb => "TTFB",
            Vital::Cls => "CLS",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Vital::Lcp => Family::Lcp,
            Vital::Inp => Family::Inp,
            Vital::Fcp => Family::Fcp,
            Vital::Ttfb => Family::Ttfb,
            Vital::Cls => Family::Cls,
        }
    }

    /// The "good" and "poor" boundaries in base units (seconds, or unitless for CLS).
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Vital::Lcp => (2.5, 4.0),
            Vital::Inp => (0.2, 0.5),
            Vital::Fcp => (1.8, 3.0),
            Vital::Ttfb => (0.8, 1.8),
            Vital::Cls => (0.1, 0.25),
        }
    }

    /// Converts a value as browsers send it (milliseconds; CLS unitless) to base units.
    pub fn to_base_unit(self, raw: f64) -> f64 {
        match self {
            Vital::Cls => raw,
            _ => raw / 1000.0,
        }
    }

    /// The value in base units if it is believable, or `None` (negative, NaN, absurd).
    pub fn check(self, value: f64) -> Option<f64> {
        let max = if self == Vital::Cls {
            MAX_CLS
        } else {
            MAX_SECONDS
        };
        (value.is_finite() && (0.0..=max).contains(&value)).then_some(value)
    }

    /// The rating from the thresholds, never from what the client claims.
    pub fn rate(self, value: f64) -> Rating {
        let (good, poor) = self.thresholds();
        if value <= good {
            Rating::Good
        } else if value <= poor {
            Rating::NeedsImprovement
        } else {
            Rating::Poor
        }
    }

    /// Histogram buckets: a spread of values plus good, poor and 4 times good (the Apdex
    /// tolerating bound, with the good threshold as the Apdex target).
    pub fn buckets(self) -> Vec<f64> {
        let base: &[f64] = match self {
            Vital::Lcp => &[0.5, 1.0, 1.5, 2.0, 3.0, 6.0, 8.0, 15.0, 20.0, 30.0, 60.0],
            Vital::Inp => &[0.05, 0.1, 0.15, 0.3, 0.4, 1.0, 2.0, 5.0, 10.0],
            Vital::Fcp => &[0.5, 1.0, 1.5, 2.5, 4.0, 5.0, 10.0, 20.0, 60.0],
            Vital::Ttfb => &[0.1, 0.2, 0.4, 0.6, 1.2, 2.5, 5.0, 10.0, 30.0],
            Vital::Cls => &[0.01, 0.025, 0.05, 0.15, 0.5, 1.0, 2.0],
        };
        let (good, poor) = self.thresholds();
        with_bounds(base, &[good, poor, 4.0 * good])
    }
}

/// Buckets of `rum_page_load_seconds` for an Apdex target `target` (seconds).
pub fn page_load_buckets(target: f64) -> Vec<f64> {
    let base = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 60.0];
    with_bounds(&base, &[target, 4.0 * target])
}

/// `base` plus `exact`, sorted, without duplicates; `exact` values become exact `le` bounds.
pub fn with_bounds(base: &[f64], exact: &[f64]) -> Vec<f64> {
    let mut all: Vec<f64> = base.iter().chain(exact).copied().collect();
    all.sort_by(f64::total_cmp);
    // 4 × 0.1 is 0.4000000000000001 in floating point; round so the bound reads 0.4.
    for v in &mut all {
        *v = (*v * 1e9).round() / 1e9;
    }
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vital_has_its_thresholds_and_four_times_good_as_bucket_bounds() {
        for vital in [Vital::Lcp, Vital::Inp, Vital::Fcp, Vital::Ttfb, Vital::Cls] {
            let buckets = vital.buckets();
            let (good, poor) = vital.thresholds();
            for bound in [good, poor, (4.0 * good * 1e9f64).round() / 1e9] {
                assert!(
                    buckets.contains(&bound),
                    "{vital:?} lacks {bound}: {buckets:?}"
                );
            }
            assert!(buckets.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(Vital::Cls.buckets().contains(&0.4));
        assert!(Vital::Lcp.buckets().contains(&10.0));
    }

    #[test]
    fn ratings_include_their_upper_threshold() {
        assert_eq!(Vital::Lcp.rate(2.5), Rating::Good);
        assert_eq!(Vital::Lcp.rate(2.6), Rating::NeedsImprovement);
        assert_eq!(Vital::Lcp.rate(4.0), Rating::NeedsImprovement);
        assert_eq!(Vital::Lcp.rate(4.01), Rating::Poor);
        assert_eq!(Vital::Cls.rate(0.1), Rating::Good);
    }

    #[test]
    fn negative_nan_and_absurd_values_are_refused() {
        assert_eq!(Vital::Lcp.check(-0.001), None);
        assert_eq!(Vital::Lcp.check(f64::NAN), None);
        assert_eq!(Vital::Lcp.check(900.5), None);
        assert_eq!(Vital::Lcp.check(1.2), Some(1.2));
        assert_eq!(Vital::Cls.check(0.0), Some(0.0));
    }

    #[test]
    fn page_load_buckets_hold_the_target_and_four_times_it() {
        let b = page_load_buckets(2.0);
        assert!(b.contains(&2.0) && b.contains(&8.0));
    }
}
