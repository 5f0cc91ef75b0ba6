//! A thousand probes in a row leave the exporter's open file descriptors and resident memory
//! where they were after the first hundred.

mod common;

use common::{Auth, Coturn, PASSWORD};

const MODULES: [&str; 3] = ["stun_udp", "turn_udp", "turn_tcp"];

fn config() -> String {
    format!(
        "
modules:
  stun_udp: {{prober: stun}}
  turn_udp:
    prober: turn
    turn: {{username: probe, password: {PASSWORD}}}
    stream: {{packets: 2, interval: 1ms}}
  turn_tcp:
    prober: turn
    transport: tcp
    turn: {{username: probe, password: {PASSWORD}}}
    stream: {{packets: 2, interval: 1ms}}
"
    )
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_thousand_probes_leak_no_file_descriptors_and_no_memory() {
    let coturn = Coturn::start(Auth::LongTerm);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), &config());
    let target = coturn.address();
    let run = |count: usize| {
        for i in 0..count {
            let module = MODULES[i % MODULES.len()];
            let (text, _) = common::probe(&exporter, module, &target);
            assert_eq!(
                common::value(&text, "probe_success"),
                1.0,
                "{module}: {text}"
            );
        }
    };
    run(100);
    // Let the last deallocations and closed sockets settle before the baseline.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (fds_before, rss_before) = (open_fds(exporter.pid()), rss_kib(exporter.pid()));
    run(900);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (fds_after, rss_after) = (open_fds(exporter.pid()), rss_kib(exporter.pid()));
    assert!(
        fds_after <= fds_before + 2,
        "fds {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after <= rss_before + 4096,
        "RSS {rss_before} KiB -> {rss_after} KiB"
    );
}
