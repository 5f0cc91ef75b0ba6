//! The gateway's state and the path from accepted items to metrics: label values, caps,
//! de-duplication, the re-report window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::Config;
use crate::dedupe::{self, Holding, Offer, TtlSet};
use crate::emodel;
use crate::intake::{Item, What};
use crate::metrics::{Dims, RumMetrics};
use crate::names::{self, Family};
use crate::pages::{self, PageCaps, ValueCap};
use crate::protect::ratelimit::Limiter;
use crate::useragent;
use crate::vitals::Vital;

/// What the request tells about every item in it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub user_agent: String,
    pub country: String,
}

/// Everything the intakes share.
pub struct Gateway {
    pub config: watch::Receiver<Arc<Config>>,
    pub metrics: Arc<RumMetrics>,
    pub ip_limiter: Limiter,
    pub app_limiter: Limiter,
    pub idempotency: TtlSet,
    pages: PageCaps,
    apps: ValueCap,
    seen_ids: TtlSet,
    holding: Holding<Held>,
}

/// A vital waiting out its re-report window: only what recording it needs.
struct Held {
    vital: Vital,
    value: f64,
    dims: Arc<Dims>,
}

impl Gateway {
    pub fn new(config: watch::Receiver<Arc<Config>>, metrics: Arc<RumMetrics>) -> Arc<Gateway> {
        Arc::new(Gateway {
            config,
            metrics,
            ip_limiter: Limiter::default(),
            app_limiter: Limiter::default(),
            idempotency: TtlSet::default(),
            pages: PageCaps::default(),
            apps: ValueCap::default(),
            seen_ids: TtlSet::default(),
            holding: Holding::default(),
        })
    }

    pub fn current(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Records `items`, or holds vitals that may be re-reported; each item is observed once.
    pub fn accept(&self, config: &Config, items: &[Item<'_>], request: &RequestInfo) {
        let now = Instant::now();
        let limits = &config.limits;
        let mut last: Option<(&str, &str, Arc<Dims>)> = None;
        for item in items {
            // Items of one request mostly share app and page: share their label values too.
            let dims = match &last {
                Some((app, url, dims)) if *app == item.app && *url == item.url => dims.clone(),
                _ => {
                    let dims = Arc::new(self.dims(config, item, request));
                    last = Some((&item.app, &item.url, dims.clone()));
                    dims
                }
            };
            let Some(id) = &item.id else {
                self.record(config, &item.what, &dims);
                continue;
            };
            let key = dedupe::report_key(&item.app, id);
            let What::Vital(vital, value) = item.what else {
                let fresh = self.seen_ids.insert_hash(
                    key,
                    now,
                    limits.rereport_window,
                    limits.max_pending_metrics,
                );
                if fresh {
                    self.record(config, &item.what, &dims);
                } else {
                    self.metrics.count_dedup("repeated_id");
                }
                continue;
            };
            let held = Held { vital, value, dims };
            let (offer, evicted) = self.holding.offer(
                key,
                held,
                now,
                limits.rereport_window,
                limits.max_pending_metrics,
            );
            match offer {
                Offer::Held | Offer::Passed => {}
                Offer::Replaced => self.metrics.count_dedup("rereport"),
                Offer::Late => self.metrics.count_dedup("late_rereport"),
            }
            if let Some(held) = evicted {
                self.record(config, &What::Vital(held.vital, held.value), &held.dims);
            }
        }
        self.metrics.pending.set(self.holding.len() as i64);
    }

    /// Observes every held vital whose re-report window has ended, yielding to request
    /// handlers between chunks so a large release does not stall them.
    pub async fn release_due(&self) {
        let config = self.current();
        let limits = &config.limits;
        let due = self.holding.due(
            Instant::now(),
            limits.rereport_window,
            limits.max_pending_metrics,
        );
        for chunk in due.chunks(512) {
            for held in chunk {
                self.record(&config, &What::Vital(held.vital, held.value), &held.dims);
            }
            tokio::task::yield_now().await;
        }
        self.metrics.pending.set(self.holding.len() as i64);
    }

    /// At shutdown: observes every held vital now, whatever its window, and holds nothing
    /// from then on (later vitals are observed as they arrive). Returns how many were held.
    pub fn flush(&self) -> usize {
        let config = self.current();
        let limits = &config.limits;
        let held = self.holding.close(
            Instant::now(),
            limits.rereport_window,
            limits.max_pending_metrics,
        );
        for held in &held {
            self.record(&config, &What::Vital(held.vital, held.value), &held.dims);
        }
        self.metrics.pending.set(self.holding.len() as i64);
        held.len()
    }

    /// Releases held vitals on a timer, for the life of the process.
    pub fn spawn_releaser(self: &Arc<Gateway>) {
        let gateway = self.clone();
        tokio::spawn(async move {
            loop {
                let window = gateway.current().limits.rereport_window;
                let tick = (window / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
                tokio::time::sleep(tick).await;
                gateway.release_due().await;
            }
        });
    }

    fn dims(&self, config: &Config, item: &Item<'_>, request: &RequestInfo) -> Dims {
        let app = if config.apps.is_empty() {
            self.capped("app", self.apps.admit(&item.app, config.caps.max_apps))
        } else {
            item.app.to_string()
        };
        let path = pages::path_of(&item.url);
        let page = match pages::match_route(path, &config.routes) {
            Some(template) => template.to_string(),
            None => pages::slug(path, config.caps.max_path_depth),
        };
        let page = self.capped(
            "page",
            self.pages.admit(&app, &page, config.caps.max_pages_per_app),
        );
        Dims {
            app,
            page,
            device: useragent::device(&request.user_agent),
            browser: useragent::browser(&request.user_agent),
            country: request.country.clone(),
        }
    }

    fn capped(&self, label: &str, capped: pages::Capped) -> String {
        if capped.overflowed {
            self.metrics.count_overflow(label);
        }
        capped.value
    }

    /// Observes one item into its families.
    pub fn record(&self, config: &Config, what: &What, dims: &Dims) {
        let max = config.caps.max_series_per_family;
        let put = |family: Family, fixed: &[(&'static str, &str)], value: f64| {
            let labels = dims.labels(config.dimensions(family), fixed);
            self.metrics.record(family, labels, value, max);
        };
        match what {
            What::Vital(vital, value) => {
                put(vital.family(), &[], *value);
                let rating = vital.rate(*value).label();
                put(
                    Family::Rating,
                    &[(names::METRIC, vital.label()), (names::RATING, rating)],
                    1.0,
                );
            }
            What::PageView(load) => {
                put(Family::PageViews, &[], 1.0);
                if let Some(load) = load {
                    put(Family::PageLoad, &[], *load);
                }
            }
            What::Error(kind) => put(Family::Errors, &[(names::KIND, kind)], 1.0),
            What::Frustration(signal) => put(Family::Frustration, &[(names::SIGNAL, signal)], 1.0),
            What::Call(stats, codec) => {
                put(
                    Family::WebrtcMos,
                    &[],
                    emodel::mos(emodel::r_factor(stats, *codec)),
                );
                put(Family::WebrtcRtt, &[], stats.rtt);
                put(Family::WebrtcJitter, &[], stats.jitter);
                put(Family::WebrtcLoss, &[], stats.loss);
                put(
                    Family::WebrtcQuality,
                    &[(names::CLASS, emodel::class(stats))],
                    1.0,
                );
            }
        }
    }
}
