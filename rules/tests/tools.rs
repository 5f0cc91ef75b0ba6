//! The generated files pass the real tools: `promtool check rules`, `promtool test rules` on
//! the generated unit tests, and `amtool check-config`. These tests fail when a tool is
//! missing: `make test` installs Debian's `prometheus` and `prometheus-alertmanager`.

use std::path::{Path, PathBuf};

use rulegen::gen::{generate, Options, Output};
use rulegen::model::Model;
use rulegen::spec::load_paths;
use rulegen::validate::{validate, ValidateError};

fn model(specs: &str) -> Model {
    load_paths(&[PathBuf::from(specs)]).unwrap_or_else(|e| panic!("{specs}: {e}"))
}

fn generated(specs: &str) -> Output {
    generate(&model(specs), &Options::default())
}

fn tools() -> (&'static Path, &'static Path) {
    (Path::new("promtool"), Path::new("amtool"))
}

fn assert_valid(specs: &str) {
    let model = model(specs);
    let out = generate(&model, &Options::default());
    let (promtool, amtool) = tools();
    if let Err(e) = validate(&out, model.routing.as_ref(), promtool, amtool) {
        panic!("{e:?}");
    }
}

#[test]
fn the_native_golden_output_passes_promtool_and_its_unit_tests() {
    assert_valid("tests/golden/native/specs");
}

#[test]
fn the_sloth_golden_output_passes_promtool_and_its_unit_tests() {
    assert_valid("tests/golden/sloth/specs");
}

#[test]
fn the_openslo_golden_output_passes_promtool_and_its_unit_tests() {
    assert_valid("tests/golden/openslo/specs");
}

#[test]
fn the_example_specs_pass_promtool_and_amtool() {
    assert_valid("specs");
}

#[test]
fn the_unit_tests_catch_a_page_threshold_that_is_too_high() {
    let mut model = model("tests/golden/native/specs");
    model.packs.enabled = false;
    let mut out = generate(&model, &Options::default());
    let rules = out
        .files
        .get_mut(Path::new("rules/api-availability.yml"))
        .unwrap();
    assert!(rules.contains("(14.4 * 0.001)"));
    *rules = rules
        .replace("(14.4 * 0.001)", "(1000 * 0.001)")
        .replace("(6 * 0.001)", "(1000 * 0.001)");
    let (promtool, amtool) = tools();
    match validate(&out, None, promtool, amtool) {
        Err(ValidateError::Failed { output, .. }) => {
            assert!(
                output.contains("api-availability: a fast burn fires the page"),
                "{output}"
            );
        }
        other => panic!("the unit tests should fail, got {other:?}"),
    }
}

#[test]
fn the_committed_generated_files_are_up_to_date() {
    let drift = rulegen::output::check(&generated("specs"), Path::new("..")).unwrap();
    let listed: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert!(listed.is_empty(), "run `rulegen generate`: {listed:#?}");
}

/// Runs `amtool config routes test` on the example config, expecting `receiver`.
fn route(labels: &[&str], receiver: &str) {
    let dir = tempfile::tempdir().unwrap();
    rulegen::output::write(&generated("specs"), dir.path()).unwrap();
    let mut args = vec![
        "config".to_string(),
        "routes".into(),
        "test".into(),
        "--config.file=alertmanager/alertmanager.yml".into(),
        format!("--verify.receivers={receiver}"),
    ];
    args.extend(labels.iter().map(ToString::to_string));
    if let Err(e) = rulegen::validate::run(Path::new("amtool"), &args, dir.path()) {
        panic!("{labels:?} should go to {receiver}: {e:?}");
    }
}

#[test]
fn a_critical_alert_of_a_team_pages_that_team() {
    route(
        &["team=web", "severity=critical", "alertname=ErrorBudgetBurn"],
        "web-pager",
    );
    route(
        &["team=observability", "severity=critical"],
        "observability-pager",
    );
}

#[test]
fn a_critical_alert_of_another_team_goes_to_the_oncall_channel() {
    route(&["team=payments", "severity=critical"], "oncall-slack");
    route(
        &["severity=critical", "exporter=db-slowquery"],
        "oncall-slack",
    );
}

#[test]
fn warnings_become_tickets_and_the_rest_goes_to_the_inbox() {
    route(&["team=web", "severity=warning"], "tickets");
    route(&["severity=info"], "team-inbox");
    route(&["alertname=Watchdog"], "team-inbox");
}

#[test]
fn the_ticket_route_only_delivers_in_business_hours() {
    let out = generated("specs");
    let config = &out.files[Path::new("alertmanager/alertmanager.yml")];
    let tickets = config.split("- receiver: tickets").nth(1).unwrap();
    assert!(tickets.starts_with("\n    matchers:\n    - severity=\"warning\"\n    active_time_intervals:\n    - business-hours\n"), "{tickets}");
}

#[test]
fn no_secret_is_written_inline() {
    let out = generated("specs");
    let config = &out.files[Path::new("alertmanager/alertmanager.yml")];
    for key in [
        "routing_key:",
        "api_url:",
        "auth_password:",
        "service_key:",
        "credentials:",
    ] {
        assert!(!config.contains(key), "{key} in {config}");
    }
}

#[test]
fn every_pack_alert_fires_on_the_series_it_watches() {
    let args = ["test".to_string(), "rules".into(), "packs.test.yml".into()];
    let dir = Path::new("tests/promtool");
    if let Err(e) = rulegen::validate::run(Path::new("promtool"), &args, dir) {
        panic!("{e:?}");
    }
}
