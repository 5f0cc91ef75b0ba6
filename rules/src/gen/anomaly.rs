//! Anomaly bands: a signal compared with its seasonal prediction (the value one season ago,
//! corrected by how much the average moved since), with bands of N standard deviations.

use std::collections::BTreeMap;

use super::rulefile::{num, selector, Group, Rule};
use super::unittest::{AlertTest, ExpAlert, ExprTest, Sample, Series, TestCase};
use crate::duration::Duration;
use crate::model::{Detector, Direction, Seasonality};
use crate::names as n;

/// Spacing of samples and evaluations in the generated anomaly tests: a few hundred steps
/// per season keep promtool fast while a change stays short next to the season.
pub fn test_interval(s: Seasonality) -> Duration {
    match s {
        Seasonality::Weekly => Duration::minutes(30),
        Seasonality::Daily | Seasonality::None => Duration::minutes(5),
    }
}

/// Labels of every series of a detector.
fn labels(d: &Detector) -> BTreeMap<String, String> {
    BTreeMap::from([(n::LABEL_ANOMALY.to_string(), d.name.clone())])
}

/// The recording and alerting rules of one detector.
pub fn group(d: &Detector) -> Group {
    let l = labels(d);
    let sel = selector(&l);
    let season = d.seasonality.season();
    let record = |name: &str, expr: String| Rule::record(name, expr, l.clone());
    let band = format!("{} * {}{sel}", num(d.sensitivity), n::ANOMALY_STDDEV);
    let lower = format!("{}{sel} - {band}", n::ANOMALY_PREDICTION);
    let lower = if d.non_negative {
        format!("clamp_min(\n  {lower},\n  0\n)")
    } else {
        lower
    };
    let mut rules = vec![
        record(n::ANOMALY_VALUE, d.expr.template.clone()),
        record(
            n::ANOMALY_MEAN,
            format!("avg_over_time({}{sel}[{season}])", n::ANOMALY_VALUE),
        ),
        record(
            n::ANOMALY_STDDEV,
            format!("stddev_over_time({}{sel}[{season}])", n::ANOMALY_VALUE),
        ),
        record(n::ANOMALY_PREDICTION, prediction(d, &sel)),
        record(
            n::ANOMALY_UPPER,
            format!("{}{sel} + {band}", n::ANOMALY_PREDICTION),
        ),
        record(n::ANOMALY_LOWER, lower),
        record(
            n::ANOMALY_ZSCORE,
            format!(
                "({v}{sel} - {p}{sel})\n/\n({s}{sel} > 0)",
                v = n::ANOMALY_VALUE,
                p = n::ANOMALY_PREDICTION,
                s = n::ANOMALY_STDDEV
            ),
        ),
    ];
    rules.extend(directions(d).into_iter().map(|dir| alert(d, dir, &sel)));
    Group {
        name: n::group_anomaly(&d.name),
        interval: None,
        rules,
    }
}

/// Last season's value, smoothed over an hour centred on the same time, plus the change of
/// the average since; the average alone while less than a season of data exists or when
/// last season has a gap.
fn prediction(d: &Detector, sel: &str) -> String {
    let season = d.seasonality.season();
    if d.seasonality == Seasonality::None {
        return format!("{}{sel}", n::ANOMALY_MEAN);
    }
    let centred = Duration(season.seconds() - 1800);
    format!(
        "(\n  avg_over_time({v}{sel}[1h] offset {centred})\n  + {m}{sel}\n  - {m}{sel} offset {season}\n)\nor\n{m}{sel}",
        v = n::ANOMALY_VALUE,
        m = n::ANOMALY_MEAN,
    )
}

fn directions(d: &Detector) -> Vec<&'static str> {
    match d.direction {
        Direction::Up => vec!["up"],
        Direction::Down => vec!["down"],
        Direction::Both => vec!["up", "down"],
    }
}

fn alert_labels(d: &Detector, dir: &str) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (n::LABEL_SEVERITY.to_string(), "warning".to_string()),
        (n::LABEL_DIRECTION.to_string(), dir.to_string()),
    ]);
    l.extend(d.labels.clone());
    l.insert(n::LABEL_ANOMALY.to_string(), d.name.clone());
    l
}

fn alert(d: &Detector, dir: &str, sel: &str) -> Rule {
    let (op, band) = match dir {
        "up" => (">", n::ANOMALY_UPPER),
        _ => ("<", n::ANOMALY_LOWER),
    };
    let expr = format!("{}{sel}\n{op}\n{band}{sel}", n::ANOMALY_VALUE);
    let mut rule = Rule::alert(n::ANOMALY_ALERT, expr, alert_labels(d, dir));
    rule.for_ = Some(d.for_);
    let side = if dir == "up" { "above" } else { "below" };
    rule.annotations = BTreeMap::from([
        (
            "summary".to_string(),
            format!("Signal {} is {side} its anomaly band.", d.name),
        ),
        (
            "description".to_string(),
            format!(
                "{{{{ $labels.anomaly }}}} has been {side} its {} prediction by more than {} \
                 standard deviations for {}.",
                seasonality_name(d.seasonality),
                num(d.sensitivity),
                d.for_
            ),
        ),
    ]);
    rule.annotations.extend(d.annotations.clone());
    rule
}

