//! Every invalid config names its file, line and key, with the exact message.

use std::path::Path;

use rum_gateway::config::Config;

fn error_of(fixture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let errors = exporter_kit::config::load_file::<Config>(&path).unwrap_err();
    let text = errors.to_string();
    let prefix = format!("{}:", path.display());
    text.strip_prefix(&prefix).unwrap_or(&text).to_string()
}

#[test]
fn each_invalid_config_gets_its_exact_located_message() {
    let cases = [
        ("bad_size.yml", "2:19: limits.max_body_bytes: invalid size unit \"parsec\": use B, KB, KiB, MB, MiB, GB or GiB"),
        ("bad_origin.yml", "2:21: cors.allowed_origins[0]: origin \"shop.example\" must look like https://host or https://*.domain"),
        ("burst_below_rate.yml", "2:22: limits.per_ip.burst: must be at least the rate"),
        ("unknown_label.yml", "2:31: labels.rum_page_views_total[1]: unknown variant `user`, expected one of `app`, `page`, `device`, `browser`, `country`"),
        ("bad_route.yml", "1:10: routes[0]: '*' may only be the last segment of a route template"),
        ("unknown_key.yml", "2:3: cors.allowed_origin: unknown field `allowed_origin`, expected one of `allowed_origins`, `extra_allowed_headers`, `max_age`"),
        ("unknown_family.yml", "2:3: labels.rum_sessions_total: not a metric family with beacon labels (see README, Metrics)"),
        ("shared_path.yml", "2:3: paths.beacon: is used by another intake"),
    ];
    for (fixture, expected) in cases {
        assert_eq!(error_of(fixture), expected, "{fixture}");
    }
}

#[test]
fn the_embedded_default_and_the_examples_are_valid() {
    let source = exporter_kit::config::Source::Embedded;
    exporter_kit::config::load_str::<Config>(include_str!("../src/default.yml"), &source).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            exporter_kit::config::load_file::<Config>(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
