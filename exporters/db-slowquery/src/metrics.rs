//! `/metrics`: renders every source's totals at scrape time, so the series are always those
//! of the current top K (plus `other`) and nothing is kept twice.

use exporter_kit::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use exporter_kit::prometheus_client::metrics::counter::ConstCounter;
use exporter_kit::prometheus_client::metrics::gauge::ConstGauge;
use exporter_kit::prometheus_client::metrics::MetricType;

use crate::aggregate::{Histogram, Totals};
use crate::config::Kind;
use crate::exporter::{lock, Shared, SourceState};
use crate::names::*;

type Labels = Vec<(&'static str, String)>;

/// The prometheus-client collector of all sources.
#[derive(Debug)]
pub struct Collector {
    shared: Shared,
}

impl Collector {
    pub fn new(shared: Shared) -> Collector {
        Collector { shared }
    }
}

/// One labelled series of a query family.
struct Series<'a> {
    source: &'a str,
    database: &'a str,
    query_id: &'a str,
    totals: Totals,
    histogram: Option<&'a Histogram>,
}

impl Series<'_> {
    fn labels(&self) -> Labels {
        vec![
            (SOURCE, self.source.to_string()),
            (DATABASE, self.database.to_string()),
            (QUERY_ID, self.query_id.to_string()),
        ]
    }
}

impl exporter_kit::prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let states = lock(&self.shared);
        let series: Vec<Series<'_>> = states.iter().flat_map(query_series).collect();
        type Pick = fn(&Totals) -> f64;
        let counters: [(&str, &str, Pick); 5] = [
            (
                QUERIES,
                "Executions of the query (slow log: entries at or over the threshold).",
                |t| t.calls as f64,
            ),
            (EXEC_SECONDS, "Total execution time of the query.", |t| {
                t.exec_seconds
            }),
            (
                LOCK_SECONDS,
                "Total time spent waiting for locks (slow log).",
                |t| t.lock_seconds,
            ),
            (
                ROWS_SENT,
                "Rows returned (PostgreSQL: rows retrieved or affected).",
                |t| t.rows_sent,
            ),
            (ROWS_EXAMINED, "Rows examined (slow log).", |t| {
                t.rows_examined
            }),
        ];
        for (name, help, pick) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for s in &series {
                let labels = s.labels();
                let value = pick(&s.totals);
                if name == QUERIES {
                    encode_counter_u64(&mut family, &labels, s.totals.calls)?;
                } else {
                    ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        encode_histograms(&mut encoder, &series, &states)?;
        encode_info(&mut encoder, &states)?;
        encode_source_gauges(&mut encoder, &states)?;
        encode_source_counters(&mut encoder, &states)?;
        encode_explain_counters(&mut encoder, &states)
    }
}

fn encode_counter_u64(
    family: &mut MetricEncoder<'_>,
    labels: &Labels,
    value: u64,
) -> std::fmt::Result {
    ConstCounter::new(value).encode(family.encode_family(labels)?)
}

fn query_series<'a>((name, state): (&'a String, &'a SourceState)) -> Vec<Series<'a>> {
    let mut series: Vec<Series<'a>> = state
        .aggregate
        .top()
        .into_iter()
        .map(|(key, q)| Series {
            source: name,
            database: &key.database,
            query_id: &key.query_id,
            totals: q.exported,
            histogram: (state.kind == Kind::MysqlSlowlog).then_some(&q.histogram),
        })
        .collect();
    series.push(Series {
        source: name,
        database: "",
        query_id: OTHER,
        totals: state.aggregate.other,
        histogram: (state.kind == Kind::MysqlSlowlog).then_some(&state.aggregate.other_histogram),
    });
    series
}

fn encode_histograms(
    encoder: &mut DescriptorEncoder,
    series: &[Series<'_>],
    states: &std::collections::BTreeMap<String, SourceState>,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        QUERY_DURATION,
        "Durations of slow log entries, buckets from the slow threshold up.",
        None,
        MetricType::Histogram,
    )?;
    for s in series {
        let Some(h) = s.histogram else { continue };
        let bounds = &states[s.source].aggregate.limits.bucket_bounds;
        let mut buckets: Vec<(f64, u64)> = bounds
            .iter()
            .zip(h.counts.iter().chain(std::iter::repeat(&0)))
            .map(|(&b, &c)| (b, c))
            .collect();
        buckets.push((f64::INFINITY, h.count));
        let labels = s.labels();
        family
            .encode_family(&labels)?
            .encode_histogram::<Labels>(h.sum, h.count, &buckets, None)?;
    }
    Ok(())
}

fn encode_info(
    encoder: &mut DescriptorEncoder,
    states: &std::collections::BTreeMap<String, SourceState>,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        QUERY_INFO,
        "The fingerprint of each query with its own series (truncated).",
        None,
        MetricType::Info,
    )?;
    for (name, state) in states {
        let mut seen = std::collections::HashSet::new();
        for (key, q) in state.aggregate.top() {
            // One info series per query ID even when it runs in several databases.
            if seen.insert(&key.query_id) {
                let labels: Labels = vec![
                    (SOURCE, name.clone()),
                    (QUERY_ID, key.query_id.clone()),
                    (FINGERPRINT, q.fingerprint.clone()),
                ];
                family.encode_info(&labels)?;
            }
        }
    }
    Ok(())
}

