//! Synthetic counter series for the promtool unit tests of event-counting SLIs, so that the
//! tests run the user's own queries: for a part query (bad or good events) and a total query,
//! each of the form `sum(rate(<selector>[{{.window}}]))`, it finds label sets that the part
//! selects, and label sets that only the total selects. Queries of another shape return None
//! and the tests fall back to feeding the recorded series.

use std::collections::BTreeMap;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, VectorSelector};
use regex_syntax::hir::{Class, Hir, HirKind};

/// A counter to feed: metric name, labels, and its share of all events.
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Share of all events this counter counts (1 for a total-only counter).
    pub share: f64,
}

/// Counters making `part / total == fraction` for queries rendered at a window.
pub fn counters(part: &str, total: &str, fraction: f64) -> Option<Vec<Counter>> {
    let p = rated_selector(part)?;
    let t = rated_selector(total)?;
    let (p_name, t_name) = (metric_name(&p)?, metric_name(&t)?);
    let p_m = label_matchers(&p);
    let t_m = label_matchers(&t);
    if p_name != t_name {
        return Some(vec![
            Counter {
                name: p_name,
                labels: satisfy(&p_m, &[])?,
                share: fraction,
            },
            Counter {
                name: t_name,
                labels: satisfy(&t_m, &[])?,
                share: 1.0,
            },
        ]);
    }
    // One metric: the part's series match both selectors, the rest only the total's.
    let both: Vec<&Matcher> = p_m.iter().chain(t_m.iter()).copied().collect();
    let inside = satisfy(&both, &[])?;
    let outside = p_m.iter().find_map(|m| satisfy(&t_m, &[m]))?;
    let ok = |labels: &BTreeMap<String, String>, ms: &[&Matcher]| {
        ms.iter()
            .all(|m| m.is_match(labels.get(&m.name).map_or("", String::as_str)))
    };
    if !ok(&inside, &both) || !ok(&outside, &t_m) || ok(&outside, &p_m) {
        return None;
    }
    Some(vec![
        Counter {
            name: p_name.clone(),
            labels: inside,
            share: fraction,
        },
        Counter {
            name: p_name,
            labels: outside,
            share: 1.0 - fraction,
        },
    ])
}

/// The selector of `sum(rate(<selector>[w]))` (or `increase`), with no grouping.
fn rated_selector(query: &str) -> Option<VectorSelector> {
    let Expr::Aggregate(agg) = unparen(parser::parse(query).ok()?) else {
        return None;
    };
    if agg.op.to_string() != "sum"
        || agg
            .modifier
            .as_ref()
            .is_some_and(|m| !m.labels().is_empty())
    {
        return None;
    }
    let Expr::Call(call) = unparen(*agg.expr) else {
        return None;
    };
    if !matches!(call.func.name, "rate" | "increase") || call.args.args.len() != 1 {
        return None;
    }
    match unparen(*call.args.args[0].clone()) {
        Expr::MatrixSelector(m) if m.vs.offset.is_none() && m.vs.at.is_none() => Some(m.vs),
        _ => None,
    }
}

fn unparen(e: Expr) -> Expr {
    match e {
        Expr::Paren(p) => unparen(*p.expr),
        e => e,
    }
}

fn metric_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

/// The selector's matchers on labels other than the name; `or` matchers are not supported.
fn label_matchers(vs: &VectorSelector) -> Vec<&Matcher> {
    vs.matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .collect()
}

/// A label set meeting every matcher in `all` and failing every matcher in `fail`.
fn satisfy(all: &[&Matcher], fail: &[&Matcher]) -> Option<BTreeMap<String, String>> {
    let mut names: Vec<&str> = all.iter().chain(fail).map(|m| m.name.as_str()).collect();
    names.sort();
    names.dedup();
    let mut labels = BTreeMap::new();
    for name in names {
        let on: Vec<&&Matcher> = all.iter().filter(|m| m.name == name).collect();
        let off: Vec<&&Matcher> = fail.iter().filter(|m| m.name == name).collect();
        let value = candidates(&on, &off)
            .into_iter()
            .find(|v| on.iter().all(|m| m.is_match(v)) && off.iter().all(|m| !m.is_match(v)))?;
        if !value.is_empty() {
            labels.insert(name.to_string(), value);
        }
    }
    Some(labels)
}

/// Values worth trying for one label: the empty value (no label), the matchers' own values
/// and a shortest string of each regex, then a few common ones.
fn candidates(on: &[&&Matcher], off: &[&&Matcher]) -> Vec<String> {
    let mut out = vec![String::new()];
    for m in on.iter().chain(off) {
        match &m.op {
            MatchOp::Equal | MatchOp::NotEqual => out.push(m.value.clone()),
            MatchOp::Re(_) | MatchOp::NotRe(_) => out.extend(example(&m.value)),
        }
    }
    out.extend(["200", "ok", "success", "failure", "rulegen-test"].map(String::from));
    out
}

/// A shortest string the (anchored) regex matches, or None for what it cannot build.
fn example(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    build(&hir, &mut out).then_some(out)
}

fn build(hir: &Hir, out: &mut String) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => match std::str::from_utf8(&l.0) {
            Ok(s) => {
                out.push_str(s);
                true
            }
            Err(_) => false,
        },
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().first().map(|r| out.push(r.start())).is_some()
        }
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .first()
            .filter(|r| r.start().is_ascii())
            .map(|r| out.push(r.start() as char))
            .is_some(),
        HirKind::Repetition(r) => (0..r.min).all(|_| build(&r.sub, out)),
        HirKind::Capture(c) => build(&c.sub, out),
        HirKind::Concat(parts) => parts.iter().all(|p| build(p, out)),
        HirKind::Alternation(alts) => alts.first().is_some_and(|a| build(a, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_and_all_requests_of_one_metric_split_into_two_series() {
        let c = counters(
            r#"sum(rate(http_requests_total{job="api", code=~"5.."}[5m]))"#,
            r#"sum(rate(http_requests_total{job="api"}[5m]))"#,
            0.1,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[0].labels["code"].starts_with('5') && c[0].labels["code"].len() == 3);
        assert_eq!(c[0].labels["job"], "api");
        assert!(!c[1].labels.contains_key("code"));
        assert_eq!((c[0].share, c[1].share), (0.1, 0.9));
    }

    #[test]
    fn a_negative_matcher_is_met_by_another_value() {
        let c = counters(
            r#"sum(rate(runs_total{result="success"}[5m]))"#,
            r#"sum(rate(runs_total[5m]))"#,
            0.99,
        )
        .unwrap();
        assert_eq!(c[0].labels["result"], "success");
        assert!(!c[1].labels.contains_key("result"));
    }

    #[test]
    fn separate_metrics_give_a_part_and_a_total_counter() {
        let c = counters(
            "sum(rate(errors_total[5m]))",
            "sum(rate(requests_total[5m]))",
            0.2,
        )
        .unwrap();
        assert_eq!(
            (c[0].name.as_str(), c[1].name.as_str()),
            ("errors_total", "requests_total")
        );
    }

    #[test]
    fn other_shapes_are_left_alone() {
        assert!(counters("sum by (route) (rate(a[5m]))", "sum(rate(b[5m]))", 0.1).is_none());
        assert!(counters("rate(a[5m])", "sum(rate(b[5m]))", 0.1).is_none());
        assert!(counters(
            "sum(rate(a[5m])) - sum(rate(c[5m]))",
            "sum(rate(b[5m]))",
            0.1
        )
        .is_none());
    }
}
