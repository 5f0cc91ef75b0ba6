//! Real database servers for the tests, each in its own temporary directory, on a private
//! socket and a free loopback port, stopped (by PID) when dropped. Servers refuse to run as
//! root, so as root they run as their Debian system user.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exporter_kit::testing::{get, sample, RunningExporter};

pub const BINARY: &str = env!("CARGO_BIN_EXE_db-slowquery");

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require(tool: &str) {
    assert!(
        Path::new(tool).exists() || which(tool),
        "{tool} is missing: install the packages of exporters/db-slowquery/debian-packages.txt"
    );
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A directory the server's user can use: world-traversable parent, owned by `user` as root.
fn server_dir(user: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("db-slowquery-test")
        .tempdir()
        .unwrap();
    run(Command::new("chmod").arg("0755").arg(dir.path()));
    if is_root() {
        run(Command::new("chown")
            .arg(format!("{user}:{user}"))
            .arg(dir.path()));
    }
    dir
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A MariaDB server with the slow log on for every statement and performance_schema on.
pub struct MariaDb {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl MariaDb {
    pub fn start() -> MariaDb {
        for tool in ["mariadb-install-db", "mariadbd", "mariadb", "mariadb-admin"] {
            require(tool);
        }
        let dir = server_dir("mysql");
        let data = dir.path().join("data");
        // A tmpdir of its own for temporary tables: at start a server deletes every `#sql*`
        // file in its tmpdir, so one started beside another's bootstrap in a shared /tmp
        // removed its temporary tables ("Unknown table 'mysql.tmp_user_sys'", seen once).
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("the server's tmpdir can be made");
        if is_root() {
            run(Command::new("chown").arg("mysql:mysql").arg(&tmp));
        }
        let tmpdir = format!("--tmpdir={}", tmp.display());
        let mut install = Command::new("mariadb-install-db");
        install
            .arg(format!("--datadir={}", data.display()))
            .arg(&tmpdir)
            .args(["--auth-root-authentication-method=socket", "--skip-test-db"]);
        if is_root() {
            install.arg("--user=mysql");
        }
        run(&mut install);
        let port = free_port();
        let mut server = Command::new("mariadbd");
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(&tmpdir)
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                dir.path().join("error.log").display()
            ))
            .arg("--slow-query-log=1")
            .arg(format!(
                "--slow-query-log-file={}",
                dir.path().join("slow.log").display()
            ))
            .args(["--long-query-time=0", "--performance-schema=ON"])
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=32M"]);
        if is_root() {
            server.arg("--user=mysql");
        }
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let db = MariaDb { dir, port, child };
        wait_until("MariaDB", Duration::from_secs(60), || {
            Command::new("mariadb-admin")
                .arg(format!("--socket={}", db.socket().display()))
                .arg("ping")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        db
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    pub fn slow_log(&self) -> PathBuf {
        self.dir.path().join("slow.log")
    }

    /// Runs SQL statements through the `mariadb` client as root (socket authentication).
    pub fn sql(&self, statements: &str) -> String {
        let mut child = Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "--batch", "--skip-column-names", "--comments"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(statements.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "mariadb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb-admin")
            .arg(format!("--socket={}", self.socket().display()))
            .arg("shutdown")
            .output();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL 15 cluster with pg_stat_statements preloaded and created in `postgres`.
pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    running: bool,
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with("")
    }

    /// Starts a cluster with `extra` appended to postgresql.conf (later lines win).
    pub fn start_with(extra: &str) -> Postgres {
        for tool in ["initdb", "pg_ctl", "postgres"] {
            require(&format!("{PG_BIN}/{tool}"));
        }
        require("psql");
        let dir = server_dir("postgres");
        let port = free_port();
        let data = dir.path().join("data");
        as_server_user(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            &data.display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             shared_preload_libraries = 'pg_stat_statements'\ncompute_query_id = on\n\
             fsync = off\nshared_buffers = 32MB\n",
            dir.path().display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).unwrap();
        existing.push_str(&conf);
        existing.push_str(extra);
        std::fs::write(&conf_path, existing).unwrap();
        let mut pg = Postgres {
            dir,
            port,
            running: false,
        };
        pg.start_server();
        pg.psql("CREATE EXTENSION pg_stat_statements");
        pg
    }

    pub fn start_server(&mut self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        as_server_user(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            &data.display().to_string(),
            "-l",
            &log.display().to_string(),
            "-w",
            "-t",
            "60",
            "start",
        ]);
        self.running = true;
    }

    pub fn stop_server(&mut self) {
        let data = self.dir.path().join("data");
        as_server_user(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            &data.display().to_string(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
        self.running = false;
    }

    pub fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// Runs a script of statements, each sent on its own.
    pub fn psql_script(&self, script: &str) -> String {
        let path = self.dir.path().join("script.sql");
        std::fs::write(&path, script).unwrap();
        run(self.psql_command().arg("-f").arg(&path))
    }

    fn psql_command(&self) -> Command {
        let mut command = Command::new("psql");
        command
            .arg("-h")
            .arg(self.dir.path())
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
            ]);
        command
    }

    pub fn psql(&self, sql: &str) -> String {
        run(self.psql_command().arg("-c").arg(sql))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.dir.path().join("data").display().to_string();
            let pg_ctl = format!("{PG_BIN}/pg_ctl");
            let args = [
                pg_ctl.as_str(),
                "-D",
                &data,
                "-m",
                "immediate",
                "-w",
                "stop",
            ];
            let _ = server_user_command(&args).output();
        }
    }
}

/// Runs a server tool as `postgres` when root (initdb and postgres refuse root).
fn as_server_user(args: &[&str]) {
    run(&mut server_user_command(args));
}

fn server_user_command(args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).args(args);
        command
    } else {
        let mut command = Command::new(args[0]);
        command.args(&args[1..]);
        command
    }
}

/// The exporter's `/metrics` text.
pub fn metrics(exporter: &RunningExporter) -> String {
    get(&exporter.url("/metrics")).1
}

/// Reads `path` every 200 ms until `found` finds what it looks for in the body, and returns
/// that; fails the test with the last body and the exporter's logs after `timeout`.
pub fn poll<T>(
    exporter: &RunningExporter,
    path: &str,
    what: &str,
    timeout: Duration,
    mut found: impl FnMut(&str) -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        let body = get(&exporter.url(path)).1;
        if let Some(found) = found(&body) {
            return found;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}\n{body}\n{}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (up to 30 s) until the `/metrics` text satisfies `ok`, and returns that text.
pub fn wait_for(
    exporter: &RunningExporter,
    what: &str,
    mut ok: impl FnMut(&str) -> bool,
) -> String {
    let timeout = Duration::from_secs(30);
    poll(exporter, "/metrics", what, timeout, |text| {
        ok(text).then(|| text.to_string())
    })
}

/// Waits until `source` has polled once successfully (which fixes where reading starts).
pub fn wait_for_source_up(exporter: &RunningExporter, source: &str) {
    let series = format!("db_slowquery_source_up{{source=\"{source}\"}}");
    wait_for(exporter, &format!("source {source} up"), |t| {
        sample(t, &series) == Some(1.0)
    });
}
