//! Every invalid config fixture is refused with a message naming file, line and key.

use std::path::PathBuf;

use synthetic_journey::config::Config;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn errors_of(name: &str) -> String {
    let path = fixture(name);
    let errors = exporter_kit::config::load_file::<Config>(&path).unwrap_err();
    errors
        .to_string()
        .replace(&path.display().to_string(), name)
}

#[test]
fn each_invalid_fixture_is_refused_with_its_exact_message() {
    let cases = [
        (
            "unknown_step_key.yml",
            "unknown_step_key.yml:5:25: journeys[0].steps[1].selectr: unknown field `selectr`, expected `name` or `selector`",
        ),
        (
            "unknown_action.yml",
            "unknown_action.yml:5:18: journeys[0].steps[1].action: unknown variant `hover`, expected one of `navigate`, `click`, `fill`, `press`, `wait`, `assert_text`, `assert_url`, `sleep`, `screenshot`",
        ),
        (
            "duplicate_journey.yml",
            "duplicate_journey.yml:5:5: journeys[1].name: duplicate name \"home\"",
        ),
        (
            "duplicate_step_name.yml",
            "duplicate_step_name.yml:5:42: journeys[0].steps[1].name: duplicate step \"open\"",
        ),
        (
            "first_step_not_navigate.yml",
            "first_step_not_navigate.yml:4:9: journeys[0].steps[0]: the first step must be navigate",
        ),
        (
            "unknown_key.yml",
            "unknown_key.yml:5:25: journeys[0].steps[1].key: unknown key \"Return\": use one character, F1 to F12, or one of Enter, Tab, Escape, Backspace, Delete, Insert, Space, ArrowUp, ArrowDown, ArrowLeft, ArrowRight, Home, End, PageUp, PageDown, Shift, Control, Alt, Meta, CapsLock, ContextMenu, Pause",
        ),
        (
            "bad_regex.yml",
            "bad_regex.yml:5:5: checks[0].body_regex: invalid regular expression: unclosed character class",
        ),
        (
            "send_on_http_check.yml",
            "send_on_http_check.yml:5:5: checks[0].send: not used by http checks",
        ),
        (
            "websocket_with_http_url.yml",
            "websocket_with_http_url.yml:4:5: checks[0].url: must start with ws:// or wss://",
        ),
        (
            "bad_reference.yml",
            "bad_reference.yml:5:15: checks[0].headers.Authorization: unknown source \"vault\" in \"${vault:token}\": use env or file",
        ),
        (
            "zero_interval.yml",
            "zero_interval.yml:5:5: checks[0].interval: must be greater than zero",
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(errors_of(name), expected, "{name}");
    }
}

#[test]
fn the_embedded_default_and_the_example_load() {
    let default: Config = exporter_kit::config::load_str(
        synthetic_journey::INFO.default_config,
        &exporter_kit::config::Source::Embedded,
    )
    .unwrap();
    assert!(default.journeys.is_empty() && default.checks.is_empty());
    let example_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/synthetic.yml");
    let example: Config = exporter_kit::config::load_file(&example_path).unwrap();
    assert_eq!(example.journeys[0].steps.len(), 7);
    assert_eq!(example.checks.len(), 2);
}
