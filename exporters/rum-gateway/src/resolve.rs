//! Label values interned per distinct combination, each carrying the web-vital series it
//! was recorded in: after the first observation, recording a vital for the same app, page,
//! device, browser and country finds its two series without hashing labels again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::Config;
use crate::metrics::{Dims, RumMetrics, Series};
use crate::vitals::{Rating, Vital};

/// Most combinations remembered; beyond, the table starts again empty. Each holds its label
/// values and at most 20 series handles, a few hundred bytes.
pub const MAX_INTERNED: usize = 10_000;

/// A vital's histogram series, then its 3 rating counter series.
const SLOTS: usize = Vital::ALL.len() * 4;

/// One combination of label values and the series resolved for it so far.
#[derive(Debug)]
pub struct Resolved {
    pub dims: Dims,
    /// The config generation the series were resolved under: labels depend on the config.
    generation: u64,
    series: [OnceLock<Series>; SLOTS],
}

impl Resolved {
    /// The cached series of `vital`'s histogram (`rating: None`) or of one of its ratings.
    pub fn slot(&self, vital: Vital, rating: Option<Rating>) -> &OnceLock<Series> {
        let index = vital as usize * 4 + rating.map_or(0, |r| r as usize + 1);
        &self.series[index]
    }
}

/// The interned combinations, emptied when the config changes.
#[derive(Debug, Default)]
pub struct Interner {
    inner: Mutex<Inner>,
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    config: Option<Arc<Config>>,
    map: HashMap<Dims, Arc<Resolved>>,
}

impl Interner {
    /// The shared entry for `dims` under `config`; a full table is emptied and counted.
    pub fn intern(&self, config: &Arc<Config>, dims: Dims, metrics: &RumMetrics) -> Arc<Resolved> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner
            .config
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, config))
        {
            inner.map.clear();
            inner.config = Some(config.clone());
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(resolved) = inner.map.get(&dims) {
            return resolved.clone();
        }
        if inner.map.len() >= MAX_INTERNED {
            inner.map.clear();
            metrics.count_table_reset("label_sets");
        }
        let resolved = Arc::new(Resolved {
            dims: dims.clone(),
            generation: self.generation.load(Ordering::Relaxed),
            series: Default::default(),
        });
        inner.map.insert(dims, resolved.clone());
        resolved
    }

    /// Whether the series cached in `resolved` still match the current config.
    pub fn is_current(&self, resolved: &Resolved) -> bool {
        resolved.generation == self.generation.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LabelValue;
    use exporter_kit::prometheus_client::registry::Registry;

    fn dims(page: impl Into<LabelValue>) -> Dims {
        Dims {
            app: LabelValue::Static("shop"),
            page: page.into(),
            device: "desktop",
            browser: "chrome",
            country: LabelValue::Static("XX"),
        }
    }

    #[test]
    fn equal_label_values_share_one_entry_until_the_config_changes() {
        let interner = Interner::default();
        let metrics = RumMetrics::register(&mut Registry::default(), 3.0);
        let intern = |config: &Arc<Config>, dims: Dims| interner.intern(config, dims, &metrics);
        let config = Arc::new(Config::default());
        let first = intern(&config, dims("/a"));
        assert!(Arc::ptr_eq(&first, &intern(&config, dims("/a"))));
        assert!(!Arc::ptr_eq(&first, &intern(&config, dims("/b"))));
        assert!(interner.is_current(&first));

        let reloaded = Arc::new(Config::default());
        let after = intern(&reloaded, dims("/a"));
        assert!(!Arc::ptr_eq(&first, &after));
        assert!(
            !interner.is_current(&first),
            "series cached under the old config"
        );
        assert!(interner.is_current(&after));
    }

    #[test]
    fn every_vital_and_rating_has_its_own_slot() {
        let metrics = RumMetrics::register(&mut Registry::default(), 3.0);
        let config = Arc::new(Config::default());
        let resolved = Interner::default().intern(&config, dims("/a"), &metrics);
        let ratings = [
            None,
            Some(Rating::Good),
            Some(Rating::NeedsImprovement),
            Some(Rating::Poor),
        ];
        let mut seen = std::collections::HashSet::new();
        for vital in Vital::ALL {
            for rating in ratings {
                seen.insert(resolved.slot(vital, rating) as *const _);
            }
        }
        assert_eq!(seen.len(), SLOTS);
    }

    #[test]
    fn a_full_table_starts_again_empty_and_says_so() {
        let interner = Interner::default();
        let metrics = RumMetrics::register(&mut Registry::default(), 3.0);
        let config = Arc::new(Config::default());
        let first = interner.intern(&config, dims("/0"), &metrics);
        for i in 1..=MAX_INTERNED {
            interner.intern(&config, dims(format!("/{i}")), &metrics);
        }
        let resets = vec![(crate::names::TABLE, LabelValue::Static("label_sets"))];
        assert_eq!(metrics.table_resets.get_or_create(&resets).get(), 1);
        let again = interner.intern(&config, dims("/0"), &metrics);
        assert!(!Arc::ptr_eq(&first, &again));
        assert!(
            interner.is_current(&first),
            "an entry from before the reset is still valid"
        );
    }
}
