//! The `turn` prober against a real coturn: allocations over UDP, TCP and TLS, long-term and
//! REST credentials, data through the relay, and refused credentials as failed probes.

mod common;

use common::{Auth, Coturn, PASSWORD, SHARED_SECRET};

fn long_term_config(ca_file: &str) -> String {
    format!(
        "
modules:
  turn_udp:
    prober: turn
    turn: {{username: probe, password: {PASSWORD}}}
    stream: {{packets: 10, interval: 5ms}}
  turn_tcp:
    prober: turn
    transport: tcp
    turn: {{username: probe, password: {PASSWORD}}}
  turn_tls:
    prober: turn
    transport: tls
    tls: {{ca_file: {ca_file}}}
    turn: {{username: probe, password: {PASSWORD}}}
  turn_wrong_password:
    prober: turn
    turn: {{username: probe, password: not-the-password}}
"
    )
}

fn assert_relayed(text: &str) {
    assert_eq!(common::value(text, "probe_success"), 1.0, "{text}");
    let allocate = common::value(text, "webrtc_probe_turn_allocate_seconds");
    assert!(allocate > 0.0 && allocate < 1.0, "{text}");
    assert!(common::value(text, "webrtc_probe_turn_permission_seconds") > 0.0);
    let median = common::value(
        text,
        "webrtc_probe_round_trip_time_seconds{quantile=\"0.5\"}",
    );
    assert!(median > 0.0 && median < 0.05, "{text}");
    assert_eq!(
        common::value(text, "webrtc_probe_packet_loss_ratio"),
        0.0,
        "{text}"
    );
    assert_eq!(
        common::value(text, "webrtc_probe_packets_received"),
        10.0,
        "{text}"
    );
}

#[test]
fn data_goes_through_relays_allocated_over_udp_tcp_and_tls_with_a_password() {
    let coturn = Coturn::start_with_tls(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let ca = coturn.ca_file.clone().unwrap();
    let exporter = common::exporter(dir.path(), &long_term_config(&ca.display().to_string()));
    for (module, target) in [
        ("turn_udp", coturn.address()),
        ("turn_tcp", coturn.address()),
        ("turn_tls", coturn.tls_address()),
    ] {
        let (text, _) = common::probe(&exporter, module, &target);
        assert_relayed(&text);
    }
}

#[test]
fn a_wrong_password_fails_the_allocation_with_401() {
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &long_term_config("/nonexistent"));
    let (text, took) = common::probe(&exporter, "turn_wrong_password", &coturn.address());
    common::assert_failed_at(&text, "allocate");
    assert_eq!(common::value(&text, "webrtc_probe_turn_error_code"), 401.0);
    assert!(took.as_secs_f64() < 2.0, "{took:?}");
}

#[test]
fn rest_credentials_from_a_shared_secret_file_get_an_allocation() {
    let coturn = Coturn::start(Auth::Rest);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn-secret");
    std::fs::write(&secret, format!("{SHARED_SECRET}\n")).unwrap();
    let config = format!(
        "
modules:
  turn_rest:
    prober: turn
    turn: {{username: probe, shared_secret_file: {}}}
    stream: {{packets: 10, interval: 5ms}}
  turn_rest_tcp:
    prober: turn
    transport: tcp
    turn: {{username: probe, shared_secret: {SHARED_SECRET}}}
  turn_rest_wrong:
    prober: turn
    turn: {{username: probe, shared_secret: wrong-secret}}
",
        secret.display()
    );
    let exporter = common::exporter(dir.path(), &config);
    for module in ["turn_rest", "turn_rest_tcp"] {
        let (text, _) = common::probe(&exporter, module, &coturn.address());
        assert_relayed(&text);
    }
    let (text, _) = common::probe(&exporter, "turn_rest_wrong", &coturn.address());
    common::assert_failed_at(&text, "allocate");
    assert_eq!(common::value(&text, "webrtc_probe_turn_error_code"), 401.0);
}

#[test]
fn secrets_never_show_in_the_debug_output_or_the_logs() {
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &long_term_config("/nonexistent"));
    for module in ["turn_udp", "turn_wrong_password"] {
        let url = exporter.url(&format!(
            "/probe?module={module}&target={}&debug=true",
            coturn.address()
        ));
        let (status, page) = exporter_kit::testing::get(&url);
        assert_eq!(status, 200);
        assert!(page.contains("Module configuration:"), "{page}");
        assert!(page.contains("<secret>"), "{page}");
        assert!(
            !page.contains(PASSWORD) && !page.contains("not-the-password"),
            "{page}"
        );
    }
    let (_, config) = exporter_kit::testing::get(&exporter.url("/config"));
    assert!(!config.contains(PASSWORD), "{config}");
    let logs = exporter.logs();
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("not-the-password"),
        "{logs}"
    );
}

#[test]
fn a_forbidden_peer_fails_the_permission_with_403() {
    let coturn = Coturn::start_refusing_loopback_peers(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &long_term_config("/nonexistent"));
    let (text, _) = common::probe(&exporter, "turn_udp", &coturn.address());
    common::assert_failed_at(&text, "permission");
    assert_eq!(
        common::value(&text, "webrtc_probe_turn_error_code"),
        403.0,
        "{text}"
    );
}
