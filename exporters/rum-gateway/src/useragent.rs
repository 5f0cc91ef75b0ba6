//! Closed label values from the `User-Agent`: device class, browser family, bot or not.
//! Pages send the same few user agents over and over, so each is classified once and kept
//! in a bounded table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::metrics::{LabelValue, RumMetrics};

/// Most user agents remembered; beyond, the table starts again empty.
pub const MAX_REMEMBERED_AGENTS: usize = 4_096;

/// Longest user agent remembered; longer ones (rare, often forged) are classified each time.
const MAX_REMEMBERED_LEN: usize = 512;

/// What the gateway reads from one `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    pub bot: bool,
    pub device: &'static str,
    pub browser: &'static str,
}

/// Classifies `ua`, matching bots against `patterns` (already lowercase).
pub fn classify(ua: &str, patterns: &[String]) -> Agent {
    Agent {
        bot: is_bot(ua, patterns),
        device: device(ua),
        browser: browser(ua),
    }
}

/// User agents classified so far, under the config whose bot patterns they were matched with.
#[derive(Debug, Default)]
pub struct Agents {
    inner: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    config: Option<Arc<Config>>,
    agents: HashMap<Box<str>, Agent>,
}

impl Agents {
    /// The verdicts on `ua` under `config`'s bot patterns; a full table is emptied and counted.
    pub fn classify(&self, config: &Arc<Config>, ua: &str, metrics: &RumMetrics) -> Agent {
        let patterns = &config.bots.user_agent_patterns;
        if ua.len() > MAX_REMEMBERED_LEN {
            return classify(ua, patterns);
        }
        let mut known = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !known
            .config
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, config))
        {
            known.agents.clear();
            known.config = Some(config.clone());
        }
        if let Some(agent) = known.agents.get(ua) {
            return *agent;
        }
        if known.agents.len() >= MAX_REMEMBERED_AGENTS {
            known.agents.clear();
            metrics.count_table_reset("user_agents");
        }
        let agent = classify(ua, patterns);
        known.agents.insert(ua.into(), agent);
        agent
    }
}

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
pub fn country(header: Option<&str>) -> LabelValue {
    match header.map(str::trim) {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            LabelValue::from(c.to_ascii_uppercase())
        }
        _ => LabelValue::Static("XX"),
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
    fn remembered_agents_answer_as_classifying_does_and_follow_a_reload() {
        let agents = Agents::default();
        let metrics = RumMetrics::register(
            &mut exporter_kit::prometheus_client::registry::Registry::default(),
            3.0,
        );
        let agents_classify =
            |config: &Arc<Config>, ua: &str| agents.classify(config, ua, &metrics);
        let config = Arc::new(Config::default());
        let patterns = &config.bots.user_agent_patterns;
        for ua in [
            CHROME_DESKTOP,
            IPHONE,
            IPAD,
            EDGE,
            ANDROID_TABLET,
            "",
            CHROME_DESKTOP,
        ] {
            assert_eq!(agents_classify(&config, ua), classify(ua, patterns));
        }
        let mut strict = Config::default();
        strict.bots.user_agent_patterns.push("x11".into());
        let strict = Arc::new(strict);
        assert!(!agents_classify(&config, CHROME_DESKTOP).bot);
        assert!(agents_classify(&strict, CHROME_DESKTOP).bot);
        let long = format!("{CHROME_DESKTOP} {}", "x".repeat(MAX_REMEMBERED_LEN));
        assert_eq!(agents_classify(&config, &long).browser, "chrome");
    }

    #[test]
    fn country_codes_are_two_letters_or_xx() {
        assert_eq!(country(Some("de")).as_str(), "DE");
        assert_eq!(country(Some("DEU")).as_str(), "XX");
        assert_eq!(country(None).as_str(), "XX");
    }
}
