//! The series this exporter writes, and how one run's outcome lands in them. The same types
//! serve `/metrics` (scheduled runs) and a fresh registry per `/probe` request.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::names;

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JourneyLabels {
    pub journey: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub journey: String,
    pub step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JourneyResultLabels {
    pub journey: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    pub check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckResultLabels {
    pub check: String,
    pub result: String,
}

/// What the browser itself measured for one loaded page, in seconds from navigation start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PageTimings {
    pub ttfb: Option<f64>,
    pub dom_content_loaded: Option<f64>,
    pub load: Option<f64>,
    pub fcp: Option<f64>,
    pub lcp: Option<f64>,
    pub cls: Option<f64>,
    pub resources: Option<f64>,
    pub js_heap: Option<f64>,
}

/// One step as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub step: String,
    pub duration: Duration,
    pub success: bool,
    /// Set when the step loaded a page.
    pub page: Option<PageTimings>,
}

/// One journey run.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyOutcome {
    pub journey: String,
    pub success: bool,
    pub duration: Duration,
    pub steps: Vec<StepOutcome>,
    /// The label of every step of the journey, run or not.
    pub all_steps: Vec<String>,
    pub failed_step: Option<String>,
    pub reason: Option<String>,
    /// Files written for this run, relative to the journey's artifact directory.
    pub artifacts: Vec<String>,
    pub finished_at: SystemTime,
}

/// One check run.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub check: String,
    pub success: bool,
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub reason: Option<String>,
    pub finished_at: SystemTime,
}

/// Journey series.
#[derive(Clone, Default)]
pub struct JourneyMetrics {
    success: Family<JourneyLabels, Gauge>,
    duration: Family<JourneyLabels, FloatGauge>,
    step_duration: Family<StepLabels, FloatGauge>,
    runs: Family<JourneyResultLabels, Counter>,
    last_run: Family<JourneyLabels, FloatGauge>,
    failed_step: Family<StepLabels, Gauge>,
    pages: [Family<StepLabels, FloatGauge>; 8],
}

const PAGE_SERIES: [(&str, &str); 8] = [
    (
        names::PAGE_TTFB,
        "Time to the first byte of the page, from Navigation Timing",
    ),
    (
        names::PAGE_DOM_CONTENT_LOADED,
        "Time to DOMContentLoaded end, from Navigation Timing",
    ),
    (
        names::PAGE_LOAD,
        "Time to the load event end, from Navigation Timing",
    ),
    (names::PAGE_FCP, "First contentful paint, from Paint Timing"),
    (
        names::PAGE_LCP,
        "Largest contentful paint, from the browser's LCP entries",
    ),
    (
        names::PAGE_CLS,
        "Sum of layout shifts without recent input, from layout-shift entries",
    ),
    (
        names::PAGE_RESOURCES,
        "Resources the page loaded, from Resource Timing",
    ),
    (
        names::PAGE_JS_HEAP,
        "Used JavaScript heap of the page, in bytes",
    ),
];

impl JourneyMetrics {
    /// Registers the journey series in `registry` (unprefixed: the names carry the prefix).
    pub fn register(registry: &mut Registry, with_runs: bool) -> JourneyMetrics {
        let m = JourneyMetrics::default();
        registry.register(
            names::JOURNEY_SUCCESS,
            "Whether the last run of the journey succeeded",
            m.success.clone(),
        );
        registry.register(
            names::JOURNEY_DURATION,
            "How long the last run took, in seconds",
            m.duration.clone(),
        );
        registry.register(
            names::JOURNEY_STEP_DURATION,
            "How long each step of the last run took, in seconds",
            m.step_duration.clone(),
        );
        registry.register(
            names::JOURNEY_FAILED_STEP,
            "1 for the step at which the last run failed, 0 for the others",
            m.failed_step.clone(),
        );
        if with_runs {
            registry.register(
                names::JOURNEY_RUNS,
                "Runs of the journey by result",
                m.runs.clone(),
            );
            registry.register(
                names::JOURNEY_LAST_RUN,
                "When the last run ended, in seconds since the epoch",
                m.last_run.clone(),
            );
        }
        for ((name, help), family) in PAGE_SERIES.iter().zip(&m.pages) {
            registry.register(*name, *help, family.clone());
        }
        m
    }

