//! `auto_explain_log` against a real PostgreSQL 15 logging `auto_explain` plans to a file: a
//! JSON plan matched by the query ID of its log line, a text plan without one by its text.

mod common;

use std::time::Duration;

use common::{poll, wait_for_source_up, Postgres, BINARY};
use exporter_kit::testing::{get, promtool_check_metrics, sample, RunningExporter};
use serde_json::Value;

/// The `/queries` row of source `pg` whose normalised text is `text`, once it has a plan.
fn planned(exporter: &RunningExporter, text: &str) -> Value {
    let what = format!("a plan for {text}");
    poll(
        exporter,
        "/queries",
        &what,
        Duration::from_secs(30),
        |body| {
            let queries: Value = serde_json::from_str(body).unwrap();
            let row = queries[0]["queries"]
                .as_array()
                .and_then(|rows| rows.iter().find(|q| q["example"] == text).cloned());
            row.filter(|r| !r["plan"].is_null())
        },
    )
}

#[test]
fn json_and_text_plans_of_the_server_log_are_matched_to_their_queries() {
    let pg = Postgres::start_with(
        "shared_preload_libraries = 'pg_stat_statements,auto_explain'\n\
         auto_explain.log_min_duration = 0\nauto_explain.log_format = json\n\
         auto_explain.log_verbose = on\nlogging_collector = on\nlog_destination = 'stderr'\n\
         log_directory = 'serverlog'\nlog_filename = 'postgresql.log'\nlog_file_mode = 0644\n\
         log_line_prefix = '%m [%p] query_id=%Q '\n",
    );
    let log = pg.dir.path().join("data/serverlog/postgresql.log");
    assert!(log.exists(), "the server log is not at {}", log.display());
    pg.psql("CREATE TABLE items (id int PRIMARY KEY, name text)");
    pg.psql("INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 100) g");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - name: pg\n    kind: postgres\n    dsn: {}\n    poll_interval: 200ms\n    \
             auto_explain_log: {}\n",
            pg.dsn(),
            log.display()
        ),
    )
    .unwrap();
    let mut exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);
    wait_for_source_up(&exporter, "pg");

    // pg_stat_statements keeps the first text of a query ID; the plan comes from another text
    // of the same query, so only the query ID of the log line can match it.
    pg.psql_script(
        "SET auto_explain.log_min_duration = -1;\nSELECT * FROM items WHERE id = 7;\n\
         SET auto_explain.log_min_duration = 0;\n/* from app */ SELECT * FROM items WHERE id = 8;\n",
    );
    let row = planned(&exporter, "SELECT * FROM items WHERE id = $1");
    assert_eq!(row["plan"]["Plan"]["Relation Name"], "items", "{row}");
    assert_eq!(
        row["plan"]["Query Text"], "/* from app */ SELECT * FROM items WHERE id = 8;",
        "matched by the query ID of the log line: {row}"
    );

    // Without a query ID (compute_query_id off: %Q is 0), a text plan is matched by its text.
    pg.psql_script(
        "SET auto_explain.log_min_duration = -1;\nSELECT name FROM items WHERE id = 9;\n\
         SET compute_query_id = off;\nSET auto_explain.log_min_duration = 0;\n\
         SET auto_explain.log_format = text;\nSELECT name FROM items WHERE id = 10;\n",
    );
    let row = planned(&exporter, "SELECT name FROM items WHERE id = $1");
    let plan = row["plan"].as_str().unwrap();
    assert!(
        plan.contains("Query Text: SELECT name FROM items WHERE id = 10"),
        "{plan}"
    );
    assert!(plan.contains("Scan") && plan.contains("items"), "{plan}");

    let text = get(&exporter.url("/metrics")).1;
    let read = sample(
        &text,
        "db_slowquery_logged_plans_total{source=\"pg\",outcome=\"read\"}",
    );
    assert!(read.is_some_and(|n| n >= 2.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "db_slowquery_logged_plans_total{source=\"pg\",outcome=\"oversized\"}"
        ),
        Some(0.0)
    );
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "{complaints}");
    let page = get(&exporter.url("/queries/table")).1;
    assert!(page.contains("<summary>plan</summary>"), "{page}");
    assert!(
        page.contains("<pre>Query Text: SELECT name FROM items WHERE id = 10;\n"),
        "a text plan is shown as logged: {page}"
    );

    exporter.signal("TERM");
    exporter.wait_exit(Duration::from_secs(10));
}
