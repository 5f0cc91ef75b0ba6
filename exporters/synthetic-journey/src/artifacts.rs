//! What a person looks at after a failure: screenshot, page HTML and console errors, one
//! directory per run under `--artifacts.dir/<journey>/`, the oldest removed beyond a limit.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where artifacts go and how many runs of each journey are kept.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    dir: PathBuf,
    keep: usize,
}

/// The files of one run, written as they come.
pub struct RunArtifacts {
    dir: PathBuf,
    run: String,
    written: Vec<String>,
}

impl ArtifactStore {
    pub fn new(dir: impl Into<PathBuf>, keep: usize) -> ArtifactStore {
        ArtifactStore {
            dir: dir.into(),
            keep: keep.max(1),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A place for one run of `journey`; nothing is created until a file is written.
    pub fn run(&self, journey: &str) -> RunArtifacts {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let run = format!("{millis:015}");
        RunArtifacts {
            dir: self.dir.join(journey).join(&run),
            run,
            written: Vec::new(),
        }
    }

    /// Removes the oldest run directories of `journey` beyond the limit.
    pub fn prune(&self, journey: &str) -> std::io::Result<()> {
        let mut runs: Vec<PathBuf> = match std::fs::read_dir(self.dir.join(journey)) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        // Run names are zero-padded milliseconds, so names sort by age.
        runs.sort();
        let excess = runs.len().saturating_sub(self.keep);
        for old in &runs[..excess] {
            std::fs::remove_dir_all(old)?;
        }
        Ok(())
    }

    /// The file at `journey/run/file`, if every part is a plain name (no path tricks).
    pub fn file(&self, journey: &str, run: &str, file: &str) -> Option<PathBuf> {
        let plain = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        if plain(journey) && plain(run) && plain(file) {
            Some(self.dir.join(journey).join(run).join(file))
        } else {
            None
        }
    }
}

impl RunArtifacts {
    /// Writes `name` for this run; returns its path relative to the journey's directory.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<String> {
        std::fs::create_dir_all(&self.dir)?;
        std::fs::write(self.dir.join(name), bytes)?;
        let relative = format!("{}/{name}", self.run);
        self.written.push(relative.clone());
        Ok(relative)
    }

    /// Every file written, relative to the journey's directory.
    pub fn written(&self) -> &[String] {
        &self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_runs_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path(), 2);
        for run in ["000000000000001", "000000000000002", "000000000000003"] {
            let path = dir.path().join("j").join(run);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("page.html"), "x").unwrap();
        }
        store.prune("j").unwrap();
        let mut left: Vec<_> = std::fs::read_dir(dir.path().join("j"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["000000000000002", "000000000000003"]);
    }

    #[test]
    fn paths_that_climb_out_are_refused() {
        let store = ArtifactStore::new("/tmp/a", 2);
        assert!(store.file("j", "1", "failure.png").is_some());
        assert!(store.file("..", "1", "x").is_none());
        assert!(store.file("j", "1", "../../etc/passwd").is_none());
        assert!(store.file("j", "", "x").is_none());
    }
}
