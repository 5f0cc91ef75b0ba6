//! Query fingerprints and query IDs exactly as pt-query-digest 3.2.1 computes them.
//!
//! pt-query-digest rewrites a query with a fixed sequence of Perl regular expressions. Each step
//! below reproduces one of them, in the same order, as a byte loop over the query: the quirks
//! that follow from the order (numbers inside identifiers, `db1.` eaten by the number rule, a
//! trailing space left by a removed comment) are kept on purpose, because the query ID is the MD5
//! of the result and a single byte of difference gives another ID. Perl's byte-string semantics
//! apply: `\s` and `\w` are ASCII only and lowercasing touches ASCII letters only.

use md5::{Digest, Md5};

/// Options of the rewriter, as pt-query-digest's flags name them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `--preserve-embedded-numbers`: digits inside identifiers are kept (`users_2009`).
    pub preserve_embedded_numbers: bool,
}

/// The fingerprint of `query` with default options.
pub fn fingerprint(query: &[u8]) -> Vec<u8> {
    fingerprint_with(query, Options::default())
}

/// The query ID of a fingerprint: the 32 hex digits of its MD5, uppercase.
pub fn query_id(fingerprint: &[u8]) -> String {
    let digest = Md5::digest(fingerprint);
    let mut id = String::with_capacity(32);
    for byte in digest {
        id.push_str(&format!("{byte:02X}"));
    }
    id
}

