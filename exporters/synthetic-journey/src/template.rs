//! Config strings that may name secrets: `${env:NAME}` and `${file:PATH}` are read at run time,
//! so a rotated secret needs no reload, and the value never reaches a log line or a status page.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string with `${env:NAME}` and `${file:PATH}` references; it prints as written.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Env(String),
    File(String),
}

/// Why a reference could not be resolved; it names the reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("could not read {path}: {reason}")]
    File { path: String, reason: String },
}

impl Template {
    /// Parses `raw`; an unclosed `${` or an unknown source is an error.
    pub fn parse(raw: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed \"${{\" in {raw:?}"))?;
            parts.push(reference(&after[..end])?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            raw: raw.to_string(),
            parts,
        })
    }

    /// The string as written in the config, references unresolved: safe to log.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether the value comes, at least in part, from the environment or a file.
    pub fn has_references(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// The value, with every reference read now. A file's trailing newline is dropped.
    pub fn resolve(&self) -> Result<String, ResolveError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Env(name) => {
                    let value =
                        std::env::var(name).map_err(|_| ResolveError::MissingEnv(name.clone()))?;
                    out.push_str(&value);
                }
                Part::File(path) => {
                    let value = std::fs::read_to_string(path).map_err(|e| ResolveError::File {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                    out.push_str(value.strip_suffix('\n').unwrap_or(&value));
                }
            }
        }
        Ok(out)
    }
}

fn reference(inner: &str) -> Result<Part, String> {
    let (source, name) = inner
        .split_once(':')
        .ok_or_else(|| format!("\"${{{inner}}}\" must be ${{env:NAME}} or ${{file:PATH}}"))?;
    if name.is_empty() {
        return Err(format!("\"${{{inner}}}\" names nothing"));
    }
    match source {
        "env" => Ok(Part::Env(name.to_string())),
        "file" => Ok(Part::File(name.to_string())),
        _ => Err(format!(
            "unknown source {source:?} in \"${{{inner}}}\": use env or file"
        )),
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Template, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Template::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_resolves_to_itself() {
        let t = Template::parse("https://example.test/").unwrap();
        assert!(!t.has_references());
        assert_eq!(t.resolve().unwrap(), "https://example.test/");
    }

    #[test]
    fn env_and_file_references_are_read_at_resolve_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::env::set_var("SJ_TEMPLATE_TEST_CODE", "42");
        let raw = format!(
            "code=${{env:SJ_TEMPLATE_TEST_CODE}}&t=${{file:{}}}",
            path.display()
        );
        let t = Template::parse(&raw).unwrap();
        assert_eq!(t.resolve().unwrap(), "code=42&t=s3cret");
        std::fs::write(&path, "rotated").unwrap();
        assert_eq!(t.resolve().unwrap(), "code=42&t=rotated");
        assert_eq!(format!("{t:?}"), format!("{raw:?}"));
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let t = Template::parse("${env:SJ_TEMPLATE_TEST_UNSET}").unwrap();
        let err = t.resolve().unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable SJ_TEMPLATE_TEST_UNSET is not set"
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        assert!(Template::parse("${env:X").unwrap_err().contains("unclosed"));
        assert!(Template::parse("${vault:X}")
            .unwrap_err()
            .contains("unknown source"));
        assert!(Template::parse("${env:}")
            .unwrap_err()
            .contains("names nothing"));
    }
}
