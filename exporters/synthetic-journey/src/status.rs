//! The last result of every journey and check, for `GET /journeys` (JSON) and the landing page
//! (a table with links to the failure screenshots).

use std::collections::BTreeMap;
use std::sync::Mutex;

use exporter_kit::axum::http::header;
use exporter_kit::axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::config::{CheckKind, Config};
use crate::metrics::{epoch_seconds, CheckOutcome, JourneyOutcome};

/// One row: a journey or a check and its last run, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    /// `journey`, `http` or `websocket`.
    pub kind: &'static str,
    pub interval_seconds: f64,
    pub last_run: Option<LastRun>,
}

/// What the last run found.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// When it ended, in seconds since the epoch.
    pub finished_at: f64,
    pub success: bool,
    pub duration_seconds: f64,
    pub failed_step: Option<String>,
    pub reason: Option<String>,
    pub status_code: Option<u16>,
    /// Paths under this exporter, such as `/artifacts/<journey>/<run>/failure.png`.
    pub artifacts: Vec<String>,
}

/// Every row, journeys first, each group sorted by name.
#[derive(Default)]
pub struct StatusBoard {
    rows: Mutex<BTreeMap<(bool, String), Row>>,
}

#[derive(Serialize)]
struct Page<'a> {
    journeys: Vec<&'a Row>,
    checks: Vec<&'a Row>,
}

impl StatusBoard {
    /// Follows a new config: rows of removed items go, new items get an empty row, the last
    /// runs of items still configured stay.
    pub fn configure(&self, config: &Config) {
        let mut rows = self.lock();
        let mut next = BTreeMap::new();
        for j in &config.journeys {
            let key = (false, j.name.clone());
            let last_run = rows.remove(&key).and_then(|r| r.last_run);
            let row = Row {
                name: j.name.clone(),
                kind: "journey",
                interval_seconds: j.interval.as_secs_f64(),
                last_run,
            };
            next.insert(key, row);
        }
        for c in &config.checks {
            let key = (true, c.name.clone());
            let last_run = rows.remove(&key).and_then(|r| r.last_run);
            let kind = match c.kind {
                CheckKind::Http => "http",
                CheckKind::Websocket => "websocket",
            };
            let row = Row {
                name: c.name.clone(),
                kind,
                interval_seconds: c.interval.as_secs_f64(),
                last_run,
            };
            next.insert(key, row);
        }
        *rows = next;
    }

    pub fn journey_done(&self, outcome: &JourneyOutcome) {
        let artifacts = outcome
            .artifacts
            .iter()
            .map(|file| format!("/artifacts/{}/{file}", outcome.journey))
            .collect();
        let last = LastRun {
            finished_at: epoch_seconds(outcome.finished_at),
            success: outcome.success,
            duration_seconds: outcome.duration.as_secs_f64(),
            failed_step: outcome.failed_step.clone(),
            reason: outcome.reason.clone(),
            status_code: None,
            artifacts,
        };
        self.set((false, outcome.journey.clone()), last);
    }

    pub fn check_done(&self, outcome: &CheckOutcome) {
        let last = LastRun {
            finished_at: epoch_seconds(outcome.finished_at),
            success: outcome.success,
            duration_seconds: outcome.duration.as_secs_f64(),
            failed_step: None,
            reason: outcome.reason.clone(),
            status_code: outcome.status_code,
            artifacts: Vec::new(),
        };
        self.set((true, outcome.check.clone()), last);
    }

    fn set(&self, key: (bool, String), last: LastRun) {
        // A run that ends after its item left the config has no row to land in.
        if let Some(row) = self.lock().get_mut(&key) {
            row.last_run = Some(last);
        }
    }

    /// `GET /journeys`.
    pub fn json(&self) -> Response {
        let rows = self.lock();
        let page = Page {
            journeys: rows.iter().filter(|(k, _)| !k.0).map(|(_, r)| r).collect(),
            checks: rows.iter().filter(|(k, _)| k.0).map(|(_, r)| r).collect(),
        };
        let body = serde_json::to_string_pretty(&page).unwrap_or_else(|_| "{}".to_string());
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    /// The landing page's table.
    pub fn html(&self) -> String {
        let rows = self.lock();
        let mut html = String::from(
            "<h2>Journeys and checks</h2>\n<table border=\"1\" cellpadding=\"4\">\n<tr><th>Kind</th>\
             <th>Name</th><th>Last run (UTC)</th><th>Result</th><th>Duration</th>\
             <th>Failed step</th><th>Reason</th><th>Artifacts</th></tr>\n",
        );
        for row in rows.values() {
            html.push_str(&html_row(row));
        }
        html.push_str("</table>\n<p><a href=\"/journeys\">As JSON</a></p>\n");
        html
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(bool, String), Row>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn html_row(row: &Row) -> String {
    let e = exporter_kit::escape;
    let cells = match &row.last_run {
        None => "<td>never</td><td></td><td></td><td></td><td></td><td></td>".to_string(),
        Some(run) => {
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(run.finished_at);
            let links: Vec<String> = run
                .artifacts
                .iter()
                .map(|path| {
                    let file = path.rsplit('/').next().unwrap_or(path);
                    format!("<a href=\"{}\">{}</a>", e(path), e(file))
                })
                .collect();
            format!(
                "<td>{}</td><td>{}</td><td>{:.3}s</td><td>{}</td><td>{}</td><td>{}</td>",
                humantime::format_rfc3339_seconds(when),
                if run.success {
                    "success"
                } else {
                    "<b>failure</b>"
                },
                run.duration_seconds,
                e(run.failed_step.as_deref().unwrap_or("")),
                e(run.reason.as_deref().unwrap_or("")),
                links.join(" "),
            )
        }
    };
    format!(
        "<tr><td>{}</td><td>{}</td>{cells}</tr>\n",
        row.kind,
        e(&row.name)
    )
}