/// The fingerprint of `query`: pt-query-digest's `QueryRewriter::fingerprint`.
pub fn fingerprint_with(query: &[u8], options: Options) -> Vec<u8> {
    if let Some(special) = special_case(query) {
        return special;
    }
    // Each step runs only when its pattern can occur: most queries skip most steps.
    let mut q = shorten_multi_row_insert(query).to_vec();
    if crate::find!(b"/*", &q).is_some() {
        q = remove_block_comments(&q);
    }
    q = remove_line_comments(&q);
    if let Some(use_db) = abstract_use(&q) {
        return use_db;
    }
    if memchr::memchr(b'\\', &q).is_some() {
        q = remove_escaped_quotes(&q);
    }
    for quote in [b'"', b'\''] {
        if memchr::memchr(quote, &q).is_some() {
            q = replace_quoted(&q, quote);
        }
    }
    q = replace_booleans(&q);
    q = replace_numbers(&q, options.preserve_embedded_numbers);
    q = clean_number_leftovers(&q);
    q = collapse_whitespace_and_lowercase(&q);
    if crate::find!(b"null", &q).is_some() {
        q = replace_word(&q, b"null");
    }
    if memchr::memchr(b'(', &q).is_some() {
        q = collapse_lists(&q);
    }
    if crate::find!(b"union", &q).is_some() {
        q = collapse_unions(&q);
    }
    if crate::find!(b"limit ?", &q).is_some() {
        q = collapse_limit(&q);
    }
    if crate::find!(b"order by ", &q).is_some() {
        q = remove_order_by_asc(q);
    }
    q
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Perl's `\b` between positions `at - 1` and `at`.
fn is_boundary(s: &[u8], at: usize) -> bool {
    let before = at > 0 && is_word(s[at - 1]);
    let after = at < s.len() && is_word(s[at]);
    before != after
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// mysqldump, pt-table-checksum, administrator commands and CALL, which return at once.
fn special_case(q: &[u8]) -> Option<Vec<u8>> {
    if q.starts_with(b"SELECT /*!40001 SQL_NO_CACHE */ * FROM `") {
        return Some(b"mysqldump".to_vec());
    }
    if has_toolkit_comment(q) {
        return Some(b"percona-toolkit".to_vec());
    }
    if q.starts_with(b"administrator command: ") {
        return Some(q.to_vec());
    }
    call_name(q).map(|name| name.to_ascii_lowercase())
}

/// `/\*\w+\.\w+:[0-9]/[0-9]\*/` anywhere.
fn has_toolkit_comment(q: &[u8]) -> bool {
    memchr::memmem::find_iter(q, b"/*").any(|start| {
        let mut i = start + 2;
        let words = |i: &mut usize| {
            let begin = *i;
            while *i < q.len() && is_word(q[*i]) {
                *i += 1;
            }
            *i > begin
        };
        words(&mut i)
            && q.get(i) == Some(&b'.')
            && {
                i += 1;
                words(&mut i)
            }
            && q[i..].len() >= 6
            && q[i] == b':'
            && q[i + 1].is_ascii_digit()
            && q[i + 2] == b'/'
            && q[i + 3].is_ascii_digit()
            && &q[i + 4..i + 6] == b"*/"
    })
}

/// `\A\s*(call\s+\S+)\(` case-insensitively: the capture, whose `\S+` ends at the last `(` of
/// the name's run of non-space bytes.
fn call_name(q: &[u8]) -> Option<&[u8]> {
    let start = q.iter().position(|&b| !is_space(b))?;
    if !starts_with_ci(&q[start..], b"call") {
        return None;
    }
    let mut i = start + 4;
    let spaces = i;
    while i < q.len() && is_space(q[i]) {
        i += 1;
    }
    if i == spaces {
        return None;
    }
    let run_end = q[i..]
        .iter()
        .position(|&b| is_space(b))
        .map_or(q.len(), |n| i + n);
    let paren = q[i + 1..run_end].iter().rposition(|&b| b == b'(')?;
    Some(&q[start..i + 1 + paren])
}

/// `\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(` (case-insensitive,
/// `.` matching newlines): a multi-row insert keeps its first row only.
fn shorten_multi_row_insert(q: &[u8]) -> &[u8] {
    let mut i = if starts_with_ci(q, b"insert") {
        6
    } else if starts_with_ci(q, b"replace") {
        7
    } else {
        return q;
    };
    if starts_with_ci(&q[i..], b" ignore") {
        i += 7;
    }
    let spaces = i;
    while i < q.len() && is_space(q[i]) {
        i += 1;
    }
    if i == spaces || !starts_with_ci(&q[i..], b"into") {
        return q;
    }
    let mut from = i + 5;
    while from + 6 <= q.len() {
        let Some(at) = find_ci(&q[from..], b"values").map(|n| from + n) else {
            return q;
        };
        let mut j = at + 6;
        while j < q.len() && is_space(q[j]) {
            j += 1;
        }
        if q.get(j) == Some(&b'(') {
            if let Some(end) = first_row_end(q, j + 1) {
                return &q[..end];
            }
        }
        from = at + 1;
    }
    q
}

/// The end (after `)`) of the first `)` from `from` that is followed by `\s*,\s*\(`.
fn first_row_end(q: &[u8], from: usize) -> Option<usize> {
    for close in memchr::memchr_iter(b')', &q[from..]).map(|n| from + n) {
        let mut k = close + 1;
        while k < q.len() && is_space(q[k]) {
            k += 1;
        }
        if q.get(k) != Some(&b',') {
            continue;
        }
        k += 1;
        while k < q.len() && is_space(q[k]) {
            k += 1;
        }
        if q.get(k) == Some(&b'(') {
            return Some(close + 1);
        }
    }
    None
}

fn find_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// `s#/\*[^!].*?\*/##smg`: block comments, but not `/*!version ... */`.
fn remove_block_comments(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while let Some(n) = crate::find!(b"/*", &q[i..]) {
        let start = i + n;
        let body = start + 2;
        if body < q.len() && q[body] != b'!' {
            if let Some(m) = crate::find!(b"*/", &q[body + 1..]) {
                out.extend_from_slice(&q[i..start]);
                i = body + 1 + m + 2;
                continue;
            }
        }
        out.extend_from_slice(&q[i..start + 1]);
        i = start + 1;
    }
    out.extend_from_slice(&q[i..]);
    out
}

/// `s/(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)//g`: a `--` or `#` comment running to the end of its line,
/// unless a quote comes first.
fn remove_line_comments(q: &[u8]) -> Vec<u8> {
    if memchr::memchr2(b'#', b'-', q).is_none() {
        return q.to_vec();
    }
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        let starts = q[i] == b'#' || (q[i] == b'-' && q.get(i + 1) == Some(&b'-'));
        if starts {
            let stop = q[i..]
                .iter()
                .position(|&b| matches!(b, b'\'' | b'"' | b'\r' | b'\n'))
                .map_or(q.len(), |n| i + n);
            if stop == q.len() || matches!(q[stop], b'\r' | b'\n') {
                i = stop;
                continue;
            }
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// `s/\Ause \S+\Z/use ?/i`, which ends the rewrite.
fn abstract_use(q: &[u8]) -> Option<Vec<u8>> {
    if !starts_with_ci(q, b"use ") {
        return None;
    }
    let rest = &q[4..];
    let (name, newline) = match rest.strip_suffix(b"\n") {
        Some(name) => (name, true),
        None => (rest, false),
    };
    if name.is_empty() || name.iter().any(|&b| is_space(b)) {
        return None;
    }
    let mut out = b"use ?".to_vec();
    if newline {
        out.push(b'\n');
    }
    Some(out)
}

/// `s/\\["']//g`.
fn remove_escaped_quotes(q: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'\\', q).is_none() {
        return q.to_vec();
    }
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if q[i] == b'\\' && matches!(q.get(i + 1), Some(b'"' | b'\'')) {
            i += 2;
            continue;
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// `s/Q.*?Q/?/sg` for the quote `Q`: each pair of quotes and what is between them.
fn replace_quoted(q: &[u8], quote: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while let Some(n) = memchr::memchr(quote, &q[i..]) {
        let open = i + n;
        let Some(m) = memchr::memchr(quote, &q[open + 1..]) else {
            break;
        };
        out.extend_from_slice(&q[i..open]);
        out.push(b'?');
        i = open + 1 + m + 1;
    }
    out.extend_from_slice(&q[i..]);
    out
}

/// `s/\bfalse\b|\btrue\b/?/isg`.
fn replace_booleans(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if matches!(q[i], b'f' | b'F' | b't' | b'T') && is_boundary(q, i) {
            let words: [&[u8]; 2] = [b"false", b"true"];
            let word = words
                .iter()
                .find(|w| starts_with_ci(&q[i..], w) && is_boundary(q, i + w.len()));
            if let Some(word) = word {
                out.push(b'?');
                i += word.len();
                continue;
            }
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// `s/[0-9+-][0-9a-f.xb+-]*/?/g`, or with `\b` in front when embedded numbers are preserved.
fn replace_numbers(q: &[u8], preserve_embedded: bool) -> Vec<u8> {
    let starts = |b: u8| b.is_ascii_digit() || b == b'+' || b == b'-';
    let continues = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'.' | b'x' | b'+' | b'-');
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if starts(q[i]) && (!preserve_embedded || is_boundary(q, i)) {
            i += 1;
            while i < q.len() && continues(q[i]) {
                i += 1;
            }
            out.push(b'?');
            continue;
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// `s/[xb.+-]\?/?/g`.
fn clean_number_leftovers(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut copied = 0;
    let mut from = 1;
    while let Some(n) = q.get(from..).and_then(|rest| memchr::memchr(b'?', rest)) {
        let mark = from + n;
        // A match consumed by the previous replacement cannot start another.
        if mark > copied && matches!(q[mark - 1], b'x' | b'b' | b'.' | b'+' | b'-') {
            out.extend_from_slice(&q[copied..mark - 1]);
            out.push(b'?');
            copied = mark + 1;
        }
        from = mark + 1;
    }
    out.extend_from_slice(&q[copied..]);
    out
}

/// `s/\A\s+//`, `chomp`, `tr[ \n\t\r\f][ ]s` and `lc`.
fn collapse_whitespace_and_lowercase(q: &[u8]) -> Vec<u8> {
    let start = q.iter().position(|&b| !is_space(b)).unwrap_or(q.len());
    let mut q = &q[start..];
    if let Some(chomped) = q.strip_suffix(b"\n") {
        q = chomped;
    }
    let mut out = Vec::with_capacity(q.len());
    let mut in_run = false;
    for &b in q {
        if matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\x0c') {
            if !in_run {
                out.push(b' ');
            }
            in_run = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// `s/\bWORD\b/?/g` on an already lowercased query.
fn replace_word(q: &[u8], word: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if q[i..].starts_with(word) && is_boundary(q, i) && is_boundary(q, i + word.len()) {
            out.push(b'?');
            i += word.len();
            continue;
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// `s/\b(in|values?)(?:[\s,]*\([\s?,]*\))+/$1(?+)/g`.
fn collapse_lists(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if matches!(q[i], b'i' | b'v') && is_boundary(q, i) {
            let words: [&[u8]; 3] = [b"in", b"values", b"value"];
            let found = words
                .iter()
                .filter(|w| q[i..].starts_with(w))
                .find_map(|w| list_groups_end(q, i + w.len()).map(|end| (w, end)));
            if let Some((word, end)) = found {
                out.extend_from_slice(word);
                out.extend_from_slice(b"(?+)");
                i = end;
                continue;
            }
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// The end of `(?:[\s,]*\([\s?,]*\))+` from `from`, if at least one group matches.
fn list_groups_end(q: &[u8], from: usize) -> Option<usize> {
    let mut end = None;
    let mut i = from;
    loop {
        while i < q.len() && (is_space(q[i]) || q[i] == b',') {
            i += 1;
        }
        if q.get(i) != Some(&b'(') {
            return end;
        }
        i += 1;
        while i < q.len() && (is_space(q[i]) || q[i] == b',' || q[i] == b'?') {
            i += 1;
        }
        if q.get(i) != Some(&b')') {
            return end;
        }
        i += 1;
        end = Some(i);
    }
}

/// `s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//g`.
fn collapse_unions(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    let mut i = 0;
    while i < q.len() {
        if q[i] == b's' && is_boundary(q, i) && q[i..].starts_with(b"select") {
            if let Some((group_end, union, end)) = repeated_select(q, i) {
                out.extend_from_slice(&q[i..group_end]);
                out.extend_from_slice(b" /*repeat");
                out.extend_from_slice(union);
                out.extend_from_slice(b"*/");
                i = end;
                continue;
            }
        }
        out.push(q[i]);
        i += 1;
    }
    out
}

/// For a `select` at `start`: the shortest `select\s.*?` that is repeated after a union, with
/// the end of that group, the last union text and the end of the whole match.
fn repeated_select(q: &[u8], start: usize) -> Option<(usize, &[u8], usize)> {
    if !q.get(start + 6).is_some_and(|&b| is_space(b)) {
        return None;
    }
    let line_end = memchr::memchr(b'\n', &q[start..]).map_or(q.len(), |n| start + n);
    for group_end in start + 7..=line_end {
        let group = &q[start..group_end];
        let mut at = group_end;
        let mut last_union = None;
        while let Some((union, next)) = union_then(q, at, group) {
            last_union = Some(union);
            at = next;
        }
        if let Some(union) = last_union {
            return Some((group_end, union, at));
        }
    }
    None
}

/// `(\sunion(?:\sall)?)\s\1` at `at`: the union text and the end of the repeated group.
fn union_then<'q>(q: &'q [u8], at: usize, group: &[u8]) -> Option<(&'q [u8], usize)> {
    let rest = &q[at..];
    if rest.len() < 7 || !is_space(rest[0]) || &rest[1..6] != b"union" {
        return None;
    }
    let with_all = rest.len() >= 10 && is_space(rest[6]) && &rest[7..10] == b"all";
    for union_len in [10, 6] {
        if union_len == 10 && !with_all {
            continue;
        }
        let after = &rest[union_len..];
        if !after.is_empty() && is_space(after[0]) && after[1..].starts_with(group) {
            return Some((&rest[..union_len], at + union_len + 1 + group.len()));
        }
    }
    None
}

/// `s/\blimit \?(?:, ?\?| offset \?)?/limit ?/`, once.
fn collapse_limit(q: &[u8]) -> Vec<u8> {
    let mut from = 0;
    while let Some(n) = crate::find!(b"limit ?", &q[from..]) {
        let at = from + n;
        if !is_boundary(q, at) {
            from = at + 1;
            continue;
        }
        let mut end = at + 7;
        let rest = &q[end..];
        if rest.starts_with(b", ?") {
            end += 3;
        } else if rest.starts_with(b",?") {
            end += 2;
        } else if rest.starts_with(b" offset ?") {
            end += 9;
        }
        let mut out = q[..at].to_vec();
        out.extend_from_slice(b"limit ?");
        out.extend_from_slice(&q[end..]);
        return out;
    }
    q.to_vec()
}

/// After the first `\bORDER BY ` (case-insensitive), `1 while s/\G(.+?)\s+ASC/$1/gi`: every
/// whitespace-preceded `asc` is dropped, even at the start of a longer word.
fn remove_order_by_asc(q: Vec<u8>) -> Vec<u8> {
    let anchor = (0..q.len()).find(|&i| {
        matches!(q[i], b'o' | b'O') && starts_with_ci(&q[i..], b"order by ") && is_boundary(&q, i)
    });
    let Some(anchor) = anchor else {
        return q;
    };
    let mut out = q[..anchor + 9].to_vec();
    let mut pos = anchor + 9;
    loop {
        let mut i = pos + 1;
        let found = loop {
            if i >= q.len() || q[i] == b'\n' || q[i - 1] == b'\n' {
                break None;
            }
            if is_space(q[i]) {
                let mut j = i;
                while j < q.len() && is_space(q[j]) {
                    j += 1;
                }
                if starts_with_ci(&q[j..], b"asc") {
                    break Some((i, j + 3));
                }
            }
            i += 1;
        };
        match found {
            Some((space, end)) => {
                out.extend_from_slice(&q[pos..space]);
                pos = end;
            }
            None => break,
        }
    }
    out.extend_from_slice(&q[pos..]);
    out
}

#[cfg(test)]
mod tests;
