use super::*;

fn events(log: &str) -> Vec<Event> {
    let mut parser = Parser::new(log.as_bytes());
    let mut events = Vec::new();
    while let Some(event) = parser.next_event().unwrap() {
        events.push(event);
    }
    events
}

fn queries(log: &str) -> Vec<String> {
    events(log)
        .into_iter()
        .map(|e| String::from_utf8(e.query).unwrap())
        .collect()
}

const MARIADB: &str = "\
mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 33306  Unix socket: /tmp/my/mysqld.sock
Time\t\t    Id Command\tArgument
# Time: 261203 12:20:28
# User@Host: root[root] @ localhost []
# Thread_id: 5  Schema: shop  QC_hit: No
# Query_time: 0.002323  Lock_time: 0.000085  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
use `shop`;
SET timestamp=1796300428;
create table users(id int);
# User@Host: root[root] @ localhost []
# Thread_id: 5  Schema:   QC_hit: No
# Query_time: 1.500000  Lock_time: 0.000010  Rows_sent: 3  Rows_examined: 30
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=1796300429;
select *
from users
where id = 1;
";

const MYSQL57: &str = "\
/usr/sbin/mysqld, Version: 5.7.12-log (MySQL Community Server (GPL)). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
# Time: 2016-07-20T18:13:25.698433Z
# User@Host: root[root] @ localhost [127.0.0.1]  Id:     3
# Query_time: 0.003464  Lock_time: 0.000324 Rows_sent: 1000  Rows_examined: 2000
use test;
SET timestamp=1469038405;
SELECT * FROM t LIMIT 1000;
# Time: 2016-07-20T18:13:26.000000Z
# User@Host: root[root] @ localhost [127.0.0.1]  Id:     3
# Query_time: 0.000100  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
SET timestamp=1469038406;
# administrator command: Quit;
";

#[test]
fn a_mariadb_log_gives_each_entry_with_its_attributes() {
    let got = events(MARIADB);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].query, b"create table users(id int)");
    assert_eq!(got[0].database.as_deref(), Some("shop"));
    assert_eq!(got[0].timestamp, Some(1796300428));
    assert_eq!(got[1].query, b"select *\nfrom users\nwhere id = 1");
    assert_eq!(got[1].query_time, 1.5);
    assert_eq!(got[1].rows_sent, 3.0);
    assert_eq!(got[1].rows_examined, 30.0);
    // An empty Schema falls back to the entry's `use` line, which this one lacks.
    assert_eq!(got[1].database, None);
}

#[test]
fn a_mysql_57_log_gives_queries_and_administrator_commands() {
    let got = events(MYSQL57);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].query, b"SELECT * FROM t LIMIT 1000");
    assert_eq!(got[0].lock_time, 0.000324);
    assert_eq!(got[0].rows_examined, 2000.0);
    assert_eq!(got[0].database.as_deref(), Some("test"));
    assert_eq!(got[1].query, b"administrator command: Quit");
    assert_eq!(got[1].timestamp, Some(1469038406));
}

#[test]
fn iso_and_short_time_lines_are_read_as_utc() {
    assert_eq!(
        parse_time_line(b"2016-07-20T18:13:25.698433Z"),
        Some(1469038405)
    );
    assert_eq!(parse_time_line(b"131128  1:05:31"), Some(1385600731));
}

#[test]
fn a_server_restart_banner_in_the_middle_is_dropped_and_splits_records() {
    let log = format!("{MYSQL57}{MYSQL57}");
    assert_eq!(
        queries(&log),
        [
            "SELECT * FROM t LIMIT 1000",
            "administrator command: Quit",
            "SELECT * FROM t LIMIT 1000",
            "administrator command: Quit"
        ]
    );
}

#[test]
fn an_entry_longer_than_the_limit_is_skipped_and_counted() {
    let long = format!(
        "# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\nSELECT '{}';\n",
        "x".repeat(5000)
    );
    let log =
        format!("{long}# Query_time: 2  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\nSELECT 2;\n");
    let mut parser = Parser::with_max_entry_bytes(log.as_bytes(), 1000);
    let event = parser.next_event().unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&event.query), "SELECT 2");
    assert!(parser.next_event().unwrap().is_none());
    assert_eq!(parser.oversized(), 1);
}

#[test]
fn a_query_with_semicolons_inside_stays_whole() {
    let log = "# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\n\
               SELECT 'a;b';\nSELECT 2;\n";
    assert_eq!(queries(log), ["SELECT 'a;b';\nSELECT 2"]);
}
