//! `explain: true` against a real MariaDB: a SELECT of the slow log gets its
//! `EXPLAIN FORMAT=JSON` plan, an UPDATE is refused, a failing EXPLAIN is recorded and counted,
//! and a `mysql_digest` source explains a digest text without placeholders.

mod common;

use std::time::Duration;

use common::{poll, wait_for_source_up, MariaDb, BINARY};
use exporter_kit::testing::{get, promtool_check_metrics, sample, RunningExporter};
use serde_json::Value;

/// The `/queries` row of `source` whose example (or digest text) starts with `prefix`.
fn row(queries: &Value, source: &str, prefix: &str) -> Option<Value> {
    let sources = queries.as_array()?;
    let source = sources.iter().find(|s| s["source"] == source)?;
    source["queries"]
        .as_array()?
        .iter()
        .find(|q| q["example"].as_str().is_some_and(|e| e.starts_with(prefix)))
        .cloned()
}

/// The first table of a plan (MariaDB 10.11 lists them under `nested_loop`, MySQL does not).
fn plan_table(plan: &Value) -> &Value {
    let block = &plan["query_block"];
    match &block["nested_loop"][0]["table"] {
        Value::Null => &block["table"],
        table => table,
    }
}

/// Waits until every (source, example prefix) row has a plan or a plan error.
fn wait_for_plans(exporter: &RunningExporter, wanted: &[(&str, &str)]) -> Value {
    poll(
        exporter,
        "/queries",
        "plans",
        Duration::from_secs(40),
        |body| {
            let queries: Value = serde_json::from_str(body).unwrap();
            let done = wanted.iter().all(|(source, prefix)| {
                row(&queries, source, prefix)
                    .is_some_and(|q| !q["plan"].is_null() || !q["plan_error"].is_null())
            });
            done.then_some(queries)
        },
    )
}

