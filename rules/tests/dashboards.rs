//! The generated dashboards: Grafana schema 39 or later, the data source as a variable, fixed
//! uids, and every PromQL expression of every panel and variable parses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rulegen::gen::{generate, Options};
use rulegen::spec::{load_paths, parse_promql};
use serde_json::Value;

fn dashboards() -> Vec<(PathBuf, Value)> {
    let model = load_paths(&[PathBuf::from("specs")]).unwrap();
    generate(&model, &Options::default())
        .files
        .into_iter()
        .filter(|(p, _)| p.starts_with("grafana/dashboards"))
        .map(|(p, text)| (p, serde_json::from_str(&text).unwrap()))
        .collect()
}

use rulegen::validate::grafana_to_promql as substitute;

#[test]
fn every_dashboard_has_a_fixed_uid_and_a_recent_schema() {
    let uids: BTreeSet<String> = dashboards()
        .iter()
        .map(|(p, d)| {
            assert!(
                d["schemaVersion"].as_u64().unwrap() >= 39,
                "{}",
                p.display()
            );
            d["uid"].as_str().unwrap().to_string()
        })
        .collect();
    let expected = [
        "rulegen-anomaly-bands",
        "rulegen-database",
        "rulegen-overview",
        "rulegen-rum",
        "rulegen-slo-overview",
        "rulegen-synthetic",
        "rulegen-webrtc",
    ];
    assert_eq!(uids, expected.iter().map(ToString::to_string).collect());
}

#[test]
fn every_panel_reads_the_datasource_variable() {
    for (path, d) in dashboards() {
        let vars = d["templating"]["list"].as_array().unwrap();
        assert!(vars
            .iter()
            .any(|v| v["type"] == "datasource" && v["name"] == "datasource"));
        for p in d["panels"].as_array().unwrap() {
            assert_eq!(
                p["datasource"]["uid"],
                "${datasource}",
                "{}",
                path.display()
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(
                    t["datasource"]["uid"],
                    "${datasource}",
                    "{}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_panel_expression_parses() {
    let mut count = 0;
    for (path, d) in dashboards() {
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                if let Err(e) = parse_promql(&substitute(expr)) {
                    panic!("{} panel {:?}: {e}\n{expr}", path.display(), p["title"]);
                }
                count += 1;
            }
        }
    }
    assert!(count > 40, "only {count} expressions");
}

#[test]
fn every_variable_query_names_a_valid_selector() {
    for (path, d) in dashboards() {
        for v in d["templating"]["list"].as_array().unwrap() {
            let Some(def) = v["definition"].as_str() else {
                continue;
            };
            let inner = def
                .strip_prefix("label_values(")
                .and_then(|s| s.rsplit_once(','))
                .map(|(sel, _)| sel)
                .unwrap();
            parse_promql(&substitute(inner))
                .unwrap_or_else(|e| panic!("{} variable {def}: {e}", path.display()));
        }
    }
}

#[test]
fn slo_alerts_link_to_the_slo_dashboard() {
    let out = generate(
        &load_paths(&[PathBuf::from("specs")]).unwrap(),
        &Options::default(),
    );
    let rules = &out.files[Path::new("rules/shop-lcp.yml")];
    assert!(
        rules.contains("dashboard_url: /d/rulegen-slo-overview/slo-overview?var-slo_id=shop-lcp")
    );
    assert!(out
        .files
        .contains_key(Path::new("grafana/dashboards/slo-overview.json")));
}
