//! The metric families of rum-gateway, each behind a hard cap on its series.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use exporter_kit::prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

use exporter_kit::prometheus_client::metrics::counter::Counter;
use exporter_kit::prometheus_client::metrics::family::{Family as PromFamily, MetricConstructor};
use exporter_kit::prometheus_client::metrics::gauge::Gauge;
use exporter_kit::prometheus_client::metrics::histogram::Histogram;
use exporter_kit::prometheus_client::registry::Registry;

use crate::names::{self, Dimension, Family, OTHER};
use crate::vitals::{self, Vital};

/// A label set: names are static, values come from beacons after capping.
pub type Labels = Vec<(&'static str, LabelValue)>;

/// A label value that is cheap to copy into a label set: a fixed string, or one shared by
/// every label set that carries it. Equal and hashed by its text, whichever it is.
#[derive(Debug, Clone)]
pub enum LabelValue {
    Static(&'static str),
    Shared(Arc<str>),
}

impl LabelValue {
    pub fn as_str(&self) -> &str {
        match self {
            LabelValue::Static(s) => s,
            LabelValue::Shared(s) => s,
        }
    }
}

impl PartialEq for LabelValue {
    fn eq(&self, other: &LabelValue) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for LabelValue {}

impl Hash for LabelValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

impl From<&'static str> for LabelValue {
    fn from(s: &'static str) -> LabelValue {
        LabelValue::Static(s)
    }
}

impl From<String> for LabelValue {
    fn from(s: String) -> LabelValue {
        LabelValue::Shared(s.into())
    }
}

/// The closed label values of one observation, before the family picks its labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dims {
    pub app: LabelValue,
    pub page: LabelValue,
    pub device: &'static str,
    pub browser: &'static str,
    pub country: LabelValue,
}

impl Dims {
    fn value(&self, dim: Dimension) -> LabelValue {
        match dim {
            Dimension::App => self.app.clone(),
            Dimension::Page => self.page.clone(),
            Dimension::Device => LabelValue::Static(self.device),
            Dimension::Browser => LabelValue::Static(self.browser),
            Dimension::Country => self.country.clone(),
        }
    }

    /// The label set of a family carrying `dims`, then the family's fixed labels.
    pub fn labels(&self, dims: &[Dimension], fixed: &[(&'static str, &'static str)]) -> Labels {
        let mut labels = Labels::with_capacity(dims.len() + fixed.len());
        labels.extend(dims.iter().map(|d| (d.label(), self.value(*d))));
        labels.extend(fixed.iter().map(|(k, v)| (*k, LabelValue::Static(v))));
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

    /// The series of an existing label set.
    fn existing(&self, labels: &Labels) -> Option<Metric> {
        match &self.kind {
            Kind::Histogram(f) => f.get(labels).map(|h| Metric::Histogram(h.clone())),
            Kind::Counter(f) => f.get(labels).map(|c| Metric::Counter(c.clone())),
        }
    }

    /// The series of a label set, created if new; the caller holds `grow`.
    fn admit(&self, labels: &Labels) -> Metric {
        if !self.contains(labels) {
            self.sets.fetch_add(1, Ordering::Relaxed);
        }
        match &self.kind {
            Kind::Histogram(f) => Metric::Histogram(f.get_or_create(labels).clone()),
            Kind::Counter(f) => Metric::Counter(f.get_or_create(labels).clone()),
        }
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Histogram(Histogram),
    Counter(Counter),
}

/// One series found (or created) ahead of observing in it: label sets are never removed,
/// so it stays valid for the life of the process.
#[derive(Debug, Clone)]
pub struct Series {
    metric: Metric,
    /// The family's all-`other` set, standing in for a label set beyond the cap.
    folded: bool,
}

/// Every metric of the gateway.
pub struct RumMetrics {
    /// Indexed like [`Family::ALL`].
    families: Vec<Capped>,
    pub received: PromFamily<Labels, Counter>,
    pub rejected: PromFamily<Labels, Counter>,
    pub overflow: PromFamily<Labels, Counter>,
    pub deduplicated: PromFamily<Labels, Counter>,
    pub table_resets: PromFamily<Labels, Counter>,
    pub rate_limit_shared: PromFamily<Labels, Counter>,
    pub pending: Gauge,
    /// The series of the one-label counter families above, resolved once per (family,
    /// value): counting then takes a read lock and a short scan, with no label set to
    /// allocate and hash. The values are string constants of the code, so this stays small.
    static_series: RwLock<Vec<(usize, &'static str, Counter)>>,
}

impl RumMetrics {
    /// Creates every family and registers it in `registry`.
    pub fn register(registry: &mut Registry, page_load_target: f64) -> Arc<RumMetrics> {
        debug_assert!(Family::ALL
            .iter()
            .enumerate()
            .all(|(i, f)| *f as usize == i));
        let mut families = Vec::with_capacity(Family::ALL.len());
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
            families.push(capped);
        }
        let metrics = RumMetrics {
            families,
            received: PromFamily::default(),
            rejected: PromFamily::default(),
            overflow: PromFamily::default(),
            deduplicated: PromFamily::default(),
            table_resets: PromFamily::default(),
            rate_limit_shared: PromFamily::default(),
            pending: Gauge::default(),
            static_series: RwLock::new(Vec::new()),
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
            names::TABLE_RESETS,
            "Times a full lookup table (label_sets, user_agents) was emptied to start again",
            self.table_resets.clone(),
        );
        registry.register(
            names::RATE_LIMIT_SHARED,
            "Requests checked against the one rate-limit bucket new clients (ip) or apps (app) \
             share while limits.max_tracked_ips of them are tracked",
            self.rate_limit_shared.clone(),
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
        let series = self.resolve(family, labels, max_series);
        self.observe(&series, value);
    }

    /// The series of `family` under `labels`, or its all-`other` series when the family is
    /// at its cap (`max_series`).
    pub fn resolve(&self, family: Family, labels: Labels, max_series: usize) -> Series {
        let capped = self.family(family);
        if let Some(metric) = capped.existing(&labels) {
            return Series {
                metric,
                folded: false,
            };
        }
        let _guard = capped.grow.lock().unwrap_or_else(|e| e.into_inner());
        // The all-`other` set is admitted even at the cap, so the cap is exceeded by at most
        // one label set per family.
        if (capped.len() + 1) * capped.series_per_set > max_series && !capped.contains(&labels) {
            let folded: Labels = labels
                .iter()
                .map(|(k, _)| (*k, LabelValue::Static(OTHER)))
                .collect();
            return Series {
                metric: capped.admit(&folded),
                folded: true,
            };
        }
        Series {
            metric: capped.admit(&labels),
            folded: false,
        }
    }

    /// Observes `value` in a histogram series or counts one in a counter series; a series
    /// folded into `other` by the cap counts as an overflow each time.
    pub fn observe(&self, series: &Series, value: f64) {
        match &series.metric {
            Metric::Histogram(h) => h.observe(value),
            Metric::Counter(c) => {
                c.inc();
            }
        }
        if series.folded {
            self.count_overflow("series");
        }
    }

    /// Counts one request or item refused for `reason`.
    pub fn reject(&self, reason: &'static str) {
        self.count(&self.rejected, names::REASON, reason);
    }

    pub fn count_overflow(&self, label: &'static str) {
        self.count(&self.overflow, names::LABEL, label);
    }

    pub fn count_dedup(&self, kind: &'static str) {
        self.count(&self.deduplicated, names::KIND, kind);
    }

    /// Counts one lookup table emptied because it was full.
    pub fn count_table_reset(&self, table: &'static str) {
        self.count(&self.table_resets, names::TABLE, table);
    }

    /// The counter of requests that the `limiter` (`ip`, `app`) checked against its shared
    /// bucket; created at start, so it shows 0 until the cap is reached.
    pub fn rate_limit_shared(&self, limiter: &'static str) -> Counter {
        self.rate_limit_shared
            .get_or_create(&vec![(names::LIMITER, LabelValue::Static(limiter))])
            .clone()
    }

    /// Counts one in the series of `family` whose one label `name` is `value`.
    fn count(&self, family: &PromFamily<Labels, Counter>, name: &'static str, value: &'static str) {
        let id = std::ptr::from_ref(family) as usize;
        let inc = |series: &[(usize, &'static str, Counter)]| {
            series
                .iter()
                .find(|(f, v, _)| *f == id && *v == value)
                .map(|(_, _, counter)| counter.inc())
                .is_some()
        };
        if inc(&self.static_series.read().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        let mut series = self
            .static_series
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if !inc(&series) {
            let counter = family
                .get_or_create(&vec![(name, LabelValue::Static(value))])
                .clone();
            counter.inc();
            series.push((id, value, counter));
        }
    }

    pub fn count_received(&self, intake: &'static str) {
        self.count(&self.received, names::INTAKE, intake);
    }

    fn family(&self, family: Family) -> &Capped {
        &self.families[family as usize]
    }

    /// Label sets in `family` now (for tests and the cardinality check).
    pub fn label_sets(&self, family: Family) -> usize {
        self.family(family).len()
    }

    /// Series `family` exposes now.
    pub fn series(&self, family: Family) -> usize {
        let capped = self.family(family);
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
            let labels = vec![("page", LabelValue::from(format!("/p{i}")))];
            metrics.record(Family::PageViews, labels, 1.0, 100);
        }
        // The cap, plus the one all-`other` set.
        assert_eq!(metrics.label_sets(Family::PageViews), 101);
        let folded = vec![("page", LabelValue::Static("other"))];
        assert!(metrics.family(Family::PageViews).contains(&folded));
        let overflow = metrics
            .overflow
            .get_or_create(&vec![("label", LabelValue::Static("series"))])
            .get();
        assert_eq!(overflow, 400);
    }
}