#[test]
fn selects_get_plans_updates_are_refused_and_failing_explains_are_counted() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shop;\n\
         CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);\n\
         CREATE TABLE shop.secret (id INT PRIMARY KEY, v INT);\n\
         INSERT INTO shop.t VALUES (1, 1), (2, 2);\n\
         CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY 'pw-monitor';\n\
         GRANT SELECT, PROCESS ON *.* TO 'exporter'@'127.0.0.1';\n\
         CREATE USER 'explainer'@'127.0.0.1' IDENTIFIED BY 'pw-explain';\n\
         GRANT SELECT ON shop.t TO 'explainer'@'127.0.0.1';\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let explain_dsn = dir.path().join("explain.dsn");
    std::fs::write(
        &explain_dsn,
        format!("mysql://explainer:pw-explain@127.0.0.1:{}/\n", db.port),
    )
    .unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "sources:\n\
             \x20 - name: app\n    kind: mysql_slowlog\n    path: {log}\n    slow_threshold: 0s\n    \
             poll_interval: 200ms\n    settle_time: 300ms\n    explain: true\n    \
             explain_dsn_file: {dsn}\n    explain_max_per_poll: 1\n\
             \x20 - name: digest\n    kind: mysql_digest\n    \
             dsn: mysql://exporter:pw-monitor@127.0.0.1:{port}/\n    poll_interval: 300ms\n    \
             explain: true\n    explain_dsn: mysql://explainer:pw-explain@127.0.0.1:{port}/\n",
            log = db.slow_log().display(),
            dsn = explain_dsn.display(),
            port = db.port,
        ),
    )
    .unwrap();
    let mut exporter = RunningExporter::start(BINARY, &["--config.file", config.to_str().unwrap()]);
    wait_for_source_up(&exporter, "app");

    db.sql(
        "USE shop;\n\
         SELECT v FROM t WHERE id = 1;\n\
         UPDATE t SET v = v + 1 WHERE id = 2;\n\
         SELECT v FROM secret WHERE id = 1;\n\
         SELECT id, v FROM t;\n",
    );
    let queries = wait_for_plans(
        &exporter,
        &[
            ("app", "SELECT v FROM t WHERE id = 1"),
            ("app", "UPDATE t SET"),
            ("app", "SELECT v FROM secret"),
            ("digest", "SELECT ID , `v` FROM `t`"),
            ("digest", "SELECT `v` FROM `t` WHERE ID = ?"),
        ],
    );

    let select = row(&queries, "app", "SELECT v FROM t WHERE id = 1").unwrap();
    let table = plan_table(&select["plan"]);
    assert_eq!(table["table_name"], "t", "{select}");
    assert_eq!(table["access_type"], "const", "{select}");
    assert!(select["plan_error"].is_null());

    let update = row(&queries, "app", "UPDATE t SET").unwrap();
    assert!(update["plan"].is_null(), "{update}");
    assert_eq!(
        update["plan_error"],
        "not explained: not a SELECT statement"
    );

    let denied = row(&queries, "app", "SELECT v FROM secret").unwrap();
    assert!(denied["plan"].is_null(), "{denied}");
    let error = denied["plan_error"].as_str().unwrap();
    assert!(error.contains("denied"), "{error}");

    // MariaDB's digest texts have no literals to explain; one without placeholders is valid SQL.
    let all = row(&queries, "digest", "SELECT ID , `v` FROM `t`").unwrap();
    assert_eq!(plan_table(&all["plan"])["table_name"], "t", "{all}");
    let normalised = row(&queries, "digest", "SELECT `v` FROM `t` WHERE ID = ?").unwrap();
    assert_eq!(
        normalised["plan_error"],
        "not explained: a normalised text with placeholders, not an example"
    );

    let text = get(&exporter.url("/metrics")).1;
    let count_of = |source: &str, outcome: &str| explains(&text, source, outcome);
    assert!(count_of("app", "failed") >= 1.0, "{text}");
    assert!(count_of("app", "ok") >= 1.0, "{text}");
    assert!(count_of("app", "refused") >= 1.0, "{text}");
    assert!(count_of("digest", "ok") >= 1.0, "{text}");
    assert_eq!(count_of("app", "no_connection"), 0.0, "{text}");
    let deferred = sample(
        &text,
        "db_slowquery_explains_deferred_total{source=\"app\"}",
    );
    assert!(
        deferred.is_some_and(|d| d >= 1.0),
        "one EXPLAIN per poll: {text}"
    );
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "{complaints}");

    let page = get(&exporter.url("/queries/table")).1;
    assert!(page.contains("<summary>plan</summary>"), "{page}");
    assert!(
        page.contains("not explained: not a SELECT statement"),
        "{page}"
    );

    // Failed EXPLAINs are cached, not retried each poll, and the exporter keeps serving.
    // The exporter's own statements also reach the slow log, so wait until every top query of
    // the slow log has been looked at once.
    let looked_at = "every query of the slow log looked at";
    poll(
        &exporter,
        "/queries",
        looked_at,
        Duration::from_secs(30),
        |body| {
            let queries: Value = serde_json::from_str(body).unwrap();
            let app = &queries.as_array().unwrap()[0]["queries"];
            let unresolved = app
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["plan"].is_null() && q["plan_error"].is_null());
            (!unresolved).then_some(())
        },
    );
    let failed = explains(&get(&exporter.url("/metrics")).1, "app", "failed");
    std::thread::sleep(Duration::from_millis(1500));
    let text = get(&exporter.url("/metrics")).1;
    assert_eq!(explains(&text, "app", "failed"), failed, "{text}");

    // The EXPLAIN session was made read-only and given a statement timeout (the slow log of
    // the server shows what each connection ran).
    let slow_log = std::fs::read_to_string(db.slow_log()).unwrap();
    let explainer = slow_log
        .split("# User@Host: ")
        .filter(|entry| entry.starts_with("explainer["))
        .collect::<String>();
    assert!(
        explainer.contains("SET SESSION TRANSACTION READ ONLY;"),
        "{explainer}"
    );
    assert!(
        explainer.contains("SET SESSION max_statement_time = 2;"),
        "{explainer}"
    );

    exporter.signal("TERM");
    exporter.wait_exit(Duration::from_secs(10));
    let logs = exporter.logs();
    assert!(
        !logs.contains("pw-explain") && !logs.contains("pw-monitor"),
        "a password was logged"
    );
}

/// `db_slowquery_explains_total` of one source and outcome, -1 when missing.
fn explains(text: &str, source: &str, outcome: &str) -> f64 {
    sample(
        text,
        &format!("db_slowquery_explains_total{{source=\"{source}\",outcome=\"{outcome}\"}}"),
    )
    .unwrap_or(-1.0)
}
