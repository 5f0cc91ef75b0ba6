//! The HTTP `Link` header (RFC 8288 §3), read strictly, and the `rel="ice-server"` links with
//! which a WHIP endpoint announces its STUN and TURN servers (RFC 9725 §4.6).
//!
//! The crates found for Link headers flatten quoted strings or key the links by relation, which
//! loses all but one of several ice-server links; this parser keeps every link in order.
//! Errors give the byte position, never the header's text: it may carry a credential.

use std::fmt;

use exporter_kit::Secret;

/// One link: the target URI and its parameters, names lowercased, in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub uri: String,
    pub params: Vec<(String, String)>,
}

impl Link {
    /// The first occurrence of parameter `name`; RFC 8288 has later ones ignored.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `rel` names `relation` among its space-separated relation types.
    pub fn has_rel(&self, relation: &str) -> bool {
        self.param("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case(relation))
        })
    }
}

/// A header that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("expected {expected} at byte {at}")]
    Expected { expected: &'static str, at: usize },
    #[error("unterminated {what} starting at byte {at}")]
    Unterminated { what: &'static str, at: usize },
    #[error("the header is not visible ASCII")]
    NotAscii,
    #[error("ice-server link {index}: {problem}")]
    IceServer { index: usize, problem: String },
}

/// Parses one `Link` header value: `<URI> *( ";" param )` links separated by commas.
pub fn parse(header: &str) -> Result<Vec<Link>, LinkError> {
    let mut cursor = Cursor {
        text: header.as_bytes(),
        at: 0,
    };
    let mut links = Vec::new();
    loop {
        cursor.skip_whitespace();
        // Empty list elements are allowed (RFC 9110 §5.6.1).
        if cursor.eat(b',') {
            continue;
        }
        if cursor.done() {
            return Ok(links);
        }
        links.push(cursor.link()?);
        cursor.skip_whitespace();
        if !cursor.done() && !cursor.eat(b',') {
            return Err(cursor.expected("',' between links"));
        }
    }
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn expected(&self, expected: &'static str) -> LinkError {
        LinkError::Expected {
            expected,
            at: self.at,
        }
    }

    fn link(&mut self) -> Result<Link, LinkError> {
        let start = self.at;
        if !self.eat(b'<') {
            return Err(self.expected("'<' opening a link"));
        }
        let uri_start = self.at;
        while let Some(byte) = self.peek() {
            match byte {
                b'>' => break,
                b'<' | b' ' | b'\t' | b'"' => return Err(self.expected("'>' closing the URI")),
                _ => self.at += 1,
            }
        }
        if !self.eat(b'>') {
            let what = "URI reference";
            return Err(LinkError::Unterminated { what, at: start });
        }
        let uri = self.slice(uri_start, self.at - 1);
        let mut params = Vec::new();
        loop {
            self.skip_whitespace();
            if !self.eat(b';') {
                return Ok(Link { uri, params });
            }
            self.skip_whitespace();
            params.push(self.param()?);
        }
    }

    fn param(&mut self) -> Result<(String, String), LinkError> {
        let name = self.token();
        if name.is_empty() {
            return Err(self.expected("a parameter name"));
        }
        self.skip_whitespace();
        if !self.eat(b'=') {
            return Ok((name.to_ascii_lowercase(), String::new()));
        }
        self.skip_whitespace();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            let value = self.token();
            if value.is_empty() {
                return Err(self.expected("a token or quoted string"));
            }
            value
        };
        Ok((name.to_ascii_lowercase(), value))
    }

    /// A token (RFC 9110 §5.6.2); empty when none starts here.
    fn token(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_token_byte) {
            self.at += 1;
        }
        self.slice(start, self.at)
    }

    /// A quoted string with backslash escapes (RFC 9110 §5.6.4), without its quotes.
    fn quoted(&mut self) -> Result<String, LinkError> {
        let start = self.at;
        self.at += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => {
                    let what = "quoted string";
                    return Err(LinkError::Unterminated { what, at: start });
                }
                Some(b'"') => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&value).into_owned());
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self.peek().ok_or(LinkError::Unterminated {
                        what: "quoted string",
                        at: start,
                    })?;
                    value.push(escaped);
                    self.at += 1;
                }
                Some(byte) => {
                    value.push(byte);
                    self.at += 1;
                }
            }
        }
    }

    fn slice(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.text[from..to]).into_owned()
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// An ICE server a WHIP endpoint announced; its credentials print as `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct IceServerLink {
    /// The `stun:`, `stuns:`, `turn:` or `turns:` URL (RFC 7064, RFC 7065).
    pub url: String,
    pub username: Option<Secret>,
    pub credential: Option<Secret>,
}

