//! A streaming reader of MySQL 5.7/8.0, Percona Server and MariaDB slow query logs.
//!
//! Entries are cut exactly where pt-query-digest 3.2.1's `SlowLogParser` cuts them: records end
//! at `;\n#`, the first line that is not a `#`, `use ` or `SET timestamp` line starts the query,
//! and the query runs to the end of the record. Reading the same bytes the same way is what
//! makes counts and query IDs agree with it. Memory is one buffer of at most
//! [`DEFAULT_MAX_ENTRY_BYTES`] plus the entry being parsed, whatever the size of the log.

use std::collections::VecDeque;
use std::io::{self, Read};

/// Largest entry kept; a longer one is skipped and counted in [`Parser::oversized`].
pub const DEFAULT_MAX_ENTRY_BYTES: usize = 16 << 20;

const RECORD_SEPARATOR: &[u8] = b";\n#";
const LINE_SEPARATOR: &[u8] = b";\n";
const READ_SIZE: usize = 256 << 10;

/// One slow log entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// The statement as logged (pt-query-digest's `arg`).
    pub query: Vec<u8>,
    pub query_time: f64,
    pub lock_time: f64,
    pub rows_sent: f64,
    pub rows_examined: f64,
    /// The `Schema:` attribute (MariaDB, Percona Server), else the entry's `use` database.
    pub database: Option<String>,
    /// Unix seconds: `SET timestamp=`, else the `# Time:` line, else the last time seen before.
    pub timestamp: Option<i64>,
}

/// Splits a byte stream into Perl-style records that end with a separator.
struct Records<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    searched: usize,
    eof: bool,
    max: usize,
}

enum Record {
    Data(Vec<u8>),
    Oversized,
}

impl<R: Read> Records<R> {
    fn new(input: R, max: usize) -> Records<R> {
        Records {
            input,
            buf: Vec::with_capacity(READ_SIZE),
            start: 0,
            searched: 0,
            eof: false,
            max,
        }
    }

    /// The next record including its separator `sep` (the last one may lack it); with
    /// `hash_first`, a `#` is put in front unless it starts with one (it ended the separator).
    fn next(&mut self, sep: &[u8], hash_first: bool) -> io::Result<Option<Record>> {
        let mut oversized = false;
        loop {
            let from = self.start + self.searched;
            if let Some(n) = find_separator(&self.buf[from..], sep) {
                let end = from + n + sep.len();
                let record = if oversized || end - self.start > self.max {
                    Record::Oversized
                } else {
                    Record::Data(owned(&self.buf[self.start..end], hash_first))
                };
                self.start = end;
                self.searched = 0;
                return Ok(Some(record));
            }
            let pending = self.buf.len() - self.start;
            self.searched = pending.saturating_sub(sep.len() - 1);
            if pending > self.max {
                // Keep the tail that may hold the start of a separator.
                oversized = true;
                self.start += self.searched;
                self.searched = 0;
            }
            if self.eof {
                return Ok(self.take_rest(oversized, hash_first));
            }
            self.fill()?;
        }
    }

    fn take_rest(&mut self, oversized: bool, hash_first: bool) -> Option<Record> {
        if self.start == self.buf.len() {
            return oversized.then_some(Record::Oversized);
        }
        let record = if oversized || self.buf.len() - self.start > self.max {
            Record::Oversized
        } else {
            Record::Data(owned(&self.buf[self.start..], hash_first))
        };
        self.start = self.buf.len();
        self.searched = 0;
        Some(record)
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_SIZE, 0);
        let n = loop {
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        self.eof = n == 0;
        Ok(())
    }
}

/// A copy of `record`, with a `#` in front when asked and missing.
fn owned(record: &[u8], hash_first: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 1);
    if hash_first && !record.starts_with(b"#") {
        out.push(b'#');
    }
    out.extend_from_slice(record);
    out
}

/// Reads [`Event`]s from a slow log.
pub struct Parser<R> {
    records: Records<R>,
    pending: VecDeque<Vec<u8>>,
    last_timestamp: Option<i64>,
    oversized: u64,
}

impl<R: Read> Parser<R> {
    pub fn new(input: R) -> Parser<R> {
        Parser::with_max_entry_bytes(input, DEFAULT_MAX_ENTRY_BYTES)
    }

    pub fn with_max_entry_bytes(input: R, max: usize) -> Parser<R> {
        Parser {
            records: Records::new(input, max),
            pending: VecDeque::new(),
            last_timestamp: None,
            oversized: 0,
        }
    }

