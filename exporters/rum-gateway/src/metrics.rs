//! The metric families of rum-gateway, each behind a hard cap on its series.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use exporter_kit::prometheus_client::metrics::counter::Counter;
use exporter_kit::prometheus_client::metrics::family::{Family as PromFamily, MetricConstructor};
use exporter_kit::prometheus_client::metrics::gauge::Gauge;
use exporter_kit::prometheus_client::metrics::histogram::Histogram;
use exporter_kit::prometheus_client::registry::Registry;

use crate::names::{self, Dimension, Family, OTHER};
use crate::vitals::{self, Vital};

/// A label set: names are static, values come from beacons after capping.
pub type Labels = Vec<(&'static str, String)>;

/// The closed label values of one observation, before the family picks its labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dims {
    pub app: String,
    pub page: String,
    pub device: &'static str,
    pub browser: &'static str,
    pub country: String,
}

impl Dims {
    fn value(&self, dim: Dimension) -> &str {
        match dim {
            Dimension::App => &self.app,
            Dimension::Page => &self.page,
            Dimension::Device => self.device,
            Dimension::Browser => self.browser,
            Dimension::Country => &self.country,
        }
    }

    /// The label set of a family carrying `dims`, then the family's fixed labels.
    pub fn labels(&self, dims: &[Dimension], fixed: &[(&'static str, &str)]) -> Labels {
        let mut labels: Labels = dims
            .iter()
            .map(|d| (d.label(), self.value(*d).to_string()))
            .collect();
        labels.extend(fixed.iter().map(|(k, v)| (*k, v.to_string())));
        labels
    }
}

#[derive(Clone)]
struct Buckets(Arc<Vec<f64>>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

enum Kind {
    Histogram(PromFamily<Labels, Histogram, Buckets>),
    Counter(PromFamily<Labels, Counter>),
}

/// One family and its cap.
struct Capped {
    kind: Kind,
    /// Series one label set makes: buckets + `+Inf` + `_sum` + `_count`, or 1.
    series_per_set: usize,
    /// Label sets created; only changed while `grow` is held.
    sets: AtomicUsize,
    /// Serialises the admission of new label sets so the cap is never overshot.
    grow: Mutex<()>,
}

impl Capped {
    fn len(&self) -> usize {
        self.sets.load(Ordering::Relaxed)
    }

    fn contains(&self, labels: &Labels) -> bool {
        match &self.kind {
            Kind::Histogram(f) => f.get(labels).is_some(),
            Kind::Counter(f) => f.get(labels).is_some(),
        }
    }

    /// Creates the label set if new; the caller holds `grow`.
    fn admit(&self, labels: &Labels, value: f64) {
        if !self.contains(labels) {
            self.sets.fetch_add(1, Ordering::Relaxed);
        }
        self.touch(labels, value);
    }

    fn touch(&self, labels: &Labels, value: f64) {
        match &self.kind {
            Kind::Histogram(f) => f.get_or_create(labels).observe(value),
            Kind::Counter(f) => {
                f.get_or_create(labels).inc();
            }
        }
    }
}

/// Every metric of the gateway.
pub struct RumMetrics {
    families: HashMap<Family, Capped>,
    pub received: PromFamily<Labels, Counter>,
    pub rejected: PromFamily<Labels, Counter>,
    pub overflow: PromFamily<Labels, Counter>,
    pub deduplicated: PromFamily<Labels, Counter>,
    pub pending: Gauge,
}

impl RumMetrics {
    /// Creates every family and registers it in `registry`.
    pub fn register(registry: &mut Registry, page_load_target: f64) -> Arc<RumMetrics> {
        let mut families = HashMap::new();
        for family in Family::ALL {
            let capped = make_family(family, page_load_target);
            match &capped.kind {
                Kind::Histogram(f) => registry.register(family.name(), family.help(), f.clone()),
                Kind::Counter(f) => registry.register(
                    family.name().trim_end_matches("_total"),
                    family.help(),
                    f.clone(),
                ),
            }
            families.insert(family, capped);
        }
        let metrics = RumMetrics {
            families,
            received: PromFamily::default(),
            rejected: PromFamily::default(),
            overflow: PromFamily::default(),
            deduplicated: PromFamily::default(),
            pending: Gauge::default(),
        };
        metrics.register_self(registry);
        Arc::new(metrics)
    }

    fn register_self(&self, registry: &mut Registry) {
        registry.register(
            names::BEACONS_RECEIVED,
            "Requests received by each intake",
            self.received.clone(),
        );
        registry.register(
            names::BEACONS_REJECTED,
            "Requests, or items within them, refused, by reason",
            self.rejected.clone(),
        );
        registry.register(
            names::LABEL_OVERFLOW,
            "Label values folded into 'other' by a cap, by label ('series' for family caps)",
            self.overflow.clone(),
        );
        registry.register(
            names::DEDUPLICATED,
            "Reports not counted again: retried batches and re-reported web vitals, by kind",
            self.deduplicated.clone(),
        );
        registry.register(
            names::PENDING_METRICS,
            "Web vitals waiting out their re-report window before being observed",
            self.pending.clone(),
        );
    }

    /// Observes `value` (histogram) or counts one (counter) in `family` under `labels`, or
    /// under the all-`other` label set when the family is at its cap.
    pub fn record(&self, family: Family, labels: Labels, value: f64, max_series: usize) {
        let capped = &self.families[&family];
        if capped.contains(&labels) {
            capped.touch(&labels, value);
            return;
        }
        let _guard = capped.grow.lock().unwrap_or_else(|e| e.into_inner());
        // The all-`other` set is admitted even at the cap, so the cap is exceeded by at most
        // one label set per family.
        if (capped.len() + 1) * capped.series_per_set > max_series && !capped.contains(&labels) {
            let folded: Labels = labels
                .iter()
                .map(|(k, _)| (*k, OTHER.to_string()))
                .collect();
            self.count_overflow("series");
            capped.admit(&folded, value);
            return;
        }
        capped.admit(&labels, value);
    }

    /// Counts one request or item refused for `reason`.
    pub fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&vec![(names::REASON, reason.to_string())])
            .inc();
    }

    pub fn count_overflow(&self, label: &str) {
        self.overflow
            .get_or_create(&vec![(names::LABEL, label.to_string())])
            .inc();
    }

    pub fn count_dedup(&self, kind: &str) {
        self.deduplicated
            .get_or_create(&vec![(names::KIND, kind.to_string())])
            .inc();
    }

    pub fn count_received(&self, intake: &str) {
        self.received
            .get_or_create(&vec![(names::INTAKE, intake.to_string())])
            .inc();
    }

    /// Label sets in `family` now (for tests and the cardinality check).
    pub fn label_sets(&self, family: Family) -> usize {
        self.families[&family].len()
    }

    /// Series `family` exposes now.
    pub fn series(&self, family: Family) -> usize {
        let capped = &self.families[&family];
        capped.len() * capped.series_per_set
    }
}

fn make_family(family: Family, page_load_target: f64) -> Capped {
    let buckets = match family {
        Family::Lcp => Some(Vital::Lcp.buckets()),
        Family::Inp => Some(Vital::Inp.buckets()),
        Family::Fcp => Some(Vital::Fcp.buckets()),
        Family::Ttfb => Some(Vital::Ttfb.buckets()),
        Family::Cls => Some(Vital::Cls.buckets()),
        Family::PageLoad => Some(vitals::page_load_buckets(page_load_target)),
        Family::WebrtcMos => Some(crate::emodel::MOS_BUCKETS.to_vec()),
        Family::WebrtcRtt => Some(crate::emodel::RTT_BUCKETS.to_vec()),
        Family::WebrtcJitter => Some(crate::emodel::JITTER_BUCKETS.to_vec()),
        Family::WebrtcLoss => Some(crate::emodel::LOSS_BUCKETS.to_vec()),
        _ => None,
    };
    match buckets {
        Some(b) => Capped {
            series_per_set: b.len() + 3,
            kind: Kind::Histogram(PromFamily::new_with_constructor(Buckets(Arc::new(b)))),
            sets: AtomicUsize::new(0),
            grow: Mutex::new(()),
        },
        None => Capped {
            series_per_set: 1,
            kind: Kind::Counter(PromFamily::default()),
            sets: AtomicUsize::new(0),
            grow: Mutex::new(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_at_its_cap_folds_new_label_sets_into_other_and_counts_them() {
        let mut registry = Registry::default();
        let metrics = RumMetrics::register(&mut registry, 3.0);
        for i in 0..500 {
            let labels = vec![("page", format!("/p{i}"))];
            metrics.record(Family::PageViews, labels, 1.0, 100);
        }
        // The cap, plus the one all-`other` set.
        assert_eq!(metrics.label_sets(Family::PageViews), 101);
        let folded = vec![("page", "other".to_string())];
        assert!(metrics.families[&Family::PageViews].contains(&folded));
        let overflow = metrics
            .overflow
            .get_or_create(&vec![("label", "series".into())])
            .get();
        assert_eq!(overflow, 400);
    }
}
