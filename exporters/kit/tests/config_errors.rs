//! `--config.check` on good and bad files: every error names the file, line, column and key,
//! with the exact message asserted.

mod common;

use common::{fixture, flags, TestConfig, INFO};

fn check(config: &str) -> Result<String, String> {
    let path = fixture(config);
    exporter_kit::check_config::<TestConfig>(
        &INFO,
        &flags(&[&format!("--config.file={}", path.display())]),
    )
}

fn check_web(web: &str) -> Result<String, String> {
    let path = fixture(web);
    exporter_kit::check_config::<TestConfig>(
        &INFO,
        &flags(&[&format!("--web.config.file={}", path.display())]),
    )
}

/// The expected error text, with the fixture's full path in front of each line.
fn located(name: &str, lines: &[&str]) -> String {
    let path = fixture(name);
    let mut text: String = lines
        .iter()
        .map(|line| format!("{}:{line}", path.display()))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

#[test]
fn a_good_file_passes_with_a_verdict() {
    let path = fixture("good.yml");
    assert_eq!(
        check("good.yml"),
        Ok(format!("{}: config OK\n", path.display()))
    );
}

#[test]
fn a_file_of_comments_means_all_defaults() {
    assert!(check("only_comments.yml").is_ok());
}

#[test]
fn no_config_file_checks_the_embedded_default() {
    let verdict = exporter_kit::check_config::<TestConfig>(&INFO, &flags(&[]));
    assert_eq!(verdict, Ok("<embedded default>: config OK\n".to_string()));
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let expected = located(
        "unknown_key.yml",
        &["4:3: limits.brust: unknown field `brust`, expected `rate` or `burst`"],
    );
    assert_eq!(check("unknown_key.yml"), Err(expected));
}

#[test]
fn a_value_of_the_wrong_type_is_named_with_its_line() {
    let expected = located(
        "wrong_type.yml",
        &["2:9: limits.rate: invalid type: string \"fast\", expected u32"],
    );
    assert_eq!(check("wrong_type.yml"), Err(expected));
}

#[test]
fn a_rule_across_fields_is_checked_after_defaults() {
    let expected = located(
        "burst_below_rate.yml",
        &["2:20: limits.burst: must be at least limits.rate (50)"],
    );
    assert_eq!(check("burst_below_rate.yml"), Err(expected));
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let expected = located(
        "two_problems.yml",
        &[
            "3:3: limits.burst: must be at least limits.rate (50)",
            "8:5: modules.never.timeout: must be more than 0s",
        ],
    );
    assert_eq!(check("two_problems.yml"), Err(expected));
}

#[test]
fn a_yaml_syntax_error_is_located() {
    let expected = located(
        "syntax_error.yml",
        &["3:1: limits: did not find expected ',' or '}', while parsing a flow mapping at line 2 column 9"],
    );
    assert_eq!(check("syntax_error.yml"), Err(expected));
}

#[test]
fn a_bad_duration_names_its_key() {
    let expected = located(
        "bad_duration.yml",
        &["4:14: modules.x.timeout: invalid value: string \"soon\", expected a duration"],
    );
    assert_eq!(check("bad_duration.yml"), Err(expected));
}

#[test]
fn a_missing_required_key_names_its_parent() {
    let expected = located(
        "missing_field.yml",
        &["3:5: modules.x: missing field `behaviour`"],
    );
    assert_eq!(check("missing_field.yml"), Err(expected));
}

#[test]
fn an_unknown_choice_lists_the_valid_ones() {
    let expected = located(
        "unknown_variant.yml",
        &["2:18: modules.x.behaviour: unknown variant `sideways`, expected one of `succeed`, `fail`, `hang`"],
    );
    assert_eq!(check("unknown_variant.yml"), Err(expected));
}

#[test]
fn a_missing_config_file_is_an_error() {
    let Err(error) = check("does_not_exist.yml") else {
        panic!("a missing file passed");
    };
    assert!(
        error.contains("does_not_exist.yml:0:0: could not read config file: No such file"),
        "{error}"
    );
}

#[test]
fn a_web_config_with_a_plain_password_is_refused() {
    let expected = located(
        "web_plain_password.yml",
        &["2:3: basic_auth_users.alice: not a bcrypt hash (it should start with $2)"],
    );
    assert_eq!(check_web("web_plain_password.yml"), Err(expected));
}

#[test]
fn a_web_config_with_old_tls_is_refused() {
    let expected = located(
        "web_bad_tls.yml",
        &["4:3: tls_server_config.min_version: TLS 1.0 and 1.1 are not supported; use TLS12 or TLS13"],
    );
    assert_eq!(check_web("web_bad_tls.yml"), Err(expected));
}

#[test]
fn a_web_config_with_an_unsupported_section_is_refused() {
    let expected = located(
        "web_unknown_key.yml",
        &["4:1: http_server_config: unknown field `http_server_config`, expected `tls_server_config` or `basic_auth_users`"],
    );
    assert_eq!(check_web("web_unknown_key.yml"), Err(expected));
}

#[test]
fn a_web_config_naming_missing_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: gone.crt\n  key_file: gone.key\n",
    )
    .unwrap();
    let verdict = exporter_kit::check_config::<TestConfig>(
        &INFO,
        &flags(&[&format!("--web.config.file={}", web.display())]),
    );
    let (w, d) = (web.display(), dir.path().display());
    let expected = format!(
        "{w}:2:3: tls_server_config.cert_file: could not read {d}/gone.crt: No such file or directory (os error 2)\n\
         {w}:3:3: tls_server_config.key_file: could not read {d}/gone.key: No such file or directory (os error 2)\n"
    );
    assert_eq!(verdict, Err(expected));
}
