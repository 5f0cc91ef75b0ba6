//! Every invalid spec fixture fails to load with exactly these messages, each at its place.

use std::path::PathBuf;

use rulegen::spec::{load_paths, LoadError};

fn errors_of(fixture: &str) -> Vec<String> {
    let path = PathBuf::from("tests/fixtures/invalid").join(fixture);
    match load_paths(&[path]) {
        Ok(_) => panic!("{fixture} loaded, but it is invalid"),
        Err(LoadError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("{fixture}: unexpected error {e}"),
    }
}

fn assert_errors(fixture: &str, expected: &[&str]) {
    let prefix = "tests/fixtures/invalid/";
    let expected: Vec<String> = expected.iter().map(|e| format!("{prefix}{e}")).collect();
    assert_eq!(errors_of(fixture), expected, "fixture {fixture}");
}

#[test]
fn an_unknown_key_is_named_with_the_keys_that_are_allowed() {
    assert_errors(
        "unknown-key.yml",
        &[
            "unknown-key.yml:6:5: slos[0]: unknown field `colour`, expected one of `name`, \
           `description`, `objective`, `period`, `labels`, `sli`, `alerting`",
        ],
    );
}

#[test]
fn invalid_promql_is_reported_at_the_query() {
    assert_errors(
        "bad-promql.yml",
        &["bad-promql.yml:8:14: invalid PromQL: unclosed left parenthesis"],
    );
}

#[test]
fn an_sli_query_without_a_window_placeholder_is_refused() {
    assert_errors(
        "no-window.yml",
        &["no-window.yml:8:22: query has no {{.window}} placeholder for the range of the SLI window"],
    );
}

#[test]
fn an_objective_of_one_hundred_percent_leaves_no_budget() {
    assert_errors(
        "objective-100.yml",
        &["objective-100.yml:5:16: objective 100 must be above 0 and below 100 (percent)"],
    );
}

#[test]
fn a_period_must_be_whole_days() {
    assert_errors(
        "period-in-hours.yml",
        &["period-in-hours.yml:6:13: period 1d12h must be a whole number of days, at least 1d"],
    );
}

#[test]
fn a_period_shorter_than_the_default_windows_needs_its_own_windows() {
    assert_errors(
        "period-shorter-than-windows.yml",
        &[
            "period-shorter-than-windows.yml:6:13: period 2d is shorter than the default 3d alert \
           window; set `alerting.windows`",
        ],
    );
}

#[test]
fn an_unknown_api_version_is_refused_at_its_line() {
    assert_errors(
        "unknown-version.yml",
        &[
            "unknown-version.yml:2:13: unsupported apiVersion \"rulegen/v2\", expected \
           \"rulegen/v1\" or \"openslo/v1\" (Sloth specs use `version: prometheus/v1`)",
        ],
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused_at_the_value() {
    assert_errors(
        "wrong-type.yml",
        &["wrong-type.yml:5:16: slos[0].objective: invalid type: string \"high\", expected f64"],
    );
}

#[test]
fn an_sli_must_be_of_exactly_one_kind() {
    assert_errors(
        "two-sli-kinds.yml",
        &["two-sli-kinds.yml:6:5: sli needs exactly one of `availability`, `latency` or `raw`"],
    );
}

#[test]
fn a_duplicate_slo_names_where_it_was_first_defined() {
    assert_errors(
        "duplicate-slo.yml",
        &[
            "duplicate-slo.yml:13:5: duplicate SLO \"shop-checkout\", first defined at \
           tests/fixtures/invalid/duplicate-slo.yml:4:5",
        ],
    );
}

#[test]
fn custom_windows_are_checked_one_by_one() {
    assert_errors(
        "bad-window.yml",
        &[
            "bad-window.yml:12:22: unknown severity \"urgent\", expected page or ticket",
            "bad-window.yml:13:67: long window exceeds the period 7d",
        ],
    );
}

#[test]
fn a_raw_sli_cannot_have_a_minimum_of_events() {
    assert_errors(
        "raw-with-min-events.yml",
        &[
            "raw-with-min-events.yml:10:19: min_events needs an SLI that counts events; a raw SLI \
           has no event count",
        ],
    );
}

#[test]
fn slos_need_a_service() {
    assert_errors(
        "missing-service.yml",
        &["missing-service.yml:2:1: missing `service`, required for SLOs"],
    );
}

#[test]
fn every_bad_name_in_a_document_is_reported_at_once() {
    assert_errors(
        "bad-names.yml",
        &[
            "bad-names.yml:4:14: invalid label name \"team-name\"",
            "bad-names.yml:6:11: invalid SLO name \"check out\": use letters, digits, '-', '_' \
             and '.', starting and ending with a letter or digit",
            "bad-names.yml:10:20: invalid histogram name \"http_request_duration_seconds_bucket\": \
             give the name without `_bucket`",
            "bad-names.yml:11:20: threshold 0 must be a positive number of seconds",
        ],
    );
}

#[test]
fn a_sloth_plugin_sli_is_refused_rather_than_ignored() {
    assert_errors(
        "sloth-plugin.yml",
        &["sloth-plugin.yml:7:7: Sloth plugins are not supported: rulegen cannot run them; write \
           the SLI as events or raw"],
    );
}

#[test]
fn a_sloth_alert_needs_a_name_unless_both_alerts_are_disabled() {
    assert_errors(
        "sloth-no-alert-name.yml",
        &[
            "sloth-no-alert-name.yml:10:5: alerting.name is required unless both page_alert and \
           ticket_alert are disabled",
        ],
    );
}

#[test]
fn a_sloth_version_other_than_prometheus_v1_is_refused() {
    assert_errors(
        "sloth-wrong-version.yml",
        &[
            "sloth-wrong-version.yml:1:10: unsupported Sloth version \"prometheus/v2\", expected \
           \"prometheus/v1\"",
        ],
    );
}

#[test]
fn openslo_timeslices_and_months_are_refused_rather_than_approximated() {
    assert_errors(
        "openslo-timeslices.yml",
        &[
            "openslo-timeslices.yml:16:17: duration \"1M\" has no fixed length; give it in days or \
             weeks (e.g. 28d, 4w)",
            "openslo-timeslices.yml:18:20: budgetingMethod \"Timeslices\" is not supported: \
             rulegen counts events (Occurrences); time slices would need a different SLI",
        ],
    );
}

#[test]
fn openslo_calendar_windows_and_unknown_references_are_refused() {
    assert_errors(
        "openslo-calendar.yml",
        &[
            "openslo-calendar.yml:7:17: no SLI named \"missing-sli\"",
            "openslo-calendar.yml:9:7: calendar time windows are not supported: Prometheus rules \
             measure rolling windows",
        ],
    );
}

#[test]
fn openslo_alerting_that_cannot_be_honoured_is_refused() {
    assert_errors(
        "openslo-alerting.yml",
        &[
            "openslo-alerting.yml:16:20: alertWhenNoData is not supported: burn-rate alerts cannot \
             fire on missing data; add an absent() alert",
            "openslo-alerting.yml:18:26: no AlertCondition named \"nowhere\"",
            "openslo-alerting.yml:19:3: notificationTargets are not supported: route alerts in the \
             rulegen routing section",
            "openslo-alerting.yml:23:7: OpenSLO kind \"AlertNotificationTarget\" is not supported; \
             expected SLO, SLI, AlertPolicy, AlertCondition, Service or DataSource",
        ],
    );
}

#[test]
fn an_openslo_metric_source_must_name_a_known_data_source() {
    assert_errors(
        "openslo-sli.yml",
        &["openslo-sli.yml:8:44: no DataSource named \"thanos\""],
    );
}

#[test]
fn an_inline_secret_has_no_field_to_go_in() {
    assert_errors(
        "routing-inline-secret.yml",
        &[
            "routing-inline-secret.yml:12:9: routing.receivers[0].webhook: unknown field \
           `password`, expected `url` or `bearer_token_file`",
        ],
    );
}

#[test]
fn routes_must_name_known_receivers_and_match_something() {
    assert_errors(
        "routing-bad.yml",
        &[
            "routing-bad.yml:6:17: unknown receiver \"tickets\"",
            "routing-bad.yml:7:28: business_hours_only needs `routing.business_hours`",
            "routing-bad.yml:8:7: a route needs `team` or `severity`",
            "routing-bad.yml:13:13: duplicate receiver \"inbox\"",
        ],
    );
}

#[test]
fn an_anomaly_that_must_last_too_long_would_move_its_own_band() {
    assert_errors(
        "anomaly-long-for.yml",
        &[
            "anomaly-long-for.yml:6:16: unknown direction \"sideways\", expected up, down or both",
            "anomaly-long-for.yml:7:10: for 3h is too long: an anomaly lasting more than 2h (a \
             twelfth of the season) moves its own band",
        ],
    );
}