fn seasonality_name(s: Seasonality) -> &'static str {
    match s {
        Seasonality::Weekly => "weekly",
        Seasonality::Daily => "daily",
        Seasonality::None => "recent",
    }
}

/// Unit tests, each feeding the detector's value series: a steady signal fires nothing; a
/// jump past the band fires the alert of that direction once `for` has passed, also when
/// the data of one season ago has a gap; the lower band of a signal falling to zero stays at
/// zero.
pub fn cases(d: &Detector, group: Option<&Group>) -> Vec<TestCase> {
    let t = Timeline::of(d);
    let steady = |v: &str| format!("100+0x{} {v}+0x{}", t.before - 1, t.after - 1);
    let rules: Vec<&Rule> = group.iter().flat_map(|g| &g.rules).collect();
    let expect = |dir: &str| expected(&rules, dir);
    let mut cases = vec![
        t.case(
            d,
            "a steady signal fires nothing",
            steady("100"),
            Vec::new(),
        ),
        t.case(
            d,
            "a jump far above the band fires the up alert",
            steady("1000"),
            expect("up"),
        ),
        t.case(
            d,
            "a drop to zero fires the down alert",
            steady("0"),
            expect("down"),
        ),
    ];
    if d.seasonality != Seasonality::None {
        cases.push(t.case(
            d,
            "a gap one season ago does not hide a jump",
            t.gapped("1000"),
            expect("up"),
        ));
    }
    if d.non_negative {
        let falling = format!("{}-1x{} 0+0x{}", t.before - 1, t.before - 1, t.after - 1);
        let mut c = t.case(
            d,
            "the lower band of a signal falling to zero stays at zero",
            falling,
            Vec::new(),
        );
        c.promql_expr_test.push(ExprTest {
            expr: format!("{}{}", n::ANOMALY_LOWER, selector(&labels(d))),
            eval_time: t.eval,
            exp_samples: vec![Sample {
                labels: format!("{}{}", n::ANOMALY_LOWER, selector(&labels(d))),
                value: 0.0,
            }],
        });
        cases.push(c);
    }
    cases
}

/// The alert a rule of direction `dir` raises, if the detector has one.
fn expected(rules: &[&Rule], dir: &str) -> Vec<ExpAlert> {
    let Some(r) = rules.iter().find(|r| {
        r.alert.is_some() && r.labels.get(n::LABEL_DIRECTION).map(String::as_str) == Some(dir)
    }) else {
        return Vec::new();
    };
    let annotations = r
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), super::unittest::expand(v, &r.labels)))
        .collect();
    vec![ExpAlert {
        exp_labels: r.labels.clone(),
        exp_annotations: annotations,
    }]
}

/// Samples before the change (a season and a day), after it (past `for`), and when to look.
struct Timeline {
    before: u64,
    after: u64,
    season: u64,
    eval: Duration,
}

impl Timeline {
    fn of(d: &Detector) -> Self {
        let step = test_interval(d.seasonality).seconds();
        let before = (d.seasonality.season().seconds() + 86_400) / step;
        let after = d.for_.seconds().div_ceil(step) + 2;
        Timeline {
            before,
            after,
            season: d.seasonality.season().seconds() / step,
            eval: Duration((before + after - 1) * step),
        }
    }

    /// Steady at 100 with two hours missing around one season before the evaluation, then
    /// `v` from the change on.
    fn gapped(&self, v: &str) -> String {
        let centre = self.before + self.after - 1 - self.season;
        let (gap_start, gap_len) = (centre - 6, 13);
        let rest = self.before - gap_start - gap_len;
        format!(
            "100+0x{} _x{gap_len} 100+0x{} {v}+0x{}",
            gap_start - 1,
            rest - 1,
            self.after - 1
        )
    }

    fn case(
        &self,
        d: &Detector,
        what: &str,
        values: String,
        exp_alerts: Vec<ExpAlert>,
    ) -> TestCase {
        TestCase {
            name: format!("anomaly {}: {what}", d.name),
            interval: test_interval(d.seasonality),
            input_series: vec![Series {
                series: format!("{}{}", n::ANOMALY_VALUE, selector(&labels(d))),
                values,
            }],
            alert_rule_test: vec![AlertTest {
                eval_time: self.eval,
                alertname: n::ANOMALY_ALERT.to_string(),
                exp_alerts,
            }],
            promql_expr_test: Vec::new(),
        }
    }
}
