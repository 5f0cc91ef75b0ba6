//! Strict YAML config loading: unknown keys rejected, defaults filled by serde, then one
//! validation pass across fields, with every error naming the file, line, column and key.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Where a config comes from: a file on disk, or the default embedded in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(std::path::PathBuf),
    Embedded,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Embedded => f.write_str("<embedded default>"),
        }
    }
}

/// One problem in a config file, located as precisely as the YAML allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    pub line: usize,
    pub column: usize,
    /// The dotted path of the offending key, such as `limits.per_ip.rate` or `sources[0].name`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.source, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one config file; validation reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Rules that span fields, checked after serde has filled in the defaults.
pub trait Validate {
    /// Reports every problem to `problems`; an empty report means the config is valid.
    fn validate(&self, problems: &mut Problems);
}

/// Collects validation problems as (key, message) pairs; the loader adds the locations.
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<(String, String)>,
}

impl Problems {
    /// Records that the value at `key` (a dotted path) is wrong, and why.
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.found.push((key.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
}

/// A config type the kit can load: strict serde, defaults, cross-field rules.
pub trait Config: DeserializeOwned + Validate + Send + Sync + 'static {}
impl<T: DeserializeOwned + Validate + Send + Sync + 'static> Config for T {}

/// Reads and validates the config at `path`.
pub fn load_file<T: Config>(path: &Path) -> Result<T, ConfigErrors> {
    let source = Source::File(path.to_path_buf());
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            source: source.to_string(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("could not read config file: {e}"),
        }])
    })?;
    load_str(&text, &source)
}

/// Parses and validates config text; `source` only names it in errors.
pub fn load_str<T: Config>(text: &str, source: &Source) -> Result<T, ConfigErrors> {
    // A file with nothing but comments means "all defaults", as an empty mapping would.
    let text = if is_blank(text) { "{}" } else { text };
    let value: T = parse(text, source)?;
    let mut problems = Problems::default();
    value.validate(&mut problems);
    if problems.is_empty() {
        return Ok(value);
    }
    Err(locate_problems(text, source, problems))
}

fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---")
}

/// Turns a problem found after parsing (say, a certificate that cannot be read) into a located
/// error, the same way validation problems are located.
pub fn locate_problems(text: &str, source: &Source, problems: Problems) -> ConfigErrors {
    let index = KeyIndex::build(text);
    let errors = problems
        .found
        .into_iter()
        .map(|(key, message)| index.error(source, key, message))
        .collect();
    ConfigErrors(errors)
}

fn parse<T: DeserializeOwned>(text: &str, source: &Source) -> Result<T, ConfigErrors> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = clean_path(&err.path().to_string());
        let inner = err.into_inner();
        let message = bare_message(&inner.to_string());
        let key = key_of(&path, &message);
        // serde_yaml locates an error inside a value it had to buffer first (an internally
        // tagged enum, a flattened struct) at the start of that value; the key's own position
        // is then the precise one, and it comes later in the text.
        let reported = inner.location().map_or((0, 0), |l| (l.line(), l.column()));
        let (line, column) = reported.max(KeyIndex::build(text).find(&key));
        ConfigErrors(vec![ConfigError {
            source: source.to_string(),
            line,
            column,
            key,
            message,
        }])
    })
}

/// serde_path_to_error writes `.` for the root and `?` for an unknown position.
fn clean_path(path: &str) -> String {
    let path = path.trim_end_matches(".?").trim_end_matches('?');
    if path == "." {
        String::new()
    } else {
        path.to_string()
    }
}

/// serde_yaml's message carries its own path prefix and location suffix; the kit prints both
/// itself, once.
fn bare_message(message: &str) -> String {
    let without_location = strip_location(message);
    match without_location.split_once(": ") {
        Some((prefix, rest)) if !prefix.contains(' ') && !prefix.contains('`') => rest.to_string(),
        _ => without_location,
    }
}

