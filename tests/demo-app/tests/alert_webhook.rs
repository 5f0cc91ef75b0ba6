//! The demo's webhook receiver as a process: it keeps and prints Alertmanager notifications
//! and refuses what is not one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Receiver {
    child: Child,
    address: String,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Receiver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_alert-webhook"))
        .arg(format!("--web.listen-address={address}"))
        .arg("--received.keep=2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < until, "alert-webhook did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Receiver { child, address }
}

fn notification(status: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "4", "receiver": "pager", "status": status,
        "alerts": [{"status": status, "labels": {"alertname": "ErrorBudgetBurn", "slo": "availability"}}]
    })
}

fn post(address: &str, path: &str, body: String) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{address}{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

fn received(address: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        reqwest::get(format!("http://{address}/received"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

#[test]
fn notifications_are_printed_one_line_each_and_listed() {
    let mut receiver = start();
    for status in ["firing", "resolved", "firing"] {
        let (code, _) = post(
            &receiver.address,
            "/pager",
            notification(status).to_string(),
        );
        assert_eq!(code, 200);
    }
    let list = received(&receiver.address);
    assert_eq!(list["total"], 3);
    let kept = list["notifications"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "only --received.keep are kept: {list}");
    assert_eq!(kept[0]["status"], "resolved");
    assert_eq!(kept[1]["path"], "/pager");

    let stdout = receiver.child.stdout.take().unwrap();
    let first = BufReader::new(stdout).lines().next().unwrap().unwrap();
    assert_eq!(
        first,
        "receiver=pager status=firing path=/pager alerts=firing:ErrorBudgetBurn{slo=availability}"
    );
}

#[test]
fn what_is_not_a_notification_is_refused_with_the_reason() {
    let receiver = start();
    let (code, reason) = post(&receiver.address, "/", "not json".into());
    assert_eq!(code, 400);
    assert!(reason.starts_with("body is not JSON"), "{reason}");
    let (code, reason) = post(&receiver.address, "/", "{\"status\":\"firing\"}".into());
    assert_eq!(code, 400);
    assert!(reason.contains("no `alerts` array"), "{reason}");
    assert_eq!(received(&receiver.address)["total"], 0);
}
