//! `db-slowquery digest` against pt-query-digest 3.2.1 on a slow log written by a real MariaDB.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{MariaDb, BINARY};

/// A workload that exercises the fingerprint rules: literals of every kind, IN and VALUES
/// lists, comments, LIMIT forms, ORDER BY ASC, UNION, NULL, booleans and numbered names.
fn workload() -> String {
    let mut sql = String::from(
        "CREATE DATABASE shop;\nUSE shop;\n\
         CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(80), \
         visits INT DEFAULT 0, created DATETIME, active BOOL);\n\
         CREATE TABLE orders_2024 (id INT PRIMARY KEY AUTO_INCREMENT, user_id INT, total DECIMAL(10,2));\n",
    );
    for i in 0..40 {
        sql.push_str(&format!(
            "INSERT INTO users (id, name, email, created, active) VALUES ({i}, 'user{i}', \
             'u{i}@example.com', NOW(), TRUE);\n"
        ));
    }
    for i in 0..10 {
        sql.push_str(&format!(
            "INSERT INTO orders_2024 (user_id, total) VALUES ({i}, {i}.50), ({}, 2.25), ({}, -1);\n",
            i + 1,
            i + 2
        ));
    }
    for i in 0..30 {
        sql.push_str(&format!("SELECT * FROM users WHERE id = {i};\n"));
        sql.push_str(&format!(
            "SELECT name FROM users WHERE name = 'user{i}' AND active = true;\n"
        ));
        sql.push_str(&format!(
            "SELECT id FROM users WHERE id IN ({}) ORDER BY id ASC LIMIT {}, 5;\n",
            (0..=i % 7)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            i % 3
        ));
        sql.push_str(&format!(
            "/* app:report */ SELECT u.name, SUM(o.total) FROM users u JOIN orders_2024 o ON o.user_id = u.id \
             WHERE u.visits > {i} GROUP BY u.name ORDER BY 2 DESC LIMIT 10;\n"
        ));
        sql.push_str(&format!(
            "UPDATE users SET visits = visits + 1 WHERE id = {i};\n"
        ));
        sql.push_str(&format!(
            "SELECT id FROM users WHERE email IS NULL OR email = 'it''s {i}' -- trailing comment\n;\n"
        ));
        sql.push_str(&format!(
            "SELECT id FROM users WHERE id = {i} UNION SELECT id FROM users WHERE id = {i};\n"
        ));
        sql.push_str(&format!(
            "SELECT 0x{:X}, b'101', 'a\\'b', \"dq{i}\";\n",
            i + 10
        ));
    }
    sql.push_str("DELETE FROM users WHERE created < '2000-01-01 00:00:00';\nSHOW TABLES;\n");
    sql
}

fn ours(log: &std::path::Path) -> BTreeMap<String, (u64, String)> {
    let output = Command::new(BINARY)
        .args(["digest", "--format", "json", "--limit", "0"])
        .arg(log)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["query_id"].as_str().unwrap().to_string();
            let count = c["count"].as_u64().unwrap();
            (id, (count, c["fingerprint"].as_str().unwrap().to_string()))
        })
        .collect()
}

fn pt_query_digest(log: &std::path::Path) -> BTreeMap<String, (u64, String)> {
    let output = Command::new("pt-query-digest")
        .args([
            "--no-version-check",
            "--output",
            "json",
            "--limit",
            "100%:1000000",
        ])
        .arg(log)
        .output()
        .expect("pt-query-digest is installed (Debian percona-toolkit)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["checksum"].as_str().unwrap().to_string();
            let count: u64 = c["query_count"]
                .to_string()
                .trim_matches('"')
                .parse()
                .unwrap();
            (id, (count, c["fingerprint"].as_str().unwrap().to_string()))
        })
        .collect()
}

#[test]
fn query_ids_fingerprints_and_counts_match_pt_query_digest_on_a_real_mariadb_log() {
    let db = MariaDb::start();
    db.sql(&workload());
    db.sql("FLUSH SLOW LOGS;");
    let log = db.slow_log();
    let ours = ours(&log);
    let theirs = pt_query_digest(&log);
    assert!(
        theirs.len() > 15,
        "the workload gives many classes: {theirs:#?}"
    );
    assert_eq!(ours, theirs);
    let total: u64 = ours.values().map(|(count, _)| count).sum();
    assert!(total > 250, "{total} entries");
}

#[test]
fn gzip_and_stdin_give_the_same_digest_as_the_plain_file() {
    let db = MariaDb::start();
    db.sql(&workload());
    let log = db.slow_log();
    let plain = ours(&log);
    let gz = db.dir.path().join("copy.log.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", log.display(), gz.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(ours(&gz), plain);
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{BINARY} digest --format json --limit 0 < {}",
            log.display()
        ))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["classes"].as_array().unwrap().len(), plain.len());
}
