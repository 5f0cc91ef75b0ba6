//! Spec loading: files and directories are split into YAML documents, each document is
//! recognised by its version key and mapped by its loader onto the one internal model.

mod common;
pub mod native;
pub mod openslo;
pub mod sloth;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::source::{split_documents, Document, Location};

pub use common::parse_promql;

/// The version of the project's own spec format.
pub const API_VERSION: &str = "rulegen/v1";

/// One thing wrong in a spec, at its place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("{location}: {message}")]
pub struct SpecError {
    pub location: Location,
    pub message: String,
}

impl SpecError {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        SpecError {
            location,
            message: message.into(),
        }
    }
}

/// Why specs could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Errors(.0))]
    Invalid(Vec<SpecError>),
}

struct Errors<'a>(&'a [SpecError]);

impl fmt::Display for Errors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The spec files under `paths` (files as given; directories searched for `*.yml`/`*.yaml`),
/// sorted so that the output does not depend on the order of the file system.
pub fn spec_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read_err = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(read_err)?;
        files.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let p = entry.map_err(read_err)?.path();
        let yaml = p.extension().is_some_and(|e| e == "yml" || e == "yaml");
        if p.is_dir() || yaml {
            collect(&p, files)?;
        }
    }
    Ok(())
}

/// Loads every spec under `paths` into one model, reporting every error found.
pub fn load_paths(paths: &[PathBuf]) -> Result<Model, LoadError> {
    let mut sources = Vec::new();
    for file in spec_files(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|source| LoadError::Read {
            path: file.clone(),
            source,
        })?;
        sources.push((file, text));
    }
    load_sources(&sources)
}

/// Loads specs given as (file name, text) pairs.
pub fn load_sources(sources: &[(PathBuf, String)]) -> Result<Model, LoadError> {
    let mut model = Model::default();
    let mut errors = Vec::new();
    let mut openslo = openslo::Collector::default();
    for (file, text) in sources {
        for doc in split_documents(file, text) {
            if doc.is_empty() {
                continue;
            }
            let result = match detect(&doc) {
                Ok(Format::Native) => native::load(&doc, &mut model),
                Ok(Format::Sloth) => sloth::load(&doc, &mut model),
                Ok(Format::OpenSlo) => openslo.add(&doc),
                Err(e) => Err(vec![e]),
            };
            errors.extend(result.err().unwrap_or_default());
        }
    }
    if let Err(e) = openslo.finish(&mut model) {
        errors.extend(e);
    }
    errors.extend(check_unique(&model));
    if errors.is_empty() {
        Ok(model)
    } else {
        errors.sort();
        errors.dedup();
        Err(LoadError::Invalid(errors))
    }
}

enum Format {
    Native,
    Sloth,
    OpenSlo,
}

fn detect(doc: &Document) -> Result<Format, SpecError> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(&doc.text).map_err(|e| common::yaml_error(doc, &e))?;
    let at = doc.at(doc.first_line, 1);
    let key = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match (key("apiVersion"), key("version")) {
        (Some(v), _) if v == API_VERSION => Ok(Format::Native),
        (Some(v), _) if v == "openslo/v1" => Ok(Format::OpenSlo),
        (Some(v), _) => Err(SpecError::new(
            doc.locate("apiVersion"),
            format!(
                "unsupported apiVersion {v:?}, expected {API_VERSION:?} or \"openslo/v1\" \
                 (Sloth specs use `version: prometheus/v1`)"
            ),
        )),
        (None, Some(v)) if v == "prometheus/v1" => Ok(Format::Sloth),
        (None, Some(v)) => Err(SpecError::new(
            doc.locate("version"),
            format!("unsupported Sloth version {v:?}, expected \"prometheus/v1\""),
        )),
        (None, None) => Err(SpecError::new(
            at,
            format!("missing apiVersion, expected {API_VERSION:?}, \"openslo/v1\" or a Sloth `version: prometheus/v1`"),
        )),
    }
}

/// SLO IDs and anomaly names must be unique across all specs, since rule groups are named
/// after them.
fn check_unique(model: &Model) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<String, &Location> = BTreeMap::new();
    for slo in &model.slos {
        if let Some(first) = seen.insert(slo.id.clone(), &slo.location) {
            errors.push(SpecError::new(
                slo.location.clone(),
                format!("duplicate SLO {:?}, first defined at {first}", slo.id),
            ));
        }
    }
    let mut seen: BTreeMap<String, &Location> = BTreeMap::new();
    for d in &model.anomalies {
        if let Some(first) = seen.insert(d.name.clone(), &d.location) {
            errors.push(SpecError::new(
                d.location.clone(),
                format!(
                    "duplicate anomaly detector {:?}, first defined at {first}",
                    d.name
                ),
            ));
        }
    }
    errors
}
