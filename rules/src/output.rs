//! Writing generated files to disk and comparing them with what is there.

use std::path::{Path, PathBuf};

use crate::gen::{Output, DASHBOARDS_DIR, RULES_DIR, UNITTESTS_DIR};
use crate::names::GENERATED_NOTE;

/// Why the output could not be written or compared.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("could not write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a file on disk differs from the generated one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Drift {
    Missing(PathBuf),
    Stale(PathBuf),
    /// A generated file the specs no longer produce.
    Orphan(PathBuf),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "missing: {}", p.display()),
            Drift::Stale(p) => write!(f, "stale: {}", p.display()),
            Drift::Orphan(p) => write!(f, "no longer generated: {}", p.display()),
        }
    }
}

/// Writes every file under `dir` and removes generated files that are no longer produced.
/// Returns the paths written, relative to `dir`.
pub fn write(out: &Output, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    for orphan in orphans(out, dir)? {
        let path = dir.join(&orphan);
        std::fs::remove_file(&path).map_err(|source| OutputError::Write { path, source })?;
    }
    let mut written = Vec::new();
    for (rel, text) in &out.files {
        let path = dir.join(rel);
        let err = |source| OutputError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(err)?;
            written.push(rel.clone());
        }
    }
    Ok(written)
}

/// Every difference between the generated files and `dir`.
pub fn check(out: &Output, dir: &Path) -> Result<Vec<Drift>, OutputError> {
    let mut drift = Vec::new();
    for (rel, text) in &out.files {
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == text => {}
            Ok(_) => drift.push(Drift::Stale(rel.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drift.push(Drift::Missing(rel.clone()))
            }
            Err(source) => return Err(OutputError::Read { path, source }),
        }
    }
    drift.extend(orphans(out, dir)?.into_iter().map(Drift::Orphan));
    drift.sort();
    Ok(drift)
}

/// Files in the generated directories that carry the generated note but are not in `out`.
fn orphans(out: &Output, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut found = Vec::new();
    for sub in [RULES_DIR, UNITTESTS_DIR, DASHBOARDS_DIR] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let rel = Path::new(sub).join(entry.file_name());
            let generated_kind = rel.extension().is_some_and(|e| e == "yml" || e == "json");
            if !generated_kind || out.files.contains_key(&rel) || !entry.path().is_file() {
                continue;
            }
            let text =
                std::fs::read_to_string(entry.path()).map_err(|source| OutputError::Read {
                    path: entry.path(),
                    source,
                })?;
            if text.contains(GENERATED_NOTE) {
                found.push(rel);
            }
        }
    }
    found.sort();
    Ok(found)
}
