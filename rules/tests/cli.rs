//! The `rulegen` binary: `generate` writes, `check` lists every drift and exits 1.

use std::path::Path;
use std::process::{Command, Output};

fn rulegen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulegen"))
        .args(args)
        .output()
        .expect("rulegen runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn check_lists_stale_missing_and_orphaned_files_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let spec = "tests/golden/native/specs";
    assert!(rulegen(&["generate", "--spec", spec, "--out", out])
        .status
        .success());
    let clean = rulegen(&["check", "--spec", spec, "--out", out]);
    assert!(clean.status.success(), "{}", stdout(&clean));

    std::fs::write(
        dir.path().join("rules/api-availability.yml"),
        "edited by hand\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("rules/unittests/api-availability.slo.yml")).unwrap();
    let orphan = format!("# {}\ngroups: []\n", rulegen::names::GENERATED_NOTE);
    std::fs::write(dir.path().join("rules/old.yml"), orphan).unwrap();
    std::fs::write(dir.path().join("rules/mine.yml"), "groups: []\n").unwrap();

    let drift = rulegen(&["check", "--spec", spec, "--out", out]);
    assert_eq!(drift.status.code(), Some(1));
    let text = stdout(&drift);
    assert!(text.contains("stale: rules/api-availability.yml"), "{text}");
    assert!(
        text.contains("missing: rules/unittests/api-availability.slo.yml"),
        "{text}"
    );
    assert!(
        text.contains("no longer generated: rules/old.yml"),
        "{text}"
    );
    assert!(
        !text.contains("mine.yml"),
        "hand-written files are left alone: {text}"
    );

    assert!(rulegen(&["generate", "--spec", spec, "--out", out])
        .status
        .success());
    assert!(!Path::new(out).join("rules/old.yml").exists());
    assert!(Path::new(out).join("rules/mine.yml").exists());
    assert!(rulegen(&["check", "--spec", spec, "--out", out])
        .status
        .success());
}

#[test]
fn a_spec_error_exits_one_with_the_location() {
    let o = rulegen(&["check", "--spec", "tests/fixtures/invalid/bad-promql.yml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad-promql.yml:8:14: invalid PromQL"), "{err}");
}