    /// Sets every series of `outcome.journey` from one finished run.
    pub fn record(&self, outcome: &JourneyOutcome) {
        let journey = JourneyLabels {
            journey: outcome.journey.clone(),
        };
        self.success
            .get_or_create(&journey)
            .set(i64::from(outcome.success));
        self.duration
            .get_or_create(&journey)
            .set(outcome.duration.as_secs_f64());
        self.last_run
            .get_or_create(&journey)
            .set(epoch_seconds(outcome.finished_at));
        let result = if outcome.success {
            names::RESULT_SUCCESS
        } else {
            names::RESULT_FAILURE
        };
        self.runs
            .get_or_create(&JourneyResultLabels {
                journey: outcome.journey.clone(),
                result: result.to_string(),
            })
            .inc();
        for step in &outcome.all_steps {
            let labels = step_labels(&outcome.journey, step);
            let failed = outcome.failed_step.as_deref() == Some(step.as_str());
            self.failed_step
                .get_or_create(&labels)
                .set(i64::from(failed));
        }
        for step in &outcome.steps {
            let labels = step_labels(&outcome.journey, &step.step);
            self.step_duration
                .get_or_create(&labels)
                .set(step.duration.as_secs_f64());
            if let Some(page) = &step.page {
                self.record_page(&labels, page);
            }
        }
    }

    fn record_page(&self, labels: &StepLabels, page: &PageTimings) {
        let values = [
            page.ttfb,
            page.dom_content_loaded,
            page.load,
            page.fcp,
            page.lcp,
            page.cls,
            page.resources,
            page.js_heap,
        ];
        for (value, family) in values.iter().zip(&self.pages) {
            if let Some(value) = value {
                family.get_or_create(labels).set(*value);
            }
        }
    }
}

/// Check series.
#[derive(Clone, Default)]
pub struct CheckMetrics {
    success: Family<CheckLabels, Gauge>,
    duration: Family<CheckLabels, FloatGauge>,
    status_code: Family<CheckLabels, Gauge>,
    runs: Family<CheckResultLabels, Counter>,
}

impl CheckMetrics {
    pub fn register(registry: &mut Registry, with_runs: bool) -> CheckMetrics {
        let m = CheckMetrics::default();
        registry.register(
            names::CHECK_SUCCESS,
            "Whether the last run of the check succeeded",
            m.success.clone(),
        );
        registry.register(
            names::CHECK_DURATION,
            "How long the last run of the check took, in seconds",
            m.duration.clone(),
        );
        registry.register(names::CHECK_STATUS_CODE, "HTTP status code of the last run (101 for an upgraded WebSocket, 0 without a response)", m.status_code.clone());
        if with_runs {
            registry.register(
                names::CHECK_RUNS,
                "Runs of the check by result",
                m.runs.clone(),
            );
        }
        m
    }

    pub fn record(&self, outcome: &CheckOutcome) {
        let labels = CheckLabels {
            check: outcome.check.clone(),
        };
        self.success
            .get_or_create(&labels)
            .set(i64::from(outcome.success));
        self.duration
            .get_or_create(&labels)
            .set(outcome.duration.as_secs_f64());
        self.status_code
            .get_or_create(&labels)
            .set(i64::from(outcome.status_code.unwrap_or(0)));
        let result = if outcome.success {
            names::RESULT_SUCCESS
        } else {
            names::RESULT_FAILURE
        };
        self.runs
            .get_or_create(&CheckResultLabels {
                check: outcome.check.clone(),
                result: result.to_string(),
            })
            .inc();
    }
}

fn step_labels(journey: &str, step: &str) -> StepLabels {
    StepLabels {
        journey: journey.to_string(),
        step: step.to_string(),
    }
}

/// Seconds since the Unix epoch, for timestamps in gauges and JSON.
pub fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