impl fmt::Debug for IceServerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceServerLink")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("credential", &self.credential)
            .finish()
    }
}

/// The `rel="ice-server"` links of every `Link` header value, in order; other relations are
/// skipped, a malformed header or ice-server link is an error.
pub fn ice_servers<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<IceServerLink>, LinkError> {
    let mut servers = Vec::new();
    for value in values {
        let text = std::str::from_utf8(value).map_err(|_| LinkError::NotAscii)?;
        if !text
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(LinkError::NotAscii);
        }
        for link in parse(text)?.into_iter().filter(|l| l.has_rel("ice-server")) {
            let index = servers.len() + 1;
            let problem = |problem: String| LinkError::IceServer { index, problem };
            servers.push(ice_server(link).map_err(problem)?);
        }
    }
    Ok(servers)
}

fn ice_server(link: Link) -> Result<IceServerLink, String> {
    let scheme = link.uri.split(':').next().unwrap_or_default();
    if !["stun", "stuns", "turn", "turns"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err("the URL is not a stun:, stuns:, turn: or turns: URL".into());
    }
    if let Some(kind) = link.param("credential-type") {
        if !kind.eq_ignore_ascii_case("password") {
            return Err(format!("credential-type {kind:?} is not supported"));
        }
    }
    Ok(IceServerLink {
        username: link.param("username").map(Secret::new),
        credential: link.param("credential").map(Secret::new),
        url: link.uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(values: &[&str]) -> Result<Vec<IceServerLink>, LinkError> {
        ice_servers(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn ice_server_links_are_read_with_their_credentials_in_order() {
        let found = servers(&[
            "<turn:turn.example.net:3478?transport=udp>; rel=\"ice-server\"; \
             username=\"user\"; credential=\"p;a,s\\\"s\"; credential-type=\"password\", \
             <stun:stun.example.net>; rel=ice-server",
            "<https://example.net/help>; rel=\"help\"",
            "<stun:second.example.net:3478>;rel=\"ice-server\"",
        ])
        .unwrap();
        let urls: Vec<&str> = found.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "turn:turn.example.net:3478?transport=udp",
                "stun:stun.example.net",
                "stun:second.example.net:3478"
            ]
        );
        assert_eq!(found[0].username.as_ref().unwrap().expose(), "user");
        assert_eq!(found[0].credential.as_ref().unwrap().expose(), "p;a,s\"s");
        assert!(found[1].username.is_none());
    }

    #[test]
    fn relation_types_and_parameter_names_are_case_insensitive() {
        let found = servers(&["<stun:a.example>; REL=\"preload ICE-Server\""]).unwrap();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn only_the_first_occurrence_of_a_parameter_counts() {
        let links = parse("<stun:a.example>; rel=help; rel=ice-server").unwrap();
        assert!(!links[0].has_rel("ice-server"));
    }

    #[test]
    fn empty_list_elements_are_skipped() {
        let links = parse(" , <stun:a.example>; rel=ice-server ,, ").unwrap();
        assert_eq!(links.len(), 1);
    }

    #[test]
    fn malformed_headers_are_errors_that_do_not_repeat_the_header() {
        let cases = [
            (
                "turn:a.example; rel=ice-server",
                "expected '<' opening a link at byte 0",
            ),
            (
                "<turn:a.example",
                "unterminated URI reference starting at byte 0",
            ),
            (
                "<turn:a.example> rel=x",
                "expected ',' between links at byte 17",
            ),
            (
                "<stun:a>; rel=\"ice-server",
                "unterminated quoted string starting at byte 14",
            ),
            ("<stun:a>; =x", "expected a parameter name at byte 10"),
            (
                "<stun:a>; rel=",
                "expected a token or quoted string at byte 14",
            ),
            ("<stun:a b>", "expected '>' closing the URI at byte 7"),
        ];
        for (header, message) in cases {
            let error = parse(header).unwrap_err();
            assert_eq!(error.to_string(), message, "{header}");
        }
    }

    #[test]
    fn unusable_ice_server_links_are_errors() {
        let error = servers(&["<https://a.example>; rel=ice-server"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ice-server link 1: the URL is not a stun:, stuns:, turn: or turns: URL"
        );
        let oauth = "<turn:a.example>; rel=ice-server; credential-type=oauth";
        let error = servers(&[oauth]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ice-server link 1: credential-type \"oauth\" is not supported"
        );
        assert_eq!(
            servers(&["<stun:a>; rel=ice-server; x=\"é\""]).unwrap_err(),
            LinkError::NotAscii
        );
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let found =
            servers(&["<turn:a.example>; rel=ice-server; username=u-42; credential=hunter2"])
                .unwrap();
        let shown = format!("{found:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("u-42"),
            "{shown}"
        );
    }
}
