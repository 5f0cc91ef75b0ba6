//! Closed label values from the `User-Agent`: device class, browser family, bot or not.

/// `device` label: desktop, mobile, tablet or unknown.
pub fn device(ua: &str) -> &'static str {
    if ua.is_empty() {
        return "unknown";
    }
    let has = |needle: &str| ua.contains(needle);
    if has("iPad") || has("Tablet") || (has("Android") && !has("Mobile")) {
        "tablet"
    } else if has("Mobi") || has("iPhone") || has("iPod") || has("Windows Phone") {
        "mobile"
    } else if has("Windows") || has("Macintosh") || has("X11") || has("Linux") || has("CrOS") {
        "desktop"
    } else {
        "unknown"
    }
}

/// `browser` label: one of a fixed set of families, or `other`. Order matters: Edge, Opera
/// and Samsung Internet also say "Chrome", and Chrome also says "Safari".
pub fn browser(ua: &str) -> &'static str {
    let has = |needle: &str| ua.contains(needle);
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        "edge"
    } else if has("OPR/") || has("Opera") {
        "opera"
    } else if has("SamsungBrowser/") {
        "samsung"
    } else if has("Firefox/") || has("FxiOS/") {
        "firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "chrome"
    } else if has("Safari/") {
        "safari"
    } else {
        "other"
    }
}

/// Whether `ua` contains one of `patterns` (already lowercase), ignoring case.
pub fn is_bot(ua: &str, patterns: &[String]) -> bool {
    let lower = ua.to_ascii_lowercase();
    patterns
        .iter()
        .any(|p| !p.is_empty() && lower.contains(p.as_str()))
}

/// `country` label: a two-letter uppercase code, or `XX` for anything else.
pub fn country(header: Option<&str>) -> String {
    match header.map(str::trim) {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => "XX".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    #[test]
    fn devices_and_browsers_come_from_the_user_agent() {
        assert_eq!(
            (device(CHROME_DESKTOP), browser(CHROME_DESKTOP)),
            ("desktop", "chrome")
        );
        assert_eq!((device(IPHONE), browser(IPHONE)), ("mobile", "safari"));
        assert_eq!((device(IPAD), browser(IPAD)), ("tablet", "safari"));
        assert_eq!((device(EDGE), browser(EDGE)), ("desktop", "edge"));
        assert_eq!(device(ANDROID_TABLET), "tablet");
        assert_eq!((device(""), browser("")), ("unknown", "other"));
    }

    #[test]
    fn headless_chrome_and_crawlers_are_bots() {
        let patterns = crate::config::Bots::default().user_agent_patterns;
        let headless = CHROME_DESKTOP.replace("Chrome/", "HeadlessChrome/");
        assert!(is_bot(&headless, &patterns));
        assert!(is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)", &patterns));
        assert!(!is_bot(CHROME_DESKTOP, &patterns));
    }

    #[test]
    fn country_codes_are_two_letters_or_xx() {
        assert_eq!(country(Some("de")), "DE");
        assert_eq!(country(Some("DEU")), "XX");
        assert_eq!(country(None), "XX");
    }
}
