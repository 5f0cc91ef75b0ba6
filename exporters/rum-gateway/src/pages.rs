//! The `page` and `app` labels: URLs become route templates or `:id` paths, and per-app caps
//! keep the number of distinct values bounded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::metrics::LabelValue;
use crate::names::OTHER;

/// Longest path segment kept as written; longer ones are identifiers in practice.
const MAX_SEGMENT_LEN: usize = 40;

/// Checks a route template: starts with `/`, `*` only as the last segment.
pub fn check_template(template: &str) -> Result<(), String> {
    if !template.starts_with('/') {
        return Err("a route template starts with '/'".into());
    }
    let segments: Vec<&str> = segments(template).collect();
    if let Some(pos) = segments.iter().position(|s| *s == "*") {
        if pos + 1 != segments.len() {
            return Err("'*' may only be the last segment of a route template".into());
        }
    }
    Ok(())
}

/// App names: 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn valid_app_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The path of `url` (absolute or relative), without query or fragment.
pub fn path_of(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => url,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The first template of `routes` that `path` matches.
pub fn match_route<'a>(path: &str, routes: &'a [String]) -> Option<&'a str> {
    routes
        .iter()
        .find(|t| template_matches(t, path))
        .map(String::as_str)
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut want = segments(template);
    let mut have = segments(path);
    loop {
        match (want.next(), have.next()) {
            (Some("*"), _) => return true,
            (Some(w), Some(h)) if w.starts_with(':') || w == h => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The fallback page name: identifiers become `:id`, depth is capped, query dropped.
pub fn slug(path: &str, max_depth: usize) -> String {
    let mut out = String::new();
    for (i, segment) in segments(path).enumerate() {
        if i == max_depth {
            out.push_str("/*");
            break;
        }
        out.push('/');
        if is_identifier(segment) {
            out.push_str(":id");
        } else {
            out.push_str(segment);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn is_identifier(segment: &str) -> bool {
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let hex = segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    segment.len() > MAX_SEGMENT_LEN
        || digits == segment.len()
        || (hex && segment.len() >= 16)
        || is_uuid(segment)
        // Mixed letters and many digits: tokens, slugs with ids, hashes in other alphabets.
        || (digits >= 4 && digits * 3 >= segment.len())
        || !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What capping did to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    pub value: LabelValue,
    pub overflowed: bool,
}

/// Distinct values seen, up to a cap; later values become `other`. Values seen stay
/// admitted for the life of the process, so a series never flips between names. A value
/// admitted is shared by every label set that carries it.
#[derive(Debug, Default)]
pub struct ValueCap {
    seen: Mutex<HashSet<Arc<str>>>,
}

impl ValueCap {
    pub fn admit(&self, value: &str, cap: usize) -> Capped {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = seen.get(value) {
            return Capped {
                value: LabelValue::Shared(known.clone()),
                overflowed: false,
            };
        }
        if seen.len() < cap {
            let value: Arc<str> = value.into();
            seen.insert(value.clone());
            return Capped {
                value: LabelValue::Shared(value),
                overflowed: false,
            };
        }
        Capped {
            value: LabelValue::Static(OTHER),
            overflowed: true,
        }
    }
}

/// The page cap of every app.
#[derive(Debug, Default)]
pub struct PageCaps {
    apps: Mutex<HashMap<String, Arc<ValueCap>>>,
}

impl PageCaps {
    pub fn admit(&self, app: &str, page: &str, cap: usize) -> Capped {
        let per_app = {
            let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
            match apps.get(app) {
                Some(per_app) => per_app.clone(),
                None => apps.entry(app.to_string()).or_default().clone(),
            }
        };
        per_app.admit(page, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_drops_scheme_host_query_and_fragment() {
        assert_eq!(path_of("https://shop.example/a/b?x=1#top"), "/a/b");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(path_of("/cart?id=3"), "/cart");
    }

    #[test]
    fn route_templates_match_in_order_with_params_and_a_trailing_star() {
        let routes = vec!["/product/:id".to_string(), "/docs/*".to_string()];
        assert_eq!(match_route("/product/42", &routes), Some("/product/:id"));
        assert_eq!(match_route("/docs/a/b/c", &routes), Some("/docs/*"));
        assert_eq!(match_route("/product/42/reviews", &routes), None);
        assert!(check_template("/a/*/b").is_err());
    }

    #[test]
    fn the_fallback_turns_numbers_uuids_and_hashes_into_id() {
        assert_eq!(slug("/orders/12345/items", 4), "/orders/:id/items");
        assert_eq!(slug("/u/123e4567-e89b-12d3-a456-426614174000", 4), "/u/:id");
        assert_eq!(
            slug("/blob/9f86d081884c7d659a2feaa0c55ad015", 4),
            "/blob/:id"
        );
        assert_eq!(slug("/a/b/c/d/e/f", 4), "/a/b/c/d/*");
        assert_eq!(slug("/", 4), "/");
        assert_eq!(slug("/checkout", 4), "/checkout");
    }

    #[test]
    fn a_cap_admits_known_values_and_folds_new_ones_into_other() {
        let cap = ValueCap::default();
        assert!(!cap.admit("a", 2).overflowed);
        assert!(!cap.admit("b", 2).overflowed);
        assert_eq!(cap.admit("c", 2).value.as_str(), "other");
        assert!(!cap.admit("a", 2).overflowed);
    }
}
