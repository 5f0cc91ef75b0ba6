use super::*;

fn limits(top_k: usize, max_tracked: usize) -> Limits {
    Limits {
        top_k,
        hysteresis: 0.2,
        max_tracked,
        fingerprint_max_length: 10,
        bucket_bounds: vec![0.1, 1.0],
    }
}

fn observe(agg: &mut Aggregate, id: &str, seconds: f64) {
    agg.record(Observation {
        key: Key {
            database: "db".into(),
            query_id: id.into(),
        },
        fingerprint: "select a long fingerprint",
        example: Some("SELECT 1"),
        delta: Totals {
            calls: 1,
            exec_seconds: seconds,
            ..Totals::default()
        },
        duration: Some(seconds),
    });
}

fn top_ids(agg: &Aggregate) -> Vec<String> {
    agg.top().iter().map(|(k, _)| k.query_id.clone()).collect()
}

fn calls_everywhere(agg: &Aggregate) -> u64 {
    let own: u64 = agg.top().iter().map(|(_, q)| q.exported.calls).sum();
    own + agg.other.calls
}

#[test]
fn queries_fill_the_top_k_then_go_to_other() {
    let mut agg = Aggregate::new(limits(2, 10));
    observe(&mut agg, "A", 1.0);
    observe(&mut agg, "B", 1.0);
    observe(&mut agg, "C", 0.5);
    agg.rerank();
    assert_eq!(top_ids(&agg), ["A", "B"]);
    assert_eq!(agg.other.calls, 1);
    assert_eq!(
        agg.queries[&agg.top()[0].0.clone()].fingerprint,
        "select a l"
    );
    assert_eq!(
        agg.queries[&agg.top()[0].0.clone()].histogram.counts,
        [0, 1]
    );
}

#[test]
fn a_newcomer_needs_the_hysteresis_margin_to_take_a_place() {
    let mut agg = Aggregate::new(limits(1, 10));
    observe(&mut agg, "A", 1.0);
    observe(&mut agg, "B", 1.1);
    agg.rerank();
    assert_eq!(top_ids(&agg), ["A"], "10 % heavier is not enough");
    observe(&mut agg, "B", 0.2);
    agg.rerank();
    assert_eq!(top_ids(&agg), ["B"], "30 % heavier is");
    // B's own series starts when it enters; its calls before and A's series went to other.
    assert_eq!(agg.other.calls, 3);
    assert_eq!(calls_everywhere(&agg), 3);
}

#[test]
fn a_query_that_returns_to_the_top_starts_a_fresh_series_and_nothing_is_lost() {
    let mut agg = Aggregate::new(limits(1, 10));
    observe(&mut agg, "A", 1.0);
    agg.rerank();
    observe(&mut agg, "B", 5.0);
    agg.rerank();
    assert_eq!(top_ids(&agg), ["B"]);
    observe(&mut agg, "A", 10.0);
    agg.rerank();
    assert_eq!(top_ids(&agg), ["A"]);
    let a = &agg.queries[&Key {
        database: "db".into(),
        query_id: "A".into(),
    }];
    assert_eq!(a.exported.calls, 0, "its earlier calls are in other");
    assert_eq!(a.seen.calls, 2, "the ranking remembers them");
    assert_eq!(calls_everywhere(&agg), 3);
}

#[test]
fn memory_is_bounded_by_forgetting_the_lightest_outside_the_top() {
    let mut agg = Aggregate::new(limits(1, 3));
    for (i, id) in ["A", "B", "C", "D", "E"].iter().enumerate() {
        observe(&mut agg, id, 1.0 + i as f64 * 0.01);
    }
    agg.rerank();
    assert_eq!(agg.queries.len(), 3);
    assert_eq!(agg.forgotten, 2);
    assert_eq!(calls_everywhere(&agg), 5);
}
