//! `--config.check` on broken configs: each error names the file, line, column and key, with
//! the exact message asserted.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What `--config.check` printed on stderr for the fixture, with the path cut off.
fn errors(name: &str) -> Vec<String> {
    let path = fixture(name);
    let output = Command::new(env!("CARGO_BIN_EXE_webrtc-probe"))
        .arg("--config.check")
        .arg(format!("--config.file={}", path.display()))
        .output()
        .unwrap();
    assert!(!output.status.success(), "{name} was accepted");
    let prefix = format!("{}:", path.display());
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

#[test]
fn a_turn_module_without_credentials_is_refused() {
    assert_eq!(
        errors("turn_without_credentials.yml"),
        ["3:5: modules.turn_udp.prober: the turn prober needs `turn` credentials"]
    );
}

#[test]
fn two_kinds_of_turn_secret_are_refused() {
    assert_eq!(
        errors("two_passwords.yml"),
        ["4:5: modules.turn_udp.turn: give exactly one of password, password_file, shared_secret, shared_secret_file"]
    );
}

#[test]
fn a_relay_policy_without_turn_credentials_is_refused() {
    assert_eq!(
        errors("relay_without_turn.yml"),
        ["5:7: modules.peer_relay.peer.ice_transport_policy: relay needs `turn` credentials"]
    );
}

#[test]
fn a_peer_module_over_tcp_is_refused() {
    assert_eq!(
        errors("peer_over_tcp.yml"),
        ["4:5: modules.peer_tcp.transport: the peer prober reaches STUN and TURN over udp only"]
    );
}

#[test]
fn every_stream_bound_is_checked() {
    assert_eq!(
        errors("bad_stream.yml"),
        [
            "6:7: modules.turn_udp.stream.packets: must be between 1 and 10000",
            "7:7: modules.turn_udp.stream.size: must be between 16 and 1200",
        ]
    );
}

#[test]
fn an_unknown_prober_is_refused() {
    let got = errors("unknown_prober.yml");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("modules.ping.prober") && got[0].contains("unknown variant `icmp`"),
        "{got:?}"
    );
}

#[test]
fn an_unknown_key_is_refused() {
    let got = errors("unknown_key.yml");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("unknown field `retries`"), "{got:?}");
}

#[test]
fn the_examples_pass_the_check() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/webrtc-probe.yml");
    let output = Command::new(env!("CARGO_BIN_EXE_webrtc-probe"))
        .arg("--config.check")
        .arg(format!("--config.file={}", path.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
