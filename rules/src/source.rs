//! Source files split into YAML documents, with the positions of every node so that errors
//! found after decoding still name a file, a line and a column.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A place in a spec file; lines and columns start at 1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One YAML document of a file. Its `text` is the whole file with every character outside the
/// document blanked, so that a YAML decoder reports the same lines and columns as the file.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: PathBuf,
    pub text: String,
    /// Line of the document's first content line.
    pub first_line: usize,
    positions: HashMap<String, (usize, usize)>,
}

impl Document {
    /// Location of the node at `path` (keys and indexes joined by dots, e.g. `slos.0.name`),
    /// falling back to the nearest enclosing node, then to the document start.
    pub fn locate(&self, path: &str) -> Location {
        let mut p = path;
        loop {
            if let Some(&(line, column)) = self.positions.get(p) {
                return self.at(line, column);
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
        let (line, column) = self
            .positions
            .get("")
            .copied()
            .unwrap_or((self.first_line, 1));
        self.at(line, column)
    }

    /// A location in this document's file.
    pub fn at(&self, line: usize, column: usize) -> Location {
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    /// Whether the document holds nothing but comments and blank lines.
    pub fn is_empty(&self) -> bool {
        self.text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
    }
}

/// Splits a file's text into documents on `---` and `...` markers at the start of a line.
pub fn split_documents(file: &Path, text: &str) -> Vec<Document> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if is_marker(line, "---") || is_marker(line, "...") {
            ranges.push((start, offset));
            start = offset
                + if line.starts_with("---") {
                    3
                } else {
                    line.len()
                };
        }
        offset += line.len();
    }
    ranges.push((start, text.len()));
    ranges
        .into_iter()
        .map(|(s, e)| blank_outside(text, s, e))
        .filter(|t| !t.trim().is_empty())
        .map(|t| document(file, t))
        .collect()
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

fn blank_outside(text: &str, start: usize, end: usize) -> String {
    text.char_indices()
        .map(|(i, c)| {
            if c == '\n' || (i >= start && i < end) {
                c
            } else {
                ' '
            }
        })
        .collect()
}

fn document(file: &Path, text: String) -> Document {
    let first_line = text
        .lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map_or(1, |i| i + 1);
    let positions = index_positions(&text);
    Document {
        file: file.to_path_buf(),
        text,
        first_line,
        positions,
    }
}

/// Walks the YAML events and records the position of every node by its dotted path.
fn index_positions(text: &str) -> HashMap<String, (usize, usize)> {
    let mut indexer = Indexer::default();
    // A syntax error is reported by the decoder with its own position; the index just stops.
    let _ = Parser::new_from_str(text).load(&mut indexer, false);
    indexer.positions
}

#[derive(Default)]
struct Indexer {
    positions: HashMap<String, (usize, usize)>,
    stack: Vec<Frame>,
    /// Path of the key just read, placed at the key until its value tells better.
    key_at: Option<String>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

impl Indexer {
    /// Path of the node that starts now, advancing the enclosing container.
    fn next_path(&mut self, scalar: Option<&str>, pos: (usize, usize)) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                Some(join(path, &(*next - 1).to_string()))
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // A mapping is placed at its first key: the start mark points past it.
                    self.positions.entry(path.clone()).or_insert(pos);
                    let k = scalar.unwrap_or("?").to_string();
                    self.key_at = Some(join(path, &k));
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(value, ..) => match self.next_path(Some(&value), pos) {
                Some(path) => {
                    self.positions.insert(path, pos);
                }
                None => {
                    if let Some(key) = self.key_at.take() {
                        self.positions.insert(key, pos);
                    }
                }
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.next_path(None, pos).unwrap_or_default();
                if matches!(ev, Event::SequenceStart(..)) {
                    self.positions.entry(path.clone()).or_insert(pos);
                }
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map { path, key: None },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                let _ = self.next_path(None, pos);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_the_lines_and_columns_of_the_file() {
        let text = "a: 1\n---\nb:\n  c: [x, y]\n...\n# only a comment\n";
        let docs = split_documents(Path::new("f.yml"), text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].first_line, 3);
        assert_eq!(docs[1].locate("b.c.1").to_string(), "f.yml:4:10");
        assert!(docs[2].is_empty());
        assert_eq!(docs[1].locate("b.c").to_string(), "f.yml:4:3");
        assert_eq!(docs[1].locate("b.missing").to_string(), "f.yml:3:1");
        let docs = split_documents(Path::new("f.yml"), "s:\n  - name: a\n    x: 1\n");
        assert_eq!(docs[0].locate("s.0.x").to_string(), "f.yml:3:8");
        assert_eq!(docs[0].locate("s.0").to_string(), "f.yml:2:5");
    }

    #[test]
    fn a_marker_needs_whitespace_after_it() {
        let docs = split_documents(Path::new("f.yml"), "a: ---x\n----\n");
        assert_eq!(docs.len(), 1);
    }
}
