//! The `mysql_digest` source against a real MariaDB with performance_schema on: exact counts, a
//! truncated digest table, and a server that cannot be reached.

mod common;

use std::time::Duration;

use common::{free_port, metrics, wait_for, MariaDb, BINARY};
use exporter_kit::testing::{promtool_check_metrics, sample, RunningExporter};

fn run_selects(db: &MariaDb, count: i32) {
    let script: String = (0..count)
        .map(|i| format!("SELECT v FROM t WHERE id = {i};\n"))
        .collect();
    db.sql(&format!("USE shop;\n{script}"));
}

#[test]
fn digest_counts_are_exact_survive_a_truncate_and_an_unreachable_server_is_down() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);\n\
         INSERT INTO shop.t VALUES (1, 1), (2, 2);\n\
         CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY 'pw-secret';\n\
         GRANT SELECT, PROCESS ON *.* TO 'exporter'@'127.0.0.1';\n",
    );
    std::env::set_var(
        "DB_SLOWQUERY_TEST_MYSQL_DSN",
        format!("mysql://exporter:pw-secret@127.0.0.1:{}/", db.port),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: maria\n    kind: mysql_digest\n    dsn_env: DB_SLOWQUERY_TEST_MYSQL_DSN\n    \
             poll_interval: 200ms\n  - name: nowhere\n    kind: mysql_digest\n    \
             dsn: mysql://exporter:pw-secret@127.0.0.1:{}/\n    poll_interval: 200ms\n",
            free_port()
        ),
    )
    .unwrap();
    let mut exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);
    wait_for(&exporter, "the source up", |t| {
        sample(t, "db_slowquery_source_up{source=\"maria\"}") == Some(1.0)
    });

    run_selects(&db, 15);
    let digest = db
        .sql(
            "SELECT DIGEST FROM performance_schema.events_statements_summary_by_digest \
             WHERE SCHEMA_NAME = 'shop' AND DIGEST_TEXT LIKE 'SELECT `v` FROM `t`%'",
        )
        .trim()
        .to_string();
    assert_eq!(digest.len(), 32, "one digest for the select: {digest:?}");
    let series = format!(
        "db_slowquery_queries_total{{source=\"maria\",database=\"shop\",query_id=\"{digest}\"}}"
    );
    let text = wait_for(&exporter, "15 calls", |t| sample(t, &series) == Some(15.0));
    let seconds = sample(
        &text,
        &series.replace("queries_total", "exec_seconds_total"),
    )
    .unwrap();
    assert!(seconds > 0.0 && seconds < 5.0, "{seconds}");
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "{complaints}");

    db.sql("TRUNCATE performance_schema.events_statements_summary_by_digest;");
    run_selects(&db, 5);
    wait_for(&exporter, "20 calls after the truncate", |t| {
        sample(t, &series) == Some(20.0)
    });
    std::thread::sleep(Duration::from_millis(800));
    let text = metrics(&exporter);
    assert_eq!(sample(&text, &series), Some(20.0), "nothing counted twice");
    assert_eq!(
        sample(&text, "db_slowquery_source_up{source=\"nowhere\"}"),
        Some(0.0)
    );

    exporter.signal("TERM");
    exporter.wait_exit(Duration::from_secs(10));
    assert!(
        !exporter.logs().contains("pw-secret"),
        "the password was logged"
    );
}
