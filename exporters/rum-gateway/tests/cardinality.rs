//! A cardinality attack: 100,000 distinct URLs over 25 app names keep every family under
//! its series cap, every app under its page cap, and the folding is counted.

mod common;

use std::collections::{HashMap, HashSet};

use common::{test_config, Gateway};

const CAP: usize = 20_000;

#[test]
fn one_hundred_thousand_distinct_urls_stay_under_every_cap() {
    let gw = Gateway::start(&test_config(""));
    let mut sent = 0;
    for batch in 0..100 {
        let items: Vec<String> = (0..500)
            .flat_map(|i| {
                let n = batch * 500 + i;
                let app = format!("app{}", n % 25);
                let url = format!("https://evil.example/{n:x}word/z{n}/page?q={n}");
                [
                    format!(r#"{{"name":"page_view","value":900,"app":"{app}","url":"{url}"}}"#),
                    format!(r#"{{"name":"LCP","value":1500,"app":"{app}","url":"{url}"}}"#),
                ]
            })
            .collect();
        sent += items.len();
        gw.post_expect("/beacon", format!("[{}]", items.join(",")), &[], 202);
    }
    assert_eq!(sent, 100_000);

    let metrics = gw.metrics();
    let mut series: HashMap<&str, usize> = HashMap::new();
    let mut pages: HashMap<String, HashSet<String>> = HashMap::new();
    for line in metrics
        .0
        .lines()
        .filter(|l| l.starts_with("rum_") && !l.starts_with("rum_gateway_"))
    {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        *series.entry(family).or_default() += 1;
        if let (Some(app), Some(page)) = (label(line, "app"), label(line, "page")) {
            pages.entry(app).or_default().insert(page);
        }
    }
    let lcp = series["rum_largest_contentful_paint_seconds"];
    // The cap, plus one folded label set of 23 series (20 buckets, +Inf, _sum, _count).
    assert!(lcp <= CAP + 23, "LCP has {lcp} series");
    assert!(lcp >= CAP - 23, "LCP should fill its cap, has {lcp}");
    for (family, n) in &series {
        assert!(*n <= CAP + 23, "{family} has {n} series");
    }
    assert!(pages.len() <= 21, "{} apps", pages.len());
    for (app, set) in &pages {
        assert!(set.len() <= 201, "{app} has {} pages", set.len());
    }
    assert_eq!(metrics.sum("rum_page_views_total", &[]), 50_000.0);
    assert_eq!(
        metrics.sum("rum_largest_contentful_paint_seconds_count", &[]),
        50_000.0
    );
    for label in ["page", "app", "series"] {
        assert!(
            metrics.sum("rum_label_overflow_total", &[("label", label)]) > 0.0,
            "{label}"
        );
    }
}

fn label(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("{key}=\""))? + key.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}
