//! The `mysql_slowlog` source on the real binary: rotation by rename and by copytruncate, a
//! half-written last entry, restarts, and a real MariaDB writing the log.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{metrics, wait_for_source_up, MariaDb, BINARY};
use db_slowquery::fingerprint::{fingerprint, query_id};
use exporter_kit::testing::{get, promtool_check_metrics, sample, RunningExporter};

const QUERY: &str = "SELECT * FROM orders WHERE id = 42";

fn entry(query: &str, seconds: f64) -> String {
    format!(
        "# Time: 261203 12:20:28\n# User@Host: app[app] @ localhost []\n\
         # Thread_id: 5  Schema: shop  QC_hit: No\n\
         # Query_time: {seconds:.6}  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 10\n\
         # Rows_affected: 0  Bytes_sent: 11\nSET timestamp=1796300428;\n{query};\n"
    )
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn series(source: &str, database: &str, query: &str) -> String {
    let id = query_id(&fingerprint(query.as_bytes()));
    format!("db_slowquery_queries_total{{source=\"{source}\",database=\"{database}\",query_id=\"{id}\"}}")
}

fn start(dir: &Path, log: &Path, extra: &str) -> RunningExporter {
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: app\n    kind: mysql_slowlog\n    path: {}\n    slow_threshold: 0s\n    \
             poll_interval: 100ms\n    settle_time: 300ms\n{extra}",
            log.display()
        ),
    )
    .unwrap();
    let exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);
    wait_for_source_up(&exporter, "app");
    exporter
}

/// Waits until the series has `want`, then checks it stays there (nothing counted twice).
fn expect_count(exporter: &RunningExporter, series: &str, want: f64) {
    let start = Instant::now();
    loop {
        let got = sample(&metrics(exporter), series).unwrap_or(0.0);
        if got == want {
            break;
        }
        assert!(
            got < want && start.elapsed() < Duration::from_secs(20),
            "{series} is {got}, want {want}\n{}",
            metrics(exporter)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        sample(&metrics(exporter), series).unwrap_or(0.0),
        want,
        "{series}"
    );
}

#[test]
fn entries_written_before_the_start_are_not_counted_and_a_restart_does_not_count_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    append(&log, &entry(QUERY, 0.5).repeat(3));
    let series = series("app", "shop", QUERY);
    let mut exporter = start(dir.path(), &log, "");
    std::thread::sleep(Duration::from_millis(500));
    append(&log, &entry(QUERY, 0.5).repeat(2));
    expect_count(&exporter, &series, 2.0);
    exporter.signal("TERM");
    exporter.wait_exit(Duration::from_secs(10));
    let exporter = start(dir.path(), &log, "");
    std::thread::sleep(Duration::from_millis(500));
    append(&log, &entry(QUERY, 0.5));
    expect_count(&exporter, &series, 1.0);
}

#[test]
fn a_log_rotated_by_rename_is_finished_and_the_new_file_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    append(&log, "");
    let exporter = start(dir.path(), &log, "");
    let series = series("app", "shop", QUERY);
    append(&log, &entry(QUERY, 0.2).repeat(3));
    expect_count(&exporter, &series, 3.0);
    let rotated = dir.path().join("slow.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    // The server writes to the renamed file until it reopens its log.
    append(&rotated, &entry(QUERY, 0.2));
    append(&log, &entry(QUERY, 0.2).repeat(2));
    expect_count(&exporter, &series, 6.0);
    let text = metrics(&exporter);
    assert_eq!(
        sample(&text, "db_slowquery_log_reopens_total{source=\"app\"}"),
        Some(1.0)
    );
}

