//! What all loaders share: strict decoding with positions, PromQL and name checks.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::SpecError;
use crate::model::{has_window, render_window, Query};
use crate::source::Document;

/// Turns a YAML decoding error into a spec error at the decoder's position.
pub fn yaml_error(doc: &Document, e: &serde_yaml::Error) -> SpecError {
    let text = e.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    let location = match e.location() {
        Some(l) => doc.at(l.line(), l.column()),
        None => doc.at(doc.first_line, 1),
    };
    SpecError::new(location, message)
}

/// Decodes a whole document into `T`, whose structs refuse unknown keys.
pub fn decode<T: DeserializeOwned>(doc: &Document) -> Result<T, Vec<SpecError>> {
    serde_yaml::from_str(&doc.text).map_err(|e| vec![yaml_error(doc, &e)])
}

/// Parses a PromQL expression, with windows rendered as `5m`, reporting errors at `query`'s
/// place. `needs_window` demands at least one `{{.window}}` placeholder.
pub fn check_query(query: &Query, needs_window: bool) -> Result<(), SpecError> {
    if needs_window && !has_window(&query.template) {
        return Err(SpecError::new(
            query.location.clone(),
            "query has no {{.window}} placeholder for the range of the SLI window",
        ));
    }
    parse_promql(&render_window(&query.template, "5m"))
        .map_err(|e| SpecError::new(query.location.clone(), format!("invalid PromQL: {e}")))
}

/// Parses PromQL with the `promql-parser` crate; the error is its message on one line.
pub fn parse_promql(expr: &str) -> Result<(), String> {
    promql_parser::parser::parse(expr)
        .map(|_| ())
        .map_err(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A query from the spec at `path` in `doc`.
pub fn query(doc: &Document, path: &str, template: &str) -> Query {
    Query {
        template: template.trim().to_string(),
        location: doc.locate(path),
    }
}

/// Names of services, SLOs and detectors: letters, digits, `-`, `_` and `.`, starting and
/// ending with a letter or digit, since they become rule group names and label values.
pub fn check_name(doc: &Document, path: &str, what: &str, name: &str) -> Result<(), SpecError> {
    let inner_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ends_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err(SpecError::new(
            doc.locate(path),
            format!(
                "invalid {what} name {name:?}: use letters, digits, '-', '_' and '.', \
                 starting and ending with a letter or digit"
            ),
        ))
    }
}

/// Label names as Prometheus accepts them, and not reserved.
pub fn check_labels(
    doc: &Document,
    path: &str,
    labels: &BTreeMap<String, String>,
) -> Vec<SpecError> {
    labels
        .keys()
        .filter(|k| !valid_label_name(k) || k.starts_with("__"))
        .map(|k| {
            SpecError::new(
                doc.locate(&format!("{path}.{k}")),
                format!("invalid label name {k:?}"),
            )
        })
        .collect()
}

pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An objective is a percentage above 0 and below 100: 100 would leave no budget to burn.
pub fn check_objective(doc: &Document, path: &str, objective: f64) -> Result<(), SpecError> {
    if objective > 0.0 && objective < 100.0 {
        Ok(())
    } else {
        Err(SpecError::new(
            doc.locate(path),
            format!("objective {objective} must be above 0 and below 100 (percent)"),
        ))
    }
}

/// The rule file (without `.yml`) an SLO is written to: one file per SLO, so that its
/// promtool unit tests evaluate its rules alone and stay fast however many SLOs exist.
pub fn slo_output(id: &str) -> String {
    id.to_string()
}

/// The rule file (without `.yml`) of an anomaly detector.
pub fn detector_output(name: &str) -> String {
    format!("anomaly-{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_errors_come_back_on_one_line() {
        assert!(parse_promql("sum(rate(x[5m]))").is_ok());
        let e = parse_promql("sum(rate(x[5m])").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(valid_label_name("team"));
        assert!(valid_label_name("_x1"));
        assert!(!valid_label_name("1x"));
        assert!(!valid_label_name("a-b"));
    }
}
