//! What a step does in the page, each a few calls on the tab's own connection: waiting for an
//! element and acting on it happen in one script run in the page, which reacts to DOM changes
//! as they happen; clicks and key presses are real (trusted) input events; a load is awaited
//! through the browser's lifecycle events.

use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cdp::{CdpError, PageConnection};
use crate::keys;

/// How long past its own limit a script run in the page may take to answer: the page's event
/// loop may be busy when the limit passes.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

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

/// Waits in the page until the selector matches or the time is up. Every DOM change is looked
/// at as it happens; a slow poll catches what changes no DOM (such as `:checked`).
const SCRIPT: &str = r#"(async (selector, ms, want) => {
  const match = () => document.querySelector(selector);
  let el = match();
  if (!el && ms > 0) {
    el = await new Promise((resolve) => {
      let observer, poll, timer;
      const done = (found) => {
        observer.disconnect();
        clearInterval(poll);
        clearTimeout(timer);
        resolve(found);
      };
      const check = () => { const found = match(); if (found) done(found); };
      observer = new MutationObserver(check);
      observer.observe(document, {childList: true, subtree: true, attributes: true,
        characterData: true});
      poll = setInterval(check, 50);
      timer = setTimeout(() => done(match()), ms);
    });
  }
  if (!el) return JSON.stringify({found: false});
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

/// The document's markup with its doctype, as a person would save it.
const HTML_SCRIPT: &str = "(document.doctype ? new XMLSerializer().serializeToString(\
    document.doctype) : '') + (document.documentElement ? document.documentElement.outerHTML : '')";

/// Why a script run in the page gave no value.
#[derive(Debug)]
pub enum ScriptError {
    /// The script threw: the message the page gave.
    Thrown(String),
    /// The call failed, or the document it ran in went away.
    Call(CdpError),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Thrown(message) => write!(f, "the page threw: {message}"),
            ScriptError::Call(error) => error.fmt(f),
        }
    }
}

/// Runs `expression` in the page and returns its value, awaiting it if it is a promise.
pub fn evaluate(
    page: &mut PageConnection,
    expression: &str,
    until: Instant,
) -> Result<Value, ScriptError> {
    let params = json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
    let mut result = page
        .call("Runtime.evaluate", params, until)
        .map_err(ScriptError::Call)?;
    if let Some(details) = result.get("exceptionDetails") {
        let message = details
            .pointer("/exception/description")
            .or_else(|| details.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("an exception");
        return Err(ScriptError::Thrown(message.to_string()));
    }
    Ok(result
        .pointer_mut("/result/value")
        .map(Value::take)
        .unwrap_or_default())
}

/// Waits up to `limit` for `selector` and does `want` with it. A document replaced meanwhile
/// (the page navigated under the script) is searched again.
pub fn find(
    page: &mut PageConnection,
    selector: &str,
    limit: Duration,
    want: Want,
) -> Result<Found, String> {
    let want = match want {
        Want::Exists => "exists",
        Want::Center => "center",
        Want::Focus => "focus",
        Want::Text => "text",
    };
    let selector_js = serde_json::to_string(selector).map_err(|e| e.to_string())?;
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let expression = format!("{SCRIPT}({selector_js}, {}, '{want}')", left.as_millis());
        let text = match evaluate(page, &expression, until + ANSWER_MARGIN) {
            Ok(Value::String(text)) => text,
            Ok(_) => return Err(format!("the page gave no answer for {selector:?}")),
            Err(ScriptError::Call(CdpError::Refused { .. })) if !left.is_zero() => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(error) => return Err(format!("looking for {selector:?}: {error}")),
        };
        let answer: Answer = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        return match answer.found {
            true => Ok(answer.element),
            false => Err(format!("no element matches {selector:?} within {limit:?}")),
        };
    }
}