#[test]
fn a_log_truncated_in_place_is_read_again_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    append(&log, "");
    let exporter = start(dir.path(), &log, "");
    let series = series("app", "shop", QUERY);
    append(&log, &entry(QUERY, 0.2).repeat(4));
    expect_count(&exporter, &series, 4.0);
    // copytruncate: copy away, then cut the file to zero while the server keeps appending.
    std::fs::copy(&log, dir.path().join("slow.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    append(&log, &entry(QUERY, 0.2));
    expect_count(&exporter, &series, 5.0);
    let text = metrics(&exporter);
    assert_eq!(
        sample(&text, "db_slowquery_log_truncations_total{source=\"app\"}"),
        Some(1.0)
    );
}

#[test]
fn a_half_written_entry_is_read_only_once_it_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    append(&log, "");
    let exporter = start(dir.path(), &log, "");
    let series = series(
        "app",
        "shop",
        "SELECT * FROM orders WHERE id = 1 AND status = 'x'",
    );
    let whole = entry("SELECT * FROM orders WHERE id = 1 AND status = 'x'", 0.3);
    let (first, rest) = whole.split_at(whole.len() - 20);
    append(&log, first);
    std::thread::sleep(Duration::from_secs(1));
    let text = metrics(&exporter);
    assert_eq!(
        sample(&text, &series),
        None,
        "half an entry was read:\n{text}"
    );
    assert!(!text.contains(
        "db_slowquery_queries_total{source=\"app\",database=\"shop\",query_id=\"other\""
    ));
    append(&log, rest);
    expect_count(&exporter, &series, 1.0);
}

#[test]
fn entries_below_the_threshold_are_skipped_and_the_rest_bucketed_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    append(&log, "");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: app\n    kind: mysql_slowlog\n    path: {}\n    slow_threshold: 100ms\n    \
             poll_interval: 100ms\n    settle_time: 200ms\n    top_k: 1\n",
            log.display()
        ),
    )
    .unwrap();
    let exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);
    wait_for_source_up(&exporter, "app");
    append(&log, &entry(QUERY, 0.01));
    append(&log, &entry(QUERY, 0.3));
    append(&log, &entry("UPDATE orders SET paid = 1 WHERE id = 3", 0.2));
    let other = "db_slowquery_queries_total{source=\"app\",database=\"\",query_id=\"other\"}";
    expect_count(&exporter, other, 1.0);
    let text = metrics(&exporter);
    assert_eq!(sample(&text, &series("app", "shop", QUERY)), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "db_slowquery_entries_skipped_total{source=\"app\",reason=\"below_threshold\"}"
        ),
        Some(1.0)
    );
    let id = query_id(&fingerprint(QUERY.as_bytes()));
    let bucket = format!(
        "db_slowquery_query_duration_seconds_bucket{{source=\"app\",database=\"shop\",query_id=\"{id}\",le=\"0.5\"}}"
    );
    assert_eq!(sample(&text, &bucket), Some(1.0), "{text}");
    assert!(text.contains(&format!(
        "db_slowquery_query_info{{source=\"app\",query_id=\"{id}\",fingerprint=\"select * from orders where id = ?\"}} 1"
    )));
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}\n{text}");
    let (status, body) = get(&exporter.url("/queries"));
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json[0]["queries"][0]["example"], QUERY);
    let (status, page) = get(&exporter.url("/queries/table"));
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<code>{id}</code>")), "{page}");
    let (_, landing) = get(&exporter.url("/"));
    assert!(landing.contains("/queries/table"), "{landing}");
}

#[test]
fn a_real_mariadb_log_is_counted_exactly() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);");
    let dir = tempfile::tempdir().unwrap();
    let exporter = start(dir.path(), &db.slow_log(), "");
    std::thread::sleep(Duration::from_millis(500));
    let mut sql = String::from("USE shop;\n");
    for i in 0..25 {
        sql.push_str(&format!(
            "INSERT INTO t VALUES ({i}, {i});\nSELECT v FROM t WHERE id = {i};\n"
        ));
    }
    db.sql(&sql);
    let select = series("app", "shop", "SELECT v FROM t WHERE id = 1");
    let insert = series("app", "shop", "INSERT INTO t VALUES (1, 1)");
    expect_count(&exporter, &select, 25.0);
    expect_count(&exporter, &insert, 25.0);
    let text = metrics(&exporter);
    let seconds = select.replace("queries_total", "exec_seconds_total");
    let exec = sample(&text, &seconds).unwrap();
    assert!(exec > 0.0 && exec < 5.0, "{exec}");
    let up = sample(&text, "db_slowquery_source_up{source=\"app\"}");
    assert_eq!(up, Some(1.0));
}
