//! Label values interned per distinct combination, each carrying the web-vital series it
//! was recorded in: after the first observation, recording a vital for the same app, page,
//! device, browser and country finds its two series without hashing labels again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::Config;
use crate::metrics::{Dims, Series};
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
    /// The shared entry for `dims` under `config`.
    pub fn intern(&self, config: &Arc<Config>, dims: Dims) -> Arc<Resolved> {
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

    fn dims(page: &'static str) -> Dims {
        Dims {
            app: LabelValue::Static("shop"),
            page: LabelValue::Static(page),
            device: "desktop",
            browser: "chrome",
            country: LabelValue::Static("XX"),
        }
    }

    #[test]
    fn equal_label_values_share_one_entry_until_the_config_changes() {
        let interner = Interner::default();
        let config = Arc::new(Config::default());
        let first = interner.intern(&config, dims("/a"));
        assert!(Arc::ptr_eq(&first, &interner.intern(&config, dims("/a"))));
        assert!(!Arc::ptr_eq(&first, &interner.intern(&config, dims("/b"))));
        assert!(interner.is_current(&first));

        let reloaded = Arc::new(Config::default());
        let after = interner.intern(&reloaded, dims("/a"));
        assert!(!Arc::ptr_eq(&first, &after));
        assert!(
            !interner.is_current(&first),
            "series cached under the old config"
        );
        assert!(interner.is_current(&after));
    }

    #[test]
    fn every_vital_and_rating_has_its_own_slot() {
        let resolved = Interner::default().intern(&Arc::new(Config::default()), dims("/a"));
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
}