/// Loads `url` and returns once the new document has fired its load event.
pub fn navigate(page: &mut PageConnection, url: &str, limit: Duration) -> Result<(), String> {
    let until = Instant::now() + limit;
    let result = page
        .call("Page.navigate", json!({"url": url}), until)
        .map_err(|e| e.to_string())?;
    if let Some(error) = result.get("errorText").and_then(Value::as_str) {
        return Err(format!("navigation failed: {error}"));
    }
    // A move within the same document (a fragment) has no loader and nothing to wait for.
    let Some(loader) = result.get("loaderId").and_then(Value::as_str) else {
        return Ok(());
    };
    match page.wait_for(until, |n| n.loaded(loader)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("the page did not load within {limit:?}")),
        Err(error) => Err(error.to_string()),
    }
}

/// Does `action` (input events), then, if it started loading a new document in the tab,
/// waits until that document has loaded, so that the next step looks at the loaded page and
/// the step's timings are the new page's. (The browser itself holds calls to the page until
/// the new document is committed; the wait covers the rest, up to its load event.)
pub fn act(
    page: &mut PageConnection,
    limit: Duration,
    action: impl FnOnce(&mut PageConnection, Instant) -> Result<(), CdpError>,
) -> Result<(), String> {
    let until = Instant::now() + limit;
    page.take_started();
    action(page, until).map_err(|e| e.to_string())?;
    // One round trip to the page: what the input events started is reported before its answer.
    // The browser refuses it ("Inspected target navigated or closed") when the document it
    // ran in went away under it, which is itself the sign that a navigation began (seen
    // after pressing Enter in a form, now and then).
    let navigated = match evaluate(page, "0", until) {
        Ok(_) => false,
        Err(ScriptError::Call(CdpError::Refused { .. })) => true,
        Err(error) => return Err(error.to_string()),
    };
    if !navigated && !page.navigation().started {
        return Ok(());
    }
    match page.wait_for(until, |n| n.stopped) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("the page it opened did not load within {limit:?}")),
        Err(error) => Err(error.to_string()),
    }
}

/// A real left click at a point of the viewport: trusted mouse events, as a user's.
pub fn click_at(page: &mut PageConnection, x: f64, y: f64, until: Instant) -> Result<(), CdpError> {
    for kind in ["mousePressed", "mouseReleased"] {
        let event = json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1});
        page.call("Input.dispatchMouseEvent", event, until)?;
    }
    Ok(())
}

/// Types `text` into the focused element as one input event.
pub fn insert_text(page: &mut PageConnection, text: &str, until: Instant) -> Result<(), CdpError> {
    page.call("Input.insertText", json!({"text": text}), until)?;
    Ok(())
}

/// Presses and releases `key` (a name `keys::lookup` knows) in the focused element.
pub fn press(page: &mut PageConnection, key: &keys::Key, until: Instant) -> Result<(), CdpError> {
    // A key that types text sends `keyDown`, which also makes the character; others send
    // `rawKeyDown`, as a keyboard does.
    let down = if key.text.is_some() {
        "keyDown"
    } else {
        "rawKeyDown"
    };
    for kind in [down, "keyUp"] {
        let mut event = json!({
            "type": kind,
            "key": key.key,
            "code": key.code,
            "windowsVirtualKeyCode": key.key_code,
            "nativeVirtualKeyCode": key.key_code,
        });
        if let Some(text) = &key.text {
            event["text"] = json!(text);
        }
        page.call("Input.dispatchKeyEvent", event, until)?;
    }
    Ok(())
}

/// A PNG of the viewport.
pub fn screenshot(page: &mut PageConnection, until: Instant) -> Result<Vec<u8>, String> {
    let params = json!({"format": "png", "fromSurface": true});
    let result = page
        .call("Page.captureScreenshot", params, until)
        .map_err(|e| e.to_string())?;
    let data = result.get("data").and_then(Value::as_str).unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("the screenshot is not base64: {e}"))
}

/// The page's HTML.
pub fn html(page: &mut PageConnection, until: Instant) -> Result<String, String> {
    match evaluate(page, HTML_SCRIPT, until) {
        Ok(Value::String(html)) => Ok(html),
        Ok(other) => Err(format!("the page gave {other} for its HTML")),
        Err(error) => Err(error.to_string()),
    }
}