    /// Entries skipped so far because they were longer than the limit.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// The next entry that has a query, or `None` at the end of the input.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        while let Some(mut stmt) = self.next_stmt()? {
            if !stmt.starts_with(b"#") {
                stmt.insert(0, b'#');
            }
            strip_record_end(&mut stmt);
            if let Some(event) = self.parse(stmt)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    fn next_stmt(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(stmt) = self.pending.pop_front() {
            return Ok(Some(stmt));
        }
        loop {
            match self.records.next(RECORD_SEPARATOR, true)? {
                None => return Ok(None),
                Some(Record::Oversized) => self.oversized += 1,
                Some(Record::Data(stmt)) => return Ok(Some(self.drop_headers(stmt))),
            }
        }
    }

    /// Drops the server's start-up banner lines; if that joins records, splits them again.
    fn drop_headers(&mut self, stmt: Vec<u8>) -> Vec<u8> {
        if !has_header_line(&stmt) {
            return stmt;
        }
        let mut kept = Vec::with_capacity(stmt.len());
        for line in stmt.split_inclusive(|&b| b == b'\n') {
            if !(line.ends_with(b"\n") && is_header_line(line)) {
                kept.extend_from_slice(line);
            }
        }
        let mut chunks: Vec<Vec<u8>> = split_on(&kept, RECORD_SEPARATOR);
        while chunks.last().is_some_and(|c| c.is_empty()) {
            chunks.pop();
        }
        if chunks.len() <= 1 {
            return kept;
        }
        let first = chunks.remove(0);
        for chunk in chunks.into_iter().rev() {
            self.pending.push_front(chunk);
        }
        first
    }

    fn parse(&mut self, stmt: Vec<u8>) -> io::Result<Option<Event>> {
        let mut event = Event::default();
        let mut state = LineState::default();
        let mut query: Option<Vec<u8>> = None;
        // Where the query starts in `stmt`, when it is the rest of the record.
        let mut tail: Option<usize> = None;
        let mut line_start = 0;
        loop {
            let line_end =
                memchr::memchr(b'\n', &stmt[line_start..]).map_or(stmt.len(), |n| line_start + n);
            let line = &stmt[line_start..line_end];
            if !is_meta_line(line) {
                tail = Some(line_start);
                break;
            }
            if let Some(arg) = state.meta_line(line, &mut event) {
                query = Some(arg);
            }
            if query.is_none() && line_end == stmt.len() {
                query = self.query_after_meta_only_record()?;
            }
            // Like Perl's `/^(.*)$/mg`, no empty line after a final newline.
            if line_end + 1 >= stmt.len() {
                break;
            }
            line_start = line_end + 1;
        }
        let timestamp = state.set_timestamp.or(state.time_line);
        if timestamp.is_some() {
            self.last_timestamp = timestamp;
        }
        event.timestamp = self.last_timestamp;
        if event.database.is_none() {
            event.database = state.use_db;
        }
        if let Some(start) = tail {
            let mut stmt = stmt;
            stmt.drain(..start);
            query = Some(stmt);
        }
        match query {
            Some(q) if !q.is_empty() && q != b"0" => {
                event.query = q;
                Ok(Some(event))
            }
            _ => Ok(None),
        }
    }

    /// A record made only of header lines ends where an administrator command follows
    /// (`SET timestamp=1;\n# administrator command: Quit;`), or where the next entry starts.
    fn query_after_meta_only_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        let line = match self.records.next(LINE_SEPARATOR, false)? {
            Some(Record::Data(line)) => line,
            Some(Record::Oversized) => {
                self.oversized += 1;
                return Ok(None);
            }
            None => return Ok(None),
        };
        if looks_like_attribute(&line) {
            let rest = match self.records.next(RECORD_SEPARATOR, false)? {
                Some(Record::Data(rest)) => rest,
                _ => Vec::new(),
            };
            let mut joined = line;
            joined.extend_from_slice(&rest);
            self.pending.push_back(joined);
            return Ok(Some(b"/* No query */".to_vec()));
        }
        let mut arg: &[u8] = line.strip_suffix(LINE_SEPARATOR).unwrap_or(&line);
        while arg.first().is_some_and(|&b| is_space(b)) {
            arg = &arg[1..];
        }
        Ok(Some(arg.to_vec()))
    }
}

/// What the header lines of one entry have said so far.
#[derive(Default)]
struct LineState {
    got_time: bool,
    got_user: bool,
    got_admin: bool,
    got_db: bool,
    got_set: bool,
    time_line: Option<i64>,
    set_timestamp: Option<i64>,
    use_db: Option<String>,
}

