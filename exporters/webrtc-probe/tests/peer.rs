//! The `peer` prober: two in-process peer connections through a real coturn (relay only) and
//! on the direct host path, with the round trip checked against coturn's own client.

mod common;

use std::process::Command;
use std::sync::Mutex;

use common::{Auth, Coturn, PASSWORD};

/// Timing tests run one at a time, so that they measure the path and not each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn config() -> String {
    format!(
        "
modules:
  peer_relay:
    prober: peer
    timeout: 15s
    turn: {{username: probe, password: {PASSWORD}}}
    peer: {{ice_transport_policy: relay}}
    stream: {{packets: 50, interval: 20ms}}
  peer_wrong_password:
    prober: peer
    timeout: 10s
    turn: {{username: probe, password: wrong}}
    peer: {{ice_transport_policy: relay}}
  peer_host:
    prober: peer
    timeout: 15s
    stream: {{packets: 50, interval: 20ms}}
"
    )
}

fn assert_connected(text: &str) {
    assert_eq!(common::value(text, "probe_success"), 1.0, "{text}");
    for phase in [
        "webrtc_probe_ice_gathering_seconds",
        "webrtc_probe_ice_connected_seconds",
        "webrtc_probe_dtls_connected_seconds",
        "webrtc_probe_data_channel_open_seconds",
    ] {
        let seconds = common::value(text, phase);
        assert!(seconds > 0.0 && seconds < 10.0, "{phase}: {text}");
    }
    assert_eq!(
        common::value(text, "webrtc_probe_packet_loss_ratio"),
        0.0,
        "{text}"
    );
    assert!(common::value(text, "webrtc_probe_mos") > 4.0, "{text}");
    assert_eq!(
        common::value(text, "webrtc_probe_quality{class=\"excellent\"}"),
        1.0
    );
}

#[test]
fn a_relayed_peer_connection_measures_what_turnutils_uclient_measures() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &config());
    // On a loaded machine one measurement of either tool can catch a scheduling stall; the two
    // must agree in at least one of five side-by-side runs.
    let mut attempts = Vec::new();
    for _ in 0..5 {
        let (text, _) = common::probe(&exporter, "peer_relay", &coturn.address());
        assert_connected(&text);
        let pair = "webrtc_probe_selected_candidate_pair_info{local_type=\"relay\",remote_type=\"relay\",relay_protocol=\"udp\"}";
        assert_eq!(common::value(&text, pair), 1.0, "{text}");
        let rtt = common::value(
            &text,
            "webrtc_probe_round_trip_time_seconds{quantile=\"0.5\"}",
        );
        let jitter = common::value(&text, "webrtc_probe_jitter_seconds");
        let (uclient_rtt, uclient_jitter) = uclient(&coturn);
        attempts.push((rtt, uclient_rtt, jitter, uclient_jitter));
        if (rtt - uclient_rtt).abs() < 0.002 && (jitter - uclient_jitter).abs() < 0.002 {
            return;
        }
    }
    panic!("(rtt, uclient rtt, jitter, uclient jitter) never within 2 ms: {attempts:?}");
}

#[test]
fn the_direct_host_path_on_loopback_stays_under_a_millisecond() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &config());
    // On an idle machine each hop of the round trip also pays for waking an idle core from its
    // sleep state, which is the machine's latency, not the path's; a busy thread keeps the
    // cores awake while measuring, as they are on a loaded host.
    let _awake = KeepCoresAwake::start();
    // One run may catch a scheduling stall of a loaded machine; one of five must be clean.
    let mut medians = Vec::new();
    for _ in 0..5 {
        let (text, _) = common::probe(&exporter, "peer_host", &coturn.address());
        assert_connected(&text);
        // On loopback the server-reflexive candidate is the host socket as coturn sees it
        // (127.0.0.1, the same port); when its check wins the race the path is still direct.
        let direct = ["host", "srflx"].iter().any(|local| {
            let pair = format!(
                "webrtc_probe_selected_candidate_pair_info{{local_type=\"{local}\",\
                 remote_type=\"host\",relay_protocol=\"\"}}"
            );
            exporter_kit::testing::sample(&text, &pair) == Some(1.0)
        });
        assert!(direct, "not a direct pair: {text}");
        let rtt = common::value(
            &text,
            "webrtc_probe_round_trip_time_seconds{quantile=\"0.5\"}",
        );
        if rtt < 0.001 {
            return;
        }
        medians.push(rtt);
    }
    panic!("the host-path median round trip was never under 1 ms: {medians:?}");
}

/// A thread spinning until dropped, so no core sleeps during a latency measurement.
struct KeepCoresAwake {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeepCoresAwake {
    fn start() -> KeepCoresAwake {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        KeepCoresAwake {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for KeepCoresAwake {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `turnutils_uclient` through two allocations on the same relay: its average round trip and
/// jitter, in seconds.
fn uclient(coturn: &Coturn) -> (f64, f64) {
    let output = Command::new("turnutils_uclient")
        .args([
            "-y", "-n", "50", "-l", "100", "-z", "20", "-u", "probe", "-w", PASSWORD,
        ])
        .args(["-p", &coturn.port.to_string(), "127.0.0.1"])
        .output()
        .expect("turnutils_uclient must be installed (Debian package coturn)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let number_after = |label: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{text}"));
        let rest = &line[line.find(label).unwrap() + label.len()..];
        rest.split_whitespace()
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            / 1000.0
    };
    (
        number_after("Average round trip delay"),
        number_after("Average jitter"),
    )
}

#[test]
fn a_refused_turn_password_fails_the_relay_gathering_quickly() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &config());
    let (text, took) = common::probe(&exporter, "peer_wrong_password", &coturn.address());
    common::assert_failed_at(&text, "ice_gathering");
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}
