//! The gateway's state and the path from accepted items to metrics: label values, caps,
//! de-duplication, the re-report window.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::Config;
use crate::dedupe::{self, Holding, Offer, TtlSet};
use crate::emodel;
use crate::intake::{Item, What};
use crate::metrics::{Dims, LabelValue, RumMetrics};
use crate::names::{self, Family};
use crate::pages::{self, PageCaps, ValueCap};
use crate::protect::ratelimit::Limiter;
use crate::resolve::{Interner, Resolved};
use crate::useragent;
use crate::vitals::Vital;

/// What the request tells about every item in it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub agent: useragent::Agent,
    pub country: LabelValue,
}

/// Everything the intakes share.
pub struct Gateway {
    pub config: watch::Receiver<Arc<Config>>,
    pub metrics: Arc<RumMetrics>,
    pub ip_limiter: Limiter<IpAddr>,
    pub app_limiter: Limiter<String>,
    pub idempotency: TtlSet,
    pub agents: useragent::Agents,
    pages: PageCaps,
    apps: ValueCap,
    seen_ids: TtlSet,
    holding: Holding<Held>,
    interner: Interner,
}

/// A vital waiting out its re-report window: only what recording it needs.
struct Held {
    vital: Vital,
    value: f64,
    dims: Arc<Resolved>,
}

impl Gateway {
    pub fn new(config: watch::Receiver<Arc<Config>>, metrics: Arc<RumMetrics>) -> Arc<Gateway> {
        let ip_limiter = Limiter::counting(metrics.rate_limit_shared("ip"));
        let app_limiter = Limiter::counting(metrics.rate_limit_shared("app"));
        Arc::new(Gateway {
            config,
            metrics,
            ip_limiter,
            app_limiter,
            idempotency: TtlSet::default(),
            agents: useragent::Agents::default(),
            pages: PageCaps::default(),
            apps: ValueCap::default(),
            seen_ids: TtlSet::default(),
            holding: Holding::default(),
            interner: Interner::default(),
        })
    }

    pub fn current(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Records `items`, or holds vitals that may be re-reported; each item is observed once.
    pub fn accept(&self, config: &Arc<Config>, items: &[Item<'_>], request: &RequestInfo) {
        let now = Instant::now();
        let limits = &config.limits;
        let mut last: Option<(&str, &str, Arc<Resolved>)> = None;
        for item in items {
            // Items of one request mostly share app and page: share their label values too.
            let dims = match &last {
                Some((app, url, dims)) if *app == item.app && *url == item.url => dims.clone(),
                _ => {
                    let dims = self.interner.intern(
                        config,
                        self.dims(config, item, request),
                        &self.metrics,
                    );
                    last = Some((&item.app, &item.url, dims.clone()));
                    dims
                }
            };
            let Some(id) = &item.id else {
                self.record(config, &item.what, &dims);
                continue;
            };
            let key = dedupe::report_key(&item.app, &id.kind, &id.id);
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
            LabelValue::from(item.app.to_string())
        };
        let path = pages::path_of(&item.url);
        let page = match pages::match_route(path, &config.routes) {
            Some(template) => Cow::Borrowed(template),
            None => Cow::Owned(pages::slug(path, config.caps.max_path_depth)),
        };
        let page = self.capped(
            "page",
            self.pages
                .admit(app.as_str(), &page, config.caps.max_pages_per_app),
        );
        Dims {
            app,
            page,
            device: request.agent.device,
            browser: request.agent.browser,
            country: request.country.clone(),
        }
    }

    fn capped(&self, label: &'static str, capped: pages::Capped) -> LabelValue {
        if capped.overflowed {
            self.metrics.count_overflow(label);
        }
        capped.value
    }

    /// Observes one item into its families.
    pub fn record(&self, config: &Config, what: &What, resolved: &Resolved) {
        let max = config.caps.max_series_per_family;
        let dims = &resolved.dims;
        let put = |family: Family, fixed: &[(&'static str, &'static str)], value: f64| {
            let labels = dims.labels(config.dimensions(family), fixed);
            self.metrics.record(family, labels, value, max);
        };
        match what {
            What::Vital(vital, value) => self.record_vital(config, *vital, *value, resolved),
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

    /// A vital into its histogram and its rating counter, through the series cached in
    /// `resolved` while the config they were resolved under is current.
    fn record_vital(&self, config: &Config, vital: Vital, value: f64, resolved: &Resolved) {
        let rating = vital.rate(value);
        let fixed = [
            (names::METRIC, vital.label()),
            (names::RATING, rating.label()),
        ];
        let puts = [
            (vital.family(), None, &[][..], value),
            (Family::Rating, Some(rating), &fixed[..], 1.0),
        ];
        let current = self.interner.is_current(resolved);
        for (family, rating, fixed, value) in puts {
            let resolve = || {
                let labels = resolved.dims.labels(config.dimensions(family), fixed);
                self.metrics
                    .resolve(family, labels, config.caps.max_series_per_family)
            };
            if current {
                let series = resolved.slot(vital, rating).get_or_init(resolve);
                self.metrics.observe(series, value);
            } else {
                self.metrics.observe(&resolve(), value);
            }
        }
    }
}