impl LineState {
    /// Reads one header line into `event`; returns the query when the line is an
    /// administrator command.
    fn meta_line(&mut self, line: &[u8], event: &mut Event) -> Option<Vec<u8>> {
        if !self.got_time && line.starts_with(b"# Time: ") {
            if let Some(ts) = parse_time_line(&line[8..]) {
                self.got_time = true;
                self.time_line = Some(ts);
                self.got_user = self.got_user || is_user_line(line);
                return None;
            }
        }
        if !self.got_user && is_user_line(line) {
            self.got_user = true;
        } else if !self.got_admin && line.starts_with(b"# administrator command:") {
            self.got_admin = true;
            let mut arg = &line[1..];
            while arg.first().is_some_and(|&b| is_space(b)) {
                arg = &arg[1..];
            }
            return Some(arg.to_vec());
        } else if is_attribute_line(line) {
            read_attributes(line, event);
        } else if !self.got_db && line.starts_with(b"use ") {
            let name = &line[4..];
            let end = memchr::memchr(b';', name).unwrap_or(name.len());
            if end > 0 {
                self.got_db = true;
                self.use_db = Some(String::from_utf8_lossy(&name[..end]).into_owned());
            }
        } else if !self.got_set && line.starts_with(b"SET") {
            self.read_set(&line[3..]);
        }
        None
    }

