//! Element work done inside the page, one DevTools call per lookup.
//!
//! headless_chrome 1.0.22 spends up to 100 ms on every DevTools call (its reader thread holds
//! the socket lock through a 100 ms read timeout; upstream issue 446), and its element helpers
//! make four to ten calls each. Waiting for an element, scrolling it into view and reading its
//! position or text therefore happen in one script run in the page; only the trusted mouse
//! events that make a real click are sent separately.

use std::time::Duration;

use headless_chrome::protocol::cdp::Input;
use headless_chrome::Tab;
use serde::Deserialize;

/// What to do with the element once it is there.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    /// Nothing: it exists.
    Exists,
    /// Scroll it into view and give its centre, for a click.
    Center,
    /// Focus it and select its content, so typing replaces it.
    Focus,
    /// Its rendered text.
    Text,
}

/// The element as the page saw it.
#[derive(Debug, Default, Deserialize)]
pub struct Found {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

#[derive(Deserialize)]
struct Answer {
    found: bool,
    #[serde(flatten)]
    element: Found,
}

/// Polls every 10 ms inside the page until the selector matches or the time is up.
const SCRIPT: &str = r#"(async (selector, ms, want) => {
  const until = performance.now() + ms;
  let el;
  while (!(el = document.querySelector(selector))) {
    if (performance.now() > until) return JSON.stringify({found: false});
    await new Promise((r) => setTimeout(r, 10));
  }
  const out = {found: true, x: 0, y: 0, text: ''};
  if (want === 'center') {
    el.scrollIntoView({block: 'center', inline: 'center'});
    const r = el.getBoundingClientRect();
    out.x = r.left + r.width / 2;
    out.y = r.top + r.height / 2;
  } else if (want === 'focus') {
    el.focus();
    if (typeof el.select === 'function') el.select();
  } else if (want === 'text') {
    out.text = el.innerText;
  }
  return JSON.stringify(out);
})"#;

/// Waits up to `limit` for `selector` and does `want` with it.
pub fn find(tab: &Tab, selector: &str, limit: Duration, want: Want) -> Result<Found, String> {
    let want = match want {
        Want::Exists => "exists",
        Want::Center => "center",
        Want::Focus => "focus",
        Want::Text => "text",
    };
    let selector_js = serde_json::to_string(selector).map_err(|e| e.to_string())?;
    let expression = format!("{SCRIPT}({selector_js}, {}, '{want}')", limit.as_millis());
    let result = tab.evaluate(&expression, true).map_err(|e| e.to_string())?;
    let Some(serde_json::Value::String(text)) = result.value else {
        return Err(format!("the page gave no answer for {selector:?}"));
    };
    let answer: Answer = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if answer.found {
        Ok(answer.element)
    } else {
        Err(format!("no element matches {selector:?} within {limit:?}"))
    }
}

/// A real left click at a point of the viewport: trusted mouse events, as a user's.
pub fn click_at(tab: &Tab, x: f64, y: f64) -> anyhow::Result<()> {
    for kind in [
        Input::DispatchMouseEventTypeOption::MousePressed,
        Input::DispatchMouseEventTypeOption::MouseReleased,
    ] {
        tab.call_method(Input::DispatchMouseEvent {
            Type: kind,
            x,
            y,
            modifiers: None,
            timestamp: None,
            button: Some(Input::MouseButton::Left),
            buttons: None,
            click_count: Some(1),
            force: None,
            tangential_pressure: None,
            tilt_x: None,
            tilt_y: None,
            twist: None,
            delta_x: None,
            delta_y: None,
            pointer_Type: None,
        })?;
    }
    Ok(())
}

/// Waits in the page until a document other than the one with time origin `old` has fired its
/// load event; `None` when the time is up. While the old document is still shown the script
/// dies with it, which is why the caller retries.
const LOADED_SCRIPT: &str = r#"(async (old, ms) => {
  const until = performance.now() + ms;
  while (performance.timeOrigin === old || document.readyState !== 'complete') {
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
})"#;

/// The time origin of the document now shown, to tell a new document from it.
pub fn time_origin(tab: &Tab) -> f64 {
    tab.evaluate("performance.timeOrigin", false)
        .ok()
        .and_then(|r| r.value)
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Loads `url` and returns once the new document's load event has fired (headless_chrome's
/// own wait also waits for the network to be almost idle, half a second more).
pub fn navigate(tab: &Tab, url: &str, limit: Duration) -> Result<(), String> {
    let until = std::time::Instant::now() + limit;
    let old = time_origin(tab);
    tab.navigate_to(url).map_err(|e| e.to_string())?;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(format!("the page did not load within {limit:?}"));
        }
        let expression = format!("{LOADED_SCRIPT}({old}, {})", left.as_millis());
        match tab.evaluate(&expression, true).map(|r| r.value) {
            Ok(Some(serde_json::Value::Bool(true))) => return Ok(()),
            Ok(_) => return Err(format!("the page did not load within {limit:?}")),
            // The old document went away under the script: look again in the new one.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