/// Removes the first ` at line N column M` from `message`, wherever it stands.
fn strip_location(message: &str) -> String {
    let Some(at) = message.find(" at line ") else {
        return message.to_string();
    };
    let rest = &message[at + " at line ".len()..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix(" column ") else {
        return message.to_string();
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    format!("{}{rest}", &message[..at])
}

/// An unknown field is named in the message, not in the path; the key is the field itself.
fn key_of(path: &str, message: &str) -> String {
    let field = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    match field {
        Some(field) if path.is_empty() => field.to_string(),
        Some(field) if !path.ends_with(field) => format!("{path}.{field}"),
        _ => path.to_string(),
    }
}

/// Positions of every key and sequence item in a YAML document, by dotted path.
struct KeyIndex {
    positions: Vec<(String, Marker)>,
}

impl KeyIndex {
    fn build(text: &str) -> KeyIndex {
        let mut builder = IndexBuilder::default();
        let mut parser = Parser::new_from_str(text);
        // A document that serde accepted parses here too; on a failure the index is partial.
        let _ = parser.load(&mut builder, false);
        KeyIndex {
            positions: builder.positions,
        }
    }

    /// The position of `key`, or of its nearest ancestor that is written in the file (a key
    /// left to its default has no line of its own).
    fn find(&self, key: &str) -> (usize, usize) {
        let mut candidate = key.to_string();
        loop {
            if let Some((_, mark)) = self.positions.iter().find(|(path, _)| *path == candidate) {
                return (mark.line(), mark.col() + 1);
            }
            match parent(&candidate) {
                Some(up) => candidate = up,
                None => return (1, 1),
            }
        }
    }

    fn error(&self, source: &Source, key: String, message: String) -> ConfigError {
        let (line, column) = self.find(&key);
        ConfigError {
            source: source.to_string(),
            line,
            column,
            key,
            message,
        }
    }
}

fn parent(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '['])?;
    Some(path[..cut].to_string())
}

enum Frame {
    Mapping { path: String, pending_key: bool },
    Sequence { path: String, index: usize },
}

#[derive(Default)]
struct IndexBuilder {
    stack: Vec<Frame>,
    positions: Vec<(String, Marker)>,
    next_path: Option<String>,
}

impl IndexBuilder {
    /// Called for every node; returns the path that node's value lives at.
    fn value_path(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Mapping { path, pending_key }) => {
                if *pending_key {
                    *pending_key = false;
                    let key = scalar.unwrap_or("?");
                    let full = if path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.positions.push((full.clone(), mark));
                    self.next_path = Some(full);
                    None
                } else {
                    *pending_key = true;
                    self.next_path.take()
                }
            }
            Some(Frame::Sequence { path, index }) => {
                let full = format!("{path}[{index}]");
                *index += 1;
                self.positions.push((full.clone(), mark));
                Some(full)
            }
        }
    }
}

impl MarkedEventReceiver for IndexBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.value_path(mark, Some(&value));
            }
            Event::Alias(_) => {
                self.value_path(mark, None);
            }
            Event::MappingStart(..) => {
                let path = self.value_path(mark, None).unwrap_or_default();
                self.stack.push(Frame::Mapping {
                    path,
                    pending_key: true,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.value_path(mark, None).unwrap_or_default();
                self.stack.push(Frame::Sequence { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_block_and_flow_style() {
        let text = "a:\n  b: 1\n  list:\n    - x: 2\n    - {x: 3, y: 4}\nc: [1, 2]\n";
        let index = KeyIndex::build(text);
        assert_eq!(index.find("a.b"), (2, 3));
        assert_eq!(index.find("a.list[0].x"), (4, 7));
        assert_eq!(index.find("a.list[1].y"), (5, 14));
        assert_eq!(index.find("c[1]"), (6, 8));
    }

    #[test]
    fn a_key_left_to_its_default_is_placed_at_its_parent() {
        let index = KeyIndex::build("limits:\n  per_ip: {rate: 5}\n");
        assert_eq!(index.find("limits.per_ip.burst"), (2, 3));
        assert_eq!(index.find("nowhere"), (1, 1));
    }

    #[test]
    fn serde_yaml_messages_lose_their_own_path_and_location() {
        assert_eq!(
            bare_message("limits: invalid type: string \"x\", expected u32 at line 2 column 3"),
            "invalid type: string \"x\", expected u32"
        );
        assert_eq!(
            bare_message(
                "did not find expected ',' at line 3 column 1, while parsing a flow mapping"
            ),
            "did not find expected ',', while parsing a flow mapping"
        );
        assert_eq!(
            key_of("limits", "unknown field `burts`, expected `rate`"),
            "limits.burts"
        );
        assert_eq!(key_of("", "unknown field `x`, expected `a`"), "x");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Step {
        Click { selector: String },
        Wait { seconds: u32 },
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Steps {
        steps: Vec<Step>,
    }

    #[test]
    fn an_error_inside_a_buffered_value_is_placed_at_its_key() {
        // serde_yaml reads an internally tagged enum whole before choosing the variant, and
        // places errors inside it at the enum's first line.
        let text = "steps:\n  - kind: click\n    selector: a\n  - kind: wait\n    secnds: 3\n";
        let source = Source::File("steps.yml".into());
        let errors = parse::<Steps>(text, &source).unwrap_err();
        let error = &errors.0[0];
        assert_eq!(error.key, "steps[1].secnds");
        assert_eq!((error.line, error.column), (5, 5));
        // A wrong value outside any buffering keeps serde_yaml's own place: the value.
        let errors = parse::<Steps>("steps: 7\n", &source).unwrap_err();
        assert_eq!((errors.0[0].line, errors.0[0].column), (1, 8));
    }
}