fn encode_source_gauges(
    encoder: &mut DescriptorEncoder,
    states: &std::collections::BTreeMap<String, SourceState>,
) -> std::fmt::Result {
    type Pick = fn(&SourceState) -> f64;
    let gauges: [(&str, &str, Pick); 5] = [
        (
            NULL_QUERY_IDS,
            "pg_stat_statements rows without a query ID, not counted (grant pg_read_all_stats).",
            |s| s.null_query_id_rows as f64,
        ),
        (
            SOURCE_UP,
            "Whether the last read of the source worked (1) or not (0).",
            |s| f64::from(u8::from(s.up)),
        ),
        (
            RUNNING_QUERIES,
            "Queries running now for longer than the slow threshold (PostgreSQL).",
            |s| s.running as f64,
        ),
        (
            LONGEST_RUNNING,
            "How long the longest of those has been running (PostgreSQL).",
            |s| s.longest_running,
        ),
        (TRACKED, "Query IDs whose totals are held in memory.", |s| {
            s.aggregate.queries.len() as f64
        }),
    ];
    for (metric, help, pick) in gauges {
        let mut family = encoder.encode_descriptor(metric, help, None, MetricType::Gauge)?;
        for (name, state) in states {
            let labels: Labels = vec![(SOURCE, name.clone())];
            ConstGauge::new(pick(state)).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

fn encode_source_counters(
    encoder: &mut DescriptorEncoder,
    states: &std::collections::BTreeMap<String, SourceState>,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        SKIPPED,
        "Slow log entries or statistics rows not counted, by reason.",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in states {
        for (reason, value) in [
            ("below_threshold", state.below_threshold),
            ("oversized", state.oversized),
        ] {
            let labels: Labels = vec![(SOURCE, name.clone()), (REASON, reason.to_string())];
            encode_counter_u64(&mut family, &labels, value)?;
        }
    }
    type Pick = fn(&SourceState) -> u64;
    let counters: [(&str, &str, Pick); 4] = [
        (
            FORGOTTEN,
            "Query IDs dropped from memory (max_tracked_queries), their time kept in other.",
            |s| s.aggregate.forgotten,
        ),
        (LOG_REOPENS, "Slow log rotations by rename followed.", |s| {
            s.rotations
        }),
        (
            "db_slowquery_log_truncations",
            "Slow log truncations (copytruncate) followed.",
            |s| s.truncations,
        ),
        (SOURCE_ERRORS, "Failed reads or polls of the source.", |s| {
            s.errors
        }),
    ];
    for (metric, help, pick) in counters {
        let mut family = encoder.encode_descriptor(metric, help, None, MetricType::Counter)?;
        for (name, state) in states {
            let labels: Labels = vec![(SOURCE, name.clone())];
            encode_counter_u64(&mut family, &labels, pick(state))?;
        }
    }
    Ok(())
}

/// Plan counters, only for the sources with `explain` or `auto_explain_log`.
fn encode_explain_counters(
    encoder: &mut DescriptorEncoder,
    states: &std::collections::BTreeMap<String, SourceState>,
) -> std::fmt::Result {
    let explaining = || states.iter().filter(|(_, s)| s.explain);
    let mut family = encoder.encode_descriptor(
        EXPLAINS,
        "EXPLAINs of top queries by outcome: ok, failed, refused (not a plain SELECT), \
         no_connection.",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in explaining() {
        let p = &state.plans;
        for (outcome, value) in [
            ("ok", p.ok),
            ("failed", p.failed),
            ("refused", p.refused),
            ("no_connection", p.no_connection),
        ] {
            let labels: Labels = vec![(SOURCE, name.clone()), (OUTCOME, outcome.to_string())];
            encode_counter_u64(&mut family, &labels, value)?;
        }
    }
    let mut family = encoder.encode_descriptor(
        EXPLAINS_DEFERRED,
        "Top queries left without a plan for a later poll (explain_max_per_poll).",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in explaining() {
        let labels: Labels = vec![(SOURCE, name.clone())];
        encode_counter_u64(&mut family, &labels, state.plans.deferred)?;
    }
    let mut family = encoder.encode_descriptor(
        LOGGED_PLANS,
        "auto_explain plans of the server log: read, oversized (skipped), evicted (from memory).",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in states.iter().filter(|(_, s)| s.auto_explain) {
        let p = &state.plans;
        for (outcome, value) in [
            ("read", p.logged_read),
            ("oversized", p.logged_oversized),
            ("evicted", p.logged_evicted),
        ] {
            let labels: Labels = vec![(SOURCE, name.clone()), (OUTCOME, outcome.to_string())];
            encode_counter_u64(&mut family, &labels, value)?;
        }
    }
    Ok(())
}
