//! Every invalid config fixture is refused by `--config.check` with its exact, located message,
//! and the example config is valid.

mod common;

use std::process::Command;

use common::BINARY;

fn check(path: &str) -> (bool, String) {
    let output = Command::new(BINARY)
        .args(["--config.check", "--config.file", path])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn each_invalid_fixture_gets_its_exact_message() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cases = [
        ("no_path.yml", "2:9: sources[0].path: is required for kind mysql_slowlog"),
        ("duplicate_name.yml", "5:5: sources[1].name: duplicate source name \"orders\""),
        ("top_k_zero.yml", "5:5: sources[0].top_k: must be at least 1"),
        (
            "two_dsns.yml",
            "4:5: sources[0].dsn: exactly one of dsn, dsn_env and dsn_file is required",
        ),
        (
            "explain_without_dsn.yml",
            "2:9: sources[0].explain_dsn: exactly one of explain_dsn, explain_dsn_env and \
             explain_dsn_file is required when explain is on",
        ),
        (
            "explain_postgres.yml",
            "5:5: sources[0].explain: is only for kinds mysql_slowlog and mysql_digest",
        ),
        (
            "auto_explain_not_postgres.yml",
            "5:5: sources[0].auto_explain_log: is only for kind postgres",
        ),
        ("unknown_key.yml", "5:5: sources[0].treshold: unknown field `treshold`, expected one of"),
        (
            "unknown_kind.yml",
            "3:11: sources[0].kind: unknown variant `oracle`, expected one of `mysql_slowlog`, `postgres`, `mysql_digest`",
        ),
    ];
    for (file, message) in cases {
        let path = format!("{dir}/{file}");
        let (ok, text) = check(&path);
        assert!(!ok, "{file} was accepted");
        assert!(
            text.starts_with(&format!("{path}:{message}")),
            "{file}: {text}"
        );
    }
}

#[test]
fn the_example_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/db-slowquery.yml");
    let (ok, text) = check(path);
    assert!(ok, "{text}");
}