    fn read_set(&mut self, rest: &[u8]) {
        let start = rest
            .iter()
            .position(|&b| !is_space(b))
            .unwrap_or(rest.len());
        if start == 0 {
            return;
        }
        self.got_set = true;
        let rest = &rest[start..];
        let setting = &rest[..memchr::memchr(b';', rest).unwrap_or(rest.len())];
        for pair in setting.split(|&b| b == b',') {
            let text = String::from_utf8_lossy(pair);
            if let Some((name, value)) = text.split_once('=') {
                if name.trim() == "timestamp" {
                    self.set_timestamp = value.trim().parse::<f64>().ok().map(|t| t as i64);
                }
            }
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `^(?:#|use |SET (?:last_insert_id|insert_id|timestamp))`.
fn is_meta_line(line: &[u8]) -> bool {
    line.starts_with(b"#")
        || line.starts_with(b"use ")
        || line.starts_with(b"SET last_insert_id")
        || line.starts_with(b"SET insert_id")
        || line.starts_with(b"SET timestamp")
}

fn is_user_line(line: &[u8]) -> bool {
    crate::find!(b"# User@Host: ", line).is_some()
}

/// `^# +[A-Z][A-Za-z_]+: \S+`.
fn is_attribute_line(line: &[u8]) -> bool {
    let mut i = 1;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    if i == 1 || !line.get(i).is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    i += 1;
    let name_start = i;
    while line
        .get(i)
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
    {
        i += 1;
    }
    i > name_start
        && line.get(i) == Some(&b':')
        && line.get(i + 1) == Some(&b' ')
        && line.get(i + 2).is_some_and(|&b| !is_space(b))
}

/// `^\s*[A-Z][a-z_]+: `.
fn looks_like_attribute(line: &[u8]) -> bool {
    let start = line
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(line.len());
    let rest = &line[start..];
    if !rest.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let n = rest[1..]
        .iter()
        .take_while(|&&b| b.is_ascii_lowercase() || b == b'_')
        .count();
    n > 0 && rest[1 + n..].starts_with(b": ")
}

/// The `(\w+):\s+(\S+|\Z)` pairs of an attribute line, after dropping an empty `Schema:`.
fn read_attributes(line: &[u8], event: &mut Event) {
    // Driven by the colons: each pair is the word run before a `:` that is followed by
    // whitespace, and its value the next run of non-space bytes.
    let mut consumed = 0;
    let mut from = 0;
    while let Some(n) = memchr::memchr(b':', &line[from..]) {
        let colon = from + n;
        from = colon + 1;
        let start = line[consumed..colon]
            .iter()
            .rposition(|&b| !is_word(b))
            .map_or(consumed, |p| consumed + p + 1);
        if start == colon || !line.get(colon + 1).is_some_and(|&b| is_space(b)) {
            continue;
        }
        let mut j = colon + 1;
        while j < line.len() && is_space(line[j]) {
            j += 1;
        }
        let value_end = j + line[j..].iter().take_while(|&&b| !is_space(b)).count();
        let name = &line[start..colon];
        let value = &line[j..value_end];
        if name == b"Schema" && value.ends_with(b":") {
            // An empty schema: `Schema:   QC_hit: No`.
            consumed = j;
            from = j;
            continue;
        }
        set_attribute(event, name, value);
        consumed = value_end;
        from = from.max(value_end);
    }
}

fn set_attribute(event: &mut Event, name: &[u8], value: &[u8]) {
    let number = || {
        std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    match name {
        b"Query_time" => event.query_time = number(),
        b"Lock_time" => event.lock_time = number(),
        b"Rows_sent" => event.rows_sent = number(),
        b"Rows_examined" => event.rows_examined = number(),
        b"Schema" if !value.is_empty() => {
            event.database = Some(String::from_utf8_lossy(value).into_owned());
        }
        _ => {}
    }
}

/// `# Time:` values: `YYMMDD H:MM:SS` (MySQL 5.6, MariaDB) or ISO 8601 (MySQL 5.7 and later),
/// read as UTC.
fn parse_time_line(value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.len() >= 19 && text.as_bytes()[4] == b'-' {
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        return Some(unix_time(y, mo, d, h, mi, s));
    }
    let (date, time) = text.split_once(' ')?;
    if date.len() != 6 {
        return None;
    }
    let num = |s: &str| s.trim().parse::<i64>().ok();
    let (y, mo, d) = (num(&date[0..2])?, num(&date[2..4])?, num(&date[4..6])?);
    let mut parts = time.trim().split(':');
    let h = num(parts.next()?)?;
    let mi = num(parts.next()?)?;
    let s = num(parts.next()?)?;
    Some(unix_time(2000 + y, mo, d, h, mi, s))
}

/// Seconds since 1970 of a UTC civil time (Howard Hinnant's days-from-civil).
pub fn unix_time(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + min * 60 + sec
}

/// `s/;\n#?\Z//`: the record separator (or the last record's `;\n`) is not part of the query.
fn strip_record_end(stmt: &mut Vec<u8>) {
    for (suffix, keep) in [
        (&b";\n#\n"[..], 1),
        (b";\n\n", 1),
        (b";\n#", 0),
        (b";\n", 0),
    ] {
        if stmt.ends_with(suffix) {
            let len = stmt.len() - suffix.len();
            let tail = suffix[suffix.len() - keep..].to_vec();
            stmt.truncate(len);
            stmt.extend_from_slice(&tail);
            return;
        }
    }
}

/// The two separators, with finders built once.
fn find_separator(haystack: &[u8], sep: &[u8]) -> Option<usize> {
    if sep == RECORD_SEPARATOR {
        crate::find!(RECORD_SEPARATOR, haystack)
    } else {
        crate::find!(LINE_SEPARATOR, haystack)
    }
}

fn split_on(data: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for at in memchr::memmem::find_iter(data, sep) {
        chunks.push(data[start..at].to_vec());
        start = at + sep.len();
    }
    chunks.push(data[start..].to_vec());
    chunks
}

fn has_header_line(stmt: &[u8]) -> bool {
    crate::find!(b"ort:", stmt).is_some()
        || crate::find!(b"mysqld,", stmt).is_some()
        || crate::find!(b"Command", stmt).is_some()
}

/// The banner a server writes when it opens its slow log (pt-query-digest's `slow_log_hd_line`).
fn is_header_line(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let b = line;
    let tcp = b.len() > 9
        && b[0] == b'T'
        && b[1].eq_ignore_ascii_case(&b'c')
        && b[2].eq_ignore_ascii_case(&b'p')
        && is_space(b[3])
        && b[4].eq_ignore_ascii_case(&b'p')
        && &b[5..9] == b"ort:"
        && {
            let rest = &b[9..];
            let spaces = rest.iter().take_while(|&&c| is_space(c)).count();
            spaces > 0 && rest.get(spaces).is_some_and(u8::is_ascii_digit)
        };
    let banner = matches!(b.first(), Some(b'/' | b'A'..=b'Z'))
        && text.find("mysqld,").is_some_and(|at| {
            let after = &text[at + 7..];
            after.starts_with(|c: char| c.is_ascii_whitespace())
                && after[1..].starts_with("Version")
                && (after.contains("started") && has_spaced(after, "started", "with:")
                    || has_spaced(after, "embedded", "library"))
        });
    let columns = text.starts_with("Time")
        && {
            let mut words = text.split_ascii_whitespace();
            words.next() == Some("Time")
                && words.next() == Some("Id")
                && words.next() == Some("Command")
        }
        && text.as_bytes().get(4).is_some_and(|&c| is_space(c));
    tcp || banner || columns
}

/// Whether `text` holds `a`, one whitespace character, then `b`.
fn has_spaced(text: &str, a: &str, b: &str) -> bool {
    text.match_indices(a).any(|(at, _)| {
        let rest = &text[at + a.len()..];
        rest.starts_with(|c: char| c.is_ascii_whitespace()) && rest[1..].starts_with(b)
    })
}

#[cfg(test)]
mod tests;
