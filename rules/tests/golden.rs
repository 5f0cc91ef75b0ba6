//! Golden files: each case's specs generate exactly the files committed under its `out/`.
//! Run with `RULEGEN_BLESS=1` to rewrite them after an intended change, then review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rulegen::gen::{generate, Format, Options, Target};
use rulegen::spec::load_paths;

fn files_under(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    files
}

fn check_case(case: &str, opts: Options) {
    check_case_into(case, "out", opts);
}

/// Generates `case`'s specs with `opts` and compares with `tests/golden/<case>/<out>/`.
fn check_case_into(case: &str, out: &str, opts: Options) {
    let root = PathBuf::from("tests/golden").join(case);
    let model = load_paths(&[root.join("specs")]).unwrap_or_else(|e| panic!("{case}: {e}"));
    let out_files = generate(&model, &opts);
    let expected_dir = root.join(out);
    let out = out_files;
    if std::env::var_os("RULEGEN_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        rulegen::output::write(&out, &expected_dir).unwrap();
    }
    let expected = files_under(&expected_dir);
    let got: Vec<&PathBuf> = out.files.keys().collect();
    assert_eq!(
        got,
        expected.keys().collect::<Vec<_>>(),
        "{case}: file list"
    );
    for (path, text) in &out.files {
        assert!(
            &expected[path] == text,
            "{case}: {} differs from the golden file; run with RULEGEN_BLESS=1 and review",
            path.display()
        );
    }
}

#[test]
fn native_specs_generate_the_golden_rules_and_tests() {
    check_case("native", Options::default());
}

#[test]
fn sloth_specs_generate_the_golden_rules_and_tests() {
    check_case("sloth", Options::default());
}

#[test]
fn openslo_documents_generate_the_golden_rules_and_tests() {
    check_case("openslo", Options::default());
}

#[test]
fn the_operator_format_wraps_the_same_groups_in_prometheus_rules() {
    let opts = Options {
        format: Format::PrometheusOperator,
        target: Target::Prometheus2,
    };
    check_case_into("native", "out-operator", opts);
}

#[test]
fn prometheus_3_gets_float_le_labels() {
    let opts = Options {
        format: Format::Prometheus,
        target: Target::Prometheus3,
    };
    check_case_into("prometheus-3", "out", opts);
}

#[test]
fn generating_twice_gives_the_same_bytes() {
    let model = load_paths(&[PathBuf::from("tests/golden/native/specs")]).unwrap();
    let opts = Options {
        format: Format::Prometheus,
        target: Target::Prometheus2,
    };
    assert_eq!(generate(&model, &opts), generate(&model, &opts));
}

#[test]
fn the_apdex_alert_and_panel_name_bucket_bounds_as_the_target_stores_them() {
    // Prometheus 3 stores `le="2.0"`. Prometheus 2 stores what the exporter wrote: `le="2"` from
    // the text format, `le="2.0"` from OpenMetrics, so its rules match either.
    let spec = tempfile::tempdir().unwrap();
    std::fs::write(
        spec.path().join("packs.yml"),
        "apiVersion: rulegen/v1\npacks: {enabled: true}\n",
    )
    .unwrap();
    let model = load_paths(&[spec.path().to_path_buf()]).unwrap();
    for (target, rule, panel_matcher) in [
        (
            Target::Prometheus2,
            r#"le=~"2|2\\.0""#,
            r#"le=~\"2|2\\\\.0\""#,
        ),
        (Target::Prometheus3, r#"le="2.0""#, r#"le=\"2.0\""#),
    ] {
        let opts = Options {
            format: Format::Prometheus,
            target,
        };
        let out = generate(&model, &opts);
        let rules = &out.files[&PathBuf::from("rules/exporters.yml")];
        let bucket = format!("rum_page_load_seconds_bucket{{{rule}}}");
        assert!(
            rules.contains(&bucket),
            "{target:?}: {bucket} not in {rules}"
        );
        let panel = &out.files[&PathBuf::from("grafana/dashboards/rum.json")];
        let bucket = format!("{panel_matcher}}}[$__rate_interval]");
        assert!(
            panel.contains(&bucket),
            "{target:?}: {bucket} not in {panel}"
        );
    }
}
