//! The keys a `press` step can name, as a US keyboard sends them: the DOM `key`, the physical
//! `code`, the legacy key code pages still read, and the text the key types, if any.

/// One key as the browser's key events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub code: String,
    pub key_code: u32,
    /// What the key types; keys without text (Tab, arrows) only move or edit.
    pub text: Option<String>,
}

/// The names `lookup` knows, for an error message.
pub const KNOWN: &str = "use one character, F1 to F12, or one of Enter, Tab, Escape, Backspace, \
    Delete, Insert, Space, ArrowUp, ArrowDown, ArrowLeft, ArrowRight, Home, End, PageUp, PageDown, \
    Shift, Control, Alt, Meta, CapsLock, ContextMenu, Pause";

/// Named keys: (key, code, key code, text).
const NAMED: [(&str, &str, u32, Option<&str>); 22] = [
    ("Enter", "Enter", 13, Some("\r")),
    ("Tab", "Tab", 9, None),
    ("Escape", "Escape", 27, None),
    ("Backspace", "Backspace", 8, None),
    ("Delete", "Delete", 46, None),
    ("Insert", "Insert", 45, None),
    ("Space", "Space", 32, Some(" ")),
    ("ArrowUp", "ArrowUp", 38, None),
    ("ArrowDown", "ArrowDown", 40, None),
    ("ArrowLeft", "ArrowLeft", 37, None),
    ("ArrowRight", "ArrowRight", 39, None),
    ("Home", "Home", 36, None),
    ("End", "End", 35, None),
    ("PageUp", "PageUp", 33, None),
    ("PageDown", "PageDown", 34, None),
    ("Shift", "ShiftLeft", 16, None),
    ("Control", "ControlLeft", 17, None),
    ("Alt", "AltLeft", 18, None),
    ("Meta", "MetaLeft", 91, None),
    ("CapsLock", "CapsLock", 20, None),
    ("ContextMenu", "ContextMenu", 93, None),
    ("Pause", "Pause", 19, None),
];

/// Punctuation on its own key: (character, code, key code).
const PUNCTUATION: [(char, &str, u32); 12] = [
    (' ', "Space", 32),
    ('-', "Minus", 189),
    ('=', "Equal", 187),
    (',', "Comma", 188),
    ('.', "Period", 190),
    ('/', "Slash", 191),
    (';', "Semicolon", 186),
    ('\'', "Quote", 222),
    ('[', "BracketLeft", 219),
    (']', "BracketRight", 221),
    ('\\', "Backslash", 220),
    ('`', "Backquote", 192),
];

/// The key called `name`: a named key (`Enter`, `Tab`, `ArrowDown`, `F5`…) or one character.
pub fn lookup(name: &str) -> Option<Key> {
    if let Some((key, code, key_code, text)) = NAMED.iter().find(|k| k.0 == name) {
        return Some(Key {
            key: if *key == "Space" { " " } else { key }.to_string(),
            code: code.to_string(),
            key_code: *key_code,
            text: text.map(str::to_string),
        });
    }
    if let Some(n) = name.strip_prefix('F').and_then(|n| n.parse::<u32>().ok()) {
        return (1..=12).contains(&n).then(|| Key {
            key: name.to_string(),
            code: name.to_string(),
            key_code: 111 + n,
            text: None,
        });
    }
    let mut chars = name.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let (code, key_code) = if c.is_ascii_alphabetic() {
        let upper = c.to_ascii_uppercase();
        (format!("Key{upper}"), upper as u32)
    } else if c.is_ascii_digit() {
        (format!("Digit{c}"), c as u32)
    } else if let Some((_, code, key_code)) = PUNCTUATION.iter().find(|p| p.0 == c) {
        (code.to_string(), *key_code)
    } else {
        // A character without a key of its own (shifted or not on a US keyboard) still types.
        (String::new(), 0)
    };
    Some(Key {
        key: c.to_string(),
        code,
        key_code,
        text: Some(c.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_types_a_carriage_return() {
        let enter = lookup("Enter").unwrap();
        assert_eq!((enter.key_code, enter.text.as_deref()), (13, Some("\r")));
    }

    #[test]
    fn a_letter_has_its_key_code_and_types_itself() {
        let a = lookup("a").unwrap();
        assert_eq!((a.code.as_str(), a.key_code), ("KeyA", 65));
        assert_eq!(a.text.as_deref(), Some("a"));
    }

    #[test]
    fn function_keys_run_from_f1_to_f12() {
        assert_eq!(lookup("F5").unwrap().key_code, 116);
        assert!(lookup("F13").is_none());
    }

    #[test]
    fn every_named_key_is_listed_for_users() {
        for (name, ..) in NAMED {
            assert!(KNOWN.contains(name), "{name}");
        }
    }

    #[test]
    fn an_unknown_name_is_no_key() {
        assert!(lookup("Return").is_none());
        assert!(lookup("").is_none());
    }
}
