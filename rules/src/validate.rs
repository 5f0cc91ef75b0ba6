//! Proof that the generated files are valid: promtool checks and unit tests, amtool checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::gen::alertmanager::expected_receiver;
use crate::gen::{Output, ALERTMANAGER_FILE};
use crate::model::Routing;

/// Why validation failed.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("could not run {tool} (is it installed and on PATH?)")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    #[error("{tool} {args} failed:\n{output}")]
    Failed {
        tool: String,
        args: String,
        output: String,
    },
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error("could not create a temporary directory")]
    Temp(#[source] std::io::Error),
}

/// What the tools said, for the user.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
}

/// Writes `out` to a temporary directory and runs every tool over it; with `routing`, also
/// checks with `amtool config routes test` that every route picks its receiver.
pub fn validate(
    out: &Output,
    routing: Option<&Routing>,
    promtool: &Path,
    amtool: &Path,
) -> Result<Report, ValidateError> {
    let dir = tempfile::tempdir().map_err(ValidateError::Temp)?;
    crate::output::write(out, dir.path())?;
    let mut report = Report::default();
    let rules: Vec<PathBuf> = out.rule_files().cloned().collect();
    if !rules.is_empty() {
        let mut args = vec![
            "check".into(),
            "rules".into(),
            "--lint=all".into(),
            "--lint-fatal".into(),
        ];
        args.extend(rules.iter().map(|p| p.display().to_string()));
        report.lines.push(run(promtool, &args, dir.path())?);
    }
    if let Some(exprs) = dashboard_rules(out) {
        std::fs::write(dir.path().join(DASHBOARD_EXPRS), exprs).map_err(ValidateError::Temp)?;
        let args = vec!["check".into(), "rules".into(), DASHBOARD_EXPRS.into()];
        report.lines.push(run(promtool, &args, dir.path())?);
    }
    let tests: Vec<PathBuf> = out.test_files().cloned().collect();
    if !tests.is_empty() {
        let mut args = vec!["test".into(), "rules".into()];
        args.extend(tests.iter().map(|p| p.display().to_string()));
        report.lines.push(run(promtool, &args, dir.path())?);
    }
    if out.files.contains_key(Path::new(ALERTMANAGER_FILE)) {
        let args = vec!["check-config".into(), ALERTMANAGER_FILE.into()];
        report.lines.push(run(amtool, &args, dir.path())?);
        if let Some(routing) = routing {
            for case in route_cases(routing) {
                report.lines.push(run(amtool, &case, dir.path())?);
            }
        }
    }
    Ok(report)
}

/// `amtool config routes test` arguments: one case per route, with the labels it matches and
/// the receivers the first-match rule predicts, and one case matching no route.
pub fn route_cases(routing: &Routing) -> Vec<Vec<String>> {
    let mut cases = Vec::new();
    let mut add = |team: Option<&str>, severity: Option<&str>| {
        let receivers = expected_receiver(routing, team, severity);
        let mut args: Vec<String> = vec![
            "config".into(),
            "routes".into(),
            "test".into(),
            format!("--config.file={ALERTMANAGER_FILE}"),
            format!("--verify.receivers={}", receivers.join(",")),
        ];
        args.extend(team.map(|t| format!("team={t}")));
        args.extend(severity.map(|s| format!("severity={s}")));
        args.push("alertname=RulegenRouteTest".into());
        cases.push(args);
    };
    for r in &routing.routes {
        add(r.team.as_deref(), r.severity.as_deref());
    }
    add(None, Some("info"));
    cases
}

/// File, in the temporary directory, of the dashboards' expressions as recording rules.
const DASHBOARD_EXPRS: &str = "dashboard-expressions.yml";

/// Every panel expression of the dashboards as a recording rule, so that Prometheus's own
/// parser checks them too; Grafana's variables are replaced by values PromQL accepts.
pub fn dashboard_rules(out: &Output) -> Option<String> {
    let mut rules = Vec::new();
    for (path, text) in &out.files {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(d) = serde_json::from_str::<serde_json::Value>(text) else {
            continue;
        };
        for p in d["panels"].as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    rules.push(serde_json::json!({
                        "record": format!("dashboard:expression_{}:check", rules.len()),
                        "expr": grafana_to_promql(expr),
                    }));
                }
            }
        }
    }
    if rules.is_empty() {
        return None;
    }
    let file = serde_json::json!({"groups": [{"name": "dashboard-expressions", "rules": rules}]});
    Some(serde_yaml::to_string(&file).expect("JSON values serialise as YAML"))
}

/// Replaces Grafana's variables with values PromQL accepts.
pub fn grafana_to_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "1d")
        .replace("$__interval", "1m")
        .replace('$', "")
}

/// Runs a tool in `dir`, returning its output or failing with it.
pub fn run(tool: &Path, args: &[String], dir: &Path) -> Result<String, ValidateError> {
    let name = tool.display().to_string();
    let result = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|source| ValidateError::Spawn {
            tool: name.clone(),
            source,
        })?;
    let mut text = String::from_utf8_lossy(&result.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&result.stderr));
    if result.status.success() {
        Ok(text)
    } else {
        Err(ValidateError::Failed {
            tool: name,
            args: args.join(" "),
            output: text,
        })
    }
}
