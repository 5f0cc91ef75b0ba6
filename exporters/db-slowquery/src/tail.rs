//! Follows a growing slow log: survives rotation by rename and by truncation (copytruncate),
//! and hands the parser only whole entries.
//!
//! An entry is known to be whole once the next one starts (`;\n#`). The last entry of the file
//! is read only after the file has stopped growing for the settle time and it ends with `;\n`,
//! because the server may still be writing it.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::StartAt;
use crate::slowlog::{Event, Parser};

const READ_CHUNK: usize = 1 << 20;

/// What a poll found besides entries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollStats {
    pub rotations: u64,
    pub truncations: u64,
    pub oversized: u64,
}

/// The state of one tailed file.
pub struct Tailer {
    path: PathBuf,
    start_at: StartAt,
    settle: Duration,
    max_entry: usize,
    file: Option<Open>,
    pending: Vec<u8>,
    /// Skip bytes up to the first entry boundary (started in the middle of an entry).
    resync: bool,
    started: bool,
}

struct Open {
    file: File,
    inode: (u64, u64),
    offset: u64,
    last_len: u64,
    last_growth: Instant,
}

impl Tailer {
    pub fn new(path: PathBuf, start_at: StartAt, settle: Duration, max_entry: usize) -> Tailer {
        Tailer {
            path,
            start_at,
            settle,
            max_entry,
            file: None,
            pending: Vec::new(),
            resync: false,
            started: false,
        }
    }

    /// Reads what was appended since the last poll and gives each whole entry to `sink`.
    pub fn poll(&mut self, sink: &mut dyn FnMut(Event)) -> io::Result<PollStats> {
        let mut stats = PollStats::default();
        let current = match std::fs::metadata(&self.path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let current_inode = current.as_ref().map(|m| (m.dev(), m.ino()));
        if let Some(open) = &self.file {
            if current_inode != Some(open.inode) {
                // Renamed away (or deleted): finish the old file, then follow the new one.
                self.read_available(&mut stats)?;
                self.flush(true, sink, &mut stats);
                self.file = None;
                self.pending.clear();
                stats.rotations += 1;
            }
        }
        if self.file.is_none() {
            let Some(meta) = current else {
                self.started = true;
                return Ok(stats);
            };
            self.open(meta.len())?;
        }
        if let Some(open) = self.file.as_mut() {
            let len = open.file.metadata()?.len();
            if len < open.offset {
                open.offset = 0;
                self.pending.clear();
                self.resync = false;
                stats.truncations += 1;
            }
        }
        self.read_available(&mut stats)?;
        let quiet = self
            .file
            .as_ref()
            .is_some_and(|o| o.last_growth.elapsed() >= self.settle);
        self.flush(quiet, sink, &mut stats);
        Ok(stats)
    }

    fn open(&mut self, len: u64) -> io::Result<()> {
        let file = File::open(&self.path)?;
        let meta = file.metadata()?;
        // A file that appears after the start is new: read it whole.
        let at_end = !self.started && self.start_at == StartAt::End;
        self.started = true;
        let offset = if at_end { len } else { 0 };
        self.resync = at_end && len > 0 && !ends_with_boundary(&file, len)?;
        self.file = Some(Open {
            file,
            inode: (meta.dev(), meta.ino()),
            offset,
            last_len: offset,
            last_growth: Instant::now(),
        });
        Ok(())
    }

    fn read_available(&mut self, stats: &mut PollStats) -> io::Result<()> {
        let Some(open) = self.file.as_mut() else {
            return Ok(());
        };
        let len = open.file.metadata()?.len();
        if len != open.last_len {
            open.last_len = len;
            open.last_growth = Instant::now();
        }
        let mut chunk = vec![0; READ_CHUNK];
        while open.offset < len {
            let want = ((len - open.offset) as usize).min(READ_CHUNK);
            let n = open.file.read_at(&mut chunk[..want], open.offset)?;
            if n == 0 {
                break;
            }
            open.offset += n as u64;
            self.pending.extend_from_slice(&chunk[..n]);
            if self.resync {
                skip_to_boundary(&mut self.pending, &mut self.resync);
            }
            if self.pending.len() > self.max_entry && find_last_boundary(&self.pending).is_none() {
                // One entry longer than the limit: drop it up to where the next one starts.
                self.pending.clear();
                self.resync = true;
                stats.oversized += 1;
            }
        }
        Ok(())
    }

    /// Parses every whole entry in `pending`; with `quiet`, the last one too if it ends with
    /// `;\n`.
    fn flush(&mut self, quiet: bool, sink: &mut dyn FnMut(Event), stats: &mut PollStats) {
        if self.resync {
            return;
        }
        let end = if quiet && self.pending.ends_with(b";\n") {
            self.pending.len()
        } else {
            match find_last_boundary(&self.pending) {
                Some(at) => at + 2,
                None => return,
            }
        };
        let mut parser = Parser::with_max_entry_bytes(&self.pending[..end], self.max_entry);
        while let Ok(Some(event)) = parser.next_event() {
            sink(event);
        }
        stats.oversized += parser.oversized();
        self.pending.drain(..end);
    }
}

/// Drops bytes up to the first entry boundary; keeps a possible partial separator.
fn skip_to_boundary(pending: &mut Vec<u8>, resync: &mut bool) {
    if let Some(at) = memchr::memmem::find(pending, b";\n#") {
        pending.drain(..at + 2);
        *resync = false;
    } else {
        let keep = pending.len().min(2);
        pending.drain(..pending.len() - keep);
    }
}

fn find_last_boundary(data: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(data, b";\n#")
}

fn ends_with_boundary(file: &File, len: u64) -> io::Result<bool> {
    if len < 2 {
        return Ok(false);
    }
    let mut last = [0u8; 2];
    file.read_exact_at(&mut last, len - 2)?;
    Ok(&last == b";\n")
}
