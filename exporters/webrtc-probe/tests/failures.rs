//! Each way a target can be broken ends as `probe_success 0` with the failed stage, well
//! within the deadline: a closed port, a host that never answers, a name that does not
//! resolve, and refused credentials (in tests/turn.rs).

mod common;

use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use common::{Auth, Coturn, PASSWORD};

const CONFIG: &str = "
modules:
  stun_udp: {prober: stun, timeout: 2s}
  stun_tcp: {prober: stun, timeout: 2s, transport: tcp}
  turn_udp:
    prober: turn
    timeout: 2s
    turn: {username: probe, password: correct-horse}
  turn_tcp:
    prober: turn
    timeout: 2s
    transport: tcp
    turn: {username: probe, password: correct-horse}
";

/// The probe's 2s timeout, plus room for a loaded machine.
const WITHIN_DEADLINE: Duration = Duration::from_millis(2600);

#[test]
fn a_closed_port_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let target = format!("127.0.0.1:{}", common::free_port());
    for (module, stage) in [
        ("stun_udp", "binding"),
        ("stun_tcp", "connect"),
        ("turn_udp", "allocate"),
        ("turn_tcp", "connect"),
    ] {
        let (text, took) = common::probe(&exporter, module, &target);
        common::assert_failed_at(&text, stage);
        assert!(took < Duration::from_millis(1000), "{module} took {took:?}");
    }
}

#[test]
fn a_host_that_never_answers_fails_by_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    // A UDP socket that reads nothing, and a TCP listener whose backlog is full, stand for a
    // host that drops everything without leaving loopback.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (listener, _queued) = full_backlog_listener();
    let udp_target = silent.local_addr().unwrap().to_string();
    let tcp_target = listener.local_addr().unwrap().to_string();
    for (module, target, stage) in [
        ("stun_udp", &udp_target, "binding"),
        ("turn_udp", &udp_target, "allocate"),
        ("stun_tcp", &tcp_target, "connect"),
    ] {
        let (text, took) = common::probe(&exporter, module, target);
        common::assert_failed_at(&text, stage);
        assert!(took < WITHIN_DEADLINE, "{module} took {took:?}");
    }
}

#[test]
fn an_unresolvable_name_fails_at_the_resolve_stage() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    for module in ["stun_udp", "turn_tcp"] {
        let (text, took) = common::probe(&exporter, module, "no-such-host.invalid:3478");
        common::assert_failed_at(&text, "resolve");
        assert!(took < WITHIN_DEADLINE, "{module} took {took:?}");
    }
    let (text, _) = common::probe(&exporter, "stun_udp", "missing-port.invalid");
    common::assert_failed_at(&text, "resolve");
}

#[test]
fn the_wrong_password_file_content_fails_and_a_missing_file_fails_at_credentials() {
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "stale-password\n").unwrap();
    let config = format!(
        "
modules:
  from_file:
    prober: turn
    timeout: 2s
    turn: {{username: probe, password_file: {}}}
  missing_file:
    prober: turn
    timeout: 2s
    turn: {{username: probe, password_file: {}}}
",
        password_file.display(),
        dir.path().join("absent").display()
    );
    let exporter = common::exporter(dir.path(), &config);
    let (text, _) = common::probe(&exporter, "from_file", &coturn.address());
    common::assert_failed_at(&text, "allocate");

    // The file is read at every probe: a rotated password is used without a reload.
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let (text, _) = common::probe(&exporter, "from_file", &coturn.address());
    assert_eq!(common::value(&text, "probe_success"), 1.0, "{text}");

    let (text, _) = common::probe(&exporter, "missing_file", &coturn.address());
    common::assert_failed_at(&text, "credentials");
}

#[test]
fn probes_over_the_concurrency_limit_fail_at_once_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter_with(dir.path(), CONFIG, &["--probe.max-concurrent=1"]);
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap().to_string();
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| common::probe(&exporter, "stun_udp", &target));
        std::thread::sleep(Duration::from_millis(500));
        let (text, took) = common::probe(&exporter, "stun_udp", &target);
        common::assert_failed_at(&text, "concurrency");
        assert!(took < Duration::from_millis(500), "{took:?}");
        let (text, _) = slow.join().unwrap();
        common::assert_failed_at(&text, "binding");
    });
    let (_, metrics) = exporter_kit::testing::get(&exporter.url("/metrics"));
    assert_eq!(
        common::value(&metrics, "webrtc_probe_probes_over_limit_total"),
        1.0
    );
    assert_eq!(
        common::value(&metrics, "webrtc_probe_probes_in_flight"),
        0.0
    );
}

/// A listener with a backlog of one, filled, so that further SYNs go unanswered.
fn full_backlog_listener() -> (std::net::TcpListener, Vec<TcpStream>) {
    let socket = socket2_free_listener();
    let address = socket.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..4 {
        match TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream),
            Err(_) => break,
        }
    }
    (socket, queued)
}

fn socket2_free_listener() -> std::net::TcpListener {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(1).unwrap().into_std().unwrap()
    })
}
