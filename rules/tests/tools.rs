//! The generated files pass the real tools: `promtool check rules`, `promtool test rules` on
//! the generated unit tests, and `amtool check-config`. These tests fail when a tool is
//! missing: `make test` installs Debian's `prometheus` and `prometheus-alertmanager`.

use std::path::{Path, PathBuf};

use rulegen::gen::{generate, Options, Output};
use rulegen::spec::load_paths;
use rulegen::validate::{validate, ValidateError};

fn generated(specs: &str) -> Output {
    let model = load_paths(&[PathBuf::from(specs)]).unwrap_or_else(|e| panic!("{specs}: {e}"));
    generate(&model, &Options::default())
}

fn tools() -> (&'static Path, &'static Path) {
    (Path::new("promtool"), Path::new("amtool"))
}

fn assert_valid(out: &Output) {
    let (promtool, amtool) = tools();
    if let Err(e) = validate(out, promtool, amtool) {
        panic!("{e}");
    }
}

#[test]
fn the_native_golden_output_passes_promtool_and_its_unit_tests() {
    assert_valid(&generated("tests/golden/native/specs"));
}

#[test]
fn the_example_specs_pass_promtool_and_amtool() {
    assert_valid(&generated("specs"));
}

#[test]
fn the_unit_tests_catch_a_page_threshold_that_is_too_high() {
    let mut out = generated("tests/golden/native/specs");
    let rules = out.files.get_mut(Path::new("rules/api.yml")).unwrap();
    assert!(rules.contains("(14.4 * 0.001)"));
    *rules = rules
        .replace("(14.4 * 0.001)", "(1000 * 0.001)")
        .replace("(6 * 0.001)", "(1000 * 0.001)");
    let (promtool, amtool) = tools();
    match validate(&out, promtool, amtool) {
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
