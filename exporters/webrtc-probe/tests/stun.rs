//! The `stun` prober against a real coturn, over UDP and TCP, with both kinds of credentials
//! configured on the server (a Binding request needs none).

mod common;

use common::{Auth, Coturn};

const CONFIG: &str = "
modules:
  stun_udp: {prober: stun, timeout: 5s}
  stun_tcp: {prober: stun, timeout: 5s, transport: tcp}
";

fn assert_binding_answered(text: &str) {
    assert_eq!(common::value(text, "probe_success"), 1.0, "{text}");
    let rtt = common::value(text, "webrtc_probe_stun_rtt_seconds");
    assert!(rtt > 0.0 && rtt < 1.0, "{text}");
    assert_eq!(
        common::value(text, "webrtc_probe_reflexive_ip_protocol"),
        4.0
    );
}

#[test]
fn a_binding_over_udp_and_tcp_succeeds_against_a_long_term_credential_server() {
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    for module in ["stun_udp", "stun_tcp"] {
        let (text, _) = common::probe(&exporter, module, &coturn.address());
        assert_binding_answered(&text);
    }
}

#[test]
fn a_binding_over_udp_and_tcp_succeeds_against_a_rest_secret_server() {
    let coturn = Coturn::start(Auth::Rest);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    for module in ["stun_udp", "stun_tcp"] {
        let (text, _) = common::probe(&exporter, module, &coturn.address());
        assert_binding_answered(&text);
        assert!(text.contains("webrtc_probe_connect_seconds") == (module == "stun_tcp"));
    }
}
