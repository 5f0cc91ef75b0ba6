//! The `postgres` source against a real PostgreSQL 15 with pg_stat_statements: exact counts,
//! times, a reset, running slow queries, the server going down and coming back.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{metrics, wait_for, Postgres, BINARY};
use exporter_kit::testing::{promtool_check_metrics, sample, RunningExporter};

fn run_selects(pg: &Postgres, first: i32, count: i32) {
    let script: String = (first..first + count)
        .map(|i| format!("SELECT * FROM items WHERE id = {i};\n"))
        .collect();
    pg.psql_script(&script);
}

#[test]
fn pg_stat_statements_deltas_survive_reset_and_restart_and_running_queries_show() {
    let mut pg = Postgres::start();
    pg.psql("CREATE TABLE items (id int PRIMARY KEY, name text)");
    pg.psql("INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 100) g");
    pg.psql("SELECT pg_stat_statements_reset()");
    let dir = tempfile::tempdir().unwrap();
    let dsn_file = dir.path().join("dsn");
    std::fs::write(&dsn_file, format!("{} password=hunter2\n", pg.dsn())).unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: pg\n    kind: postgres\n    dsn_file: {}\n    poll_interval: 200ms\n    \
             slow_threshold: 500ms\n",
            dsn_file.display()
        ),
    )
    .unwrap();
    let mut exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);

    run_selects(&pg, 1, 20);
    let query_id = pg
        .psql("SELECT queryid FROM pg_stat_statements WHERE query = 'SELECT * FROM items WHERE id = $1'")
        .trim()
        .to_string();
    assert!(!query_id.is_empty(), "pg_stat_statements has the select");
    let series = format!(
        "db_slowquery_queries_total{{source=\"pg\",database=\"postgres\",query_id=\"{query_id}\"}}"
    );
    let text = wait_for(&exporter, "20 calls", |t| sample(t, &series) == Some(20.0));
    let exec = sample(
        &text,
        &series.replace("queries_total", "exec_seconds_total"),
    )
    .unwrap();
    let server_ms: f64 = pg
        .psql(&format!(
            "SELECT total_exec_time FROM pg_stat_statements WHERE queryid = {query_id}"
        ))
        .trim()
        .parse()
        .unwrap();
    assert!(
        (exec - server_ms / 1000.0).abs() < 1e-6,
        "{exec} s vs {server_ms} ms"
    );
    assert!(text.contains(&format!(
        "db_slowquery_query_info{{source=\"pg\",query_id=\"{query_id}\",fingerprint=\"SELECT * FROM items WHERE id = $1\"}} 1"
    )));
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "{complaints}");

    // A reset starts the server's counters again; ours go on from where they were.
    pg.psql("SELECT pg_stat_statements_reset()");
    run_selects(&pg, 1, 5);
    wait_for(&exporter, "25 calls after the reset", |t| {
        sample(t, &series) == Some(25.0)
    });

    // A query running longer than the threshold is reported while it runs.
    let mut sleeper = Command::new("psql")
        .arg("-h")
        .arg(pg.dir.path())
        .args([
            "-p",
            &pg.port.to_string(),
            "-U",
            "postgres",
            "-X",
            "-q",
            "-c",
            "SELECT pg_sleep(4)",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&exporter, "a running slow query", |t| {
        sample(t, "db_slowquery_running_queries{source=\"pg\"}") == Some(1.0)
            && sample(t, "db_slowquery_longest_running_seconds{source=\"pg\"}").unwrap_or(0.0)
                >= 0.5
    });
    sleeper.wait().unwrap();

    // Down, reported, and back: the exporter keeps serving and counts on without a jump.
    pg.stop_server();
    wait_for(&exporter, "source down", |t| {
        sample(t, "db_slowquery_source_up{source=\"pg\"}") == Some(0.0)
    });
    pg.start_server();
    wait_for(&exporter, "source up", |t| {
        sample(t, "db_slowquery_source_up{source=\"pg\"}") == Some(1.0)
    });
    run_selects(&pg, 1, 3);
    wait_for(&exporter, "28 calls", |t| sample(t, &series) == Some(28.0));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        sample(&metrics(&exporter), &series),
        Some(28.0),
        "nothing counted twice"
    );

    // The query text is read only for new query IDs, not on every poll.
    let calls = |pattern: &str| -> i64 {
        pg.psql(&format!(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '{pattern}%'"
        ))
        .trim()
        .parse()
        .unwrap()
    };
    let text_reads =
        calls("SELECT DISTINCT ON (queryid) queryid, query FROM pg_stat_statements(true)");
    let stat_reads = calls("SELECT s.userid");
    assert!(
        stat_reads >= 5 && text_reads * 2 < stat_reads,
        "{text_reads} text reads, {stat_reads} polls"
    );

    exporter.signal("TERM");
    exporter.wait_exit(Duration::from_secs(10));
    assert!(
        !exporter.logs().contains("hunter2"),
        "the password was logged"
    );
}
