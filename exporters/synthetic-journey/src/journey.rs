//! One journey run in the shared browser: a fresh incognito context, the steps in order, each
//! timed and bounded by the time left, page timings read from the browser's own performance
//! entries, and on failure a screenshot, the HTML and the console errors. Blocking code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use headless_chrome::browser::transport::Transport;
use headless_chrome::protocol::cdp::Target;
use headless_chrome::{Browser, Tab};
use serde_json::{json, Value};

use crate::artifacts::{ArtifactStore, RunArtifacts};
use crate::browser::Lease;
use crate::cdp::PageConnection;
use crate::config::{Journey, Step};
use crate::keys;
use crate::metrics::{JourneyOutcome, PageTimings, StepOutcome};
use crate::page::{self, Want};

/// Console errors kept per run; more are counted in the artifact, not kept.
const MAX_CONSOLE_ERRORS: usize = 100;

/// How long saving the screenshot and HTML of a failed step may take.
const ARTIFACT_LIMIT: Duration = Duration::from_secs(10);

/// Reads the page's timings from its own performance entries, unless the page is the one seen
/// last (its time origin is the argument). LCP and layout shifts are only offered to observers;
/// a buffered observer hands over the entries recorded so far. A page that has just fired its
/// load event may not have painted yet: without a first contentful paint, the script waits
/// for one (at most 500 ms) before reading.
const TIMINGS_SCRIPT: &str = r#"(async (seen) => {
  if (performance.timeOrigin === seen) return JSON.stringify({origin: seen});
  const painted = () => performance.getEntriesByName('first-contentful-paint').length > 0;
  if (!painted()) {
    await new Promise((done) => {
      let observer, timer;
      const finish = () => { clearTimeout(timer); observer.disconnect(); setTimeout(done, 0); };
      observer = new PerformanceObserver(() => { if (painted()) finish(); });
      timer = setTimeout(finish, 500);
      try { observer.observe({type: 'paint'}); } catch (e) { finish(); }
    });
  }
  return JSON.stringify((() => {
  const take = (type) => {
    try {
      const o = new PerformanceObserver(() => {});
      o.observe({type, buffered: true});
      const r = o.takeRecords();
      o.disconnect();
      return r;
    } catch (e) { return []; }
  };
  const sec = (v) => (typeof v === 'number' && v > 0 ? v / 1000 : null);
  const n = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const lcp = take('largest-contentful-paint').pop();
  const cls = take('layout-shift').filter((e) => !e.hadRecentInput)
    .reduce((sum, e) => sum + e.value, 0);
  return {
    origin: performance.timeOrigin,
    timings: {
      ttfb: n ? sec(n.responseStart) : null,
      dom_content_loaded: n ? sec(n.domContentLoadedEventEnd) : null,
      load: n ? sec(n.loadEventEnd) : null,
      fcp: fcp ? sec(fcp.startTime) : null,
      lcp: lcp ? sec(lcp.renderTime || lcp.loadTime || lcp.startTime) : null,
      cls: n ? cls : null,
      resources: performance.getEntriesByType('resource').length,
      js_heap: performance.memory ? performance.memory.usedJSHeapSize : null,
    },
  };
})());
})"#;

/// A step failure: which step, and why, in words a person understands.
struct StepError(String);

impl<E: std::fmt::Display> From<E> for StepError {
    fn from(error: E) -> StepError {
        StepError(error.to_string())
    }
}

/// Collects what the page logs as errors, and uncaught exceptions, from the tab's events.
#[derive(Default)]
struct ConsoleErrors {
    lines: Mutex<(Vec<String>, usize)>,
}

impl ConsoleErrors {
    fn take_in(&self, method: &str, params: &Value) {
        let line = match method {
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let text = details
                    .pointer("/exception/description")
                    .or_else(|| details.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                format!(
                    "uncaught: {text} ({}:{})",
                    details["url"].as_str().unwrap_or_default(),
                    details["lineNumber"].as_i64().unwrap_or_default()
                )
            }
            "Runtime.consoleAPICalled" if params["type"] == "error" => {
                let args = params["args"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let args: Vec<String> = args.iter().map(describe).collect();
                format!("console.error: {}", args.join(" "))
            }
            _ => return,
        };
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.0.len() < MAX_CONSOLE_ERRORS {
            lines.0.push(line);
        } else {
            lines.1 += 1;
        }
    }

    fn text(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = lines.0.join("\n");
        if lines.1 > 0 {
            text.push_str(&format!("\n({} more not kept)", lines.1));
        }
        text
    }
}

/// A console argument as text: its value, else how the page describes it.
fn describe(object: &Value) -> String {
    match object.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(value) => value.to_string(),
        None => object["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The run's tab: headless_chrome's handle, which keeps it open, and its own connection.
struct OpenTab {
    tab: Arc<Tab>,
    context_id: String,
    page: PageConnection,
    console: Arc<ConsoleErrors>,
}

/// Walks `journey` in `browser`, finishing by `deadline`. `log` receives one line per step.
pub fn walk(
    lease: &Lease,
    journey: &Journey,
    deadline: Instant,
    store: &ArtifactStore,
    log: &mut dyn FnMut(String),
) -> JourneyOutcome {
    let started = Instant::now();
    let mut artifacts = store.run(&journey.name);
    let mut outcome = JourneyOutcome {
        journey: journey.name.clone(),
        success: false,
        duration: Duration::ZERO,
        steps: Vec::new(),
        all_steps: journey
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| s.label(i))
            .collect(),
        failed_step: None,
        reason: None,
        artifacts: Vec::new(),
        finished_at: SystemTime::now(),
    };
    match open_tab(&lease.browser, journey, deadline) {
        Ok(mut open) => {
            let console = open.console.clone();
            run_steps(
                &mut open.page,
                journey,
                deadline,
                &mut artifacts,
                &console,
                &mut outcome,
                log,
            );
            let OpenTab {
                tab,
                context_id,
                page,
                ..
            } = open;
            drop(page);
            close_context(&lease.control, &tab, context_id);
        }
        Err(StepError(reason)) => {
            outcome.failed_step = outcome.all_steps.first().cloned();
            outcome.reason = Some(format!("could not open a tab: {reason}"));
        }
    }
    outcome.artifacts = artifacts.written().to_vec();
    if !outcome.artifacts.is_empty() {
        if let Err(error) = store.prune(&journey.name) {
            tracing::warn!(journey = %journey.name, %error, "could not remove old artifacts");
        }
    }
    outcome.duration = started.elapsed();
    outcome.finished_at = SystemTime::now();
    outcome
}

/// A tab in a fresh incognito context, sized to the journey's viewport, reporting errors.
fn open_tab(browser: &Browser, journey: &Journey, deadline: Instant) -> Result<OpenTab, StepError> {
    let context = browser.new_context()?;
    let context_id = context.get_id().to_string();
    let tab = context.new_tab()?;
    let limit = deadline.saturating_duration_since(Instant::now());
    let mut page = PageConnection::open(&browser.get_ws_url(), tab.get_target_id(), limit)?;
    let metrics = json!({
        "width": journey.viewport.width,
        "height": journey.viewport.height,
        "deviceScaleFactor": 1,
        "mobile": false,
    });
    page.call("Emulation.setDeviceMetricsOverride", metrics, deadline)?;
    let console = Arc::new(ConsoleErrors::default());
    let sink = console.clone();
    page.set_event_sink(Box::new(move |method, params| sink.take_in(method, params)));
    page.call("Runtime.enable", json!({}), deadline)?;
    Ok(OpenTab {
        tab,
        context_id,
        page,
        console,
    })
}

/// Drops the run's context, and its tab with it, so no cookie or cache entry outlives the run
/// and the browser does not grow with every run.
fn close_context(control: &Transport, tab: &Tab, context_id: String) {
    let dispose = Target::DisposeBrowserContext {
        browser_context_id: context_id,
    };
    if let Err(error) = control.call_method_on_browser(dispose) {
        tracing::debug!(%error, "could not dispose of the browser context, closing the tab");
        let _ = tab.close(false);
    }
}

fn run_steps(
    page: &mut PageConnection,
    journey: &Journey,
    deadline: Instant,
    artifacts: &mut RunArtifacts,
    console: &ConsoleErrors,
    outcome: &mut JourneyOutcome,
    log: &mut dyn FnMut(String),
) {
    let mut page_origin = None;
    for (index, step) in journey.steps.iter().enumerate() {
        let label = step.label(index);
        let step_started = Instant::now();
        let result = run_step(page, step, &label, journey, deadline, artifacts);
        let duration = step_started.elapsed();
        let timings = match &result {
            Ok(()) => new_page_timings(page, deadline, &mut page_origin),
            Err(_) => None,
        };
        log(format!(
            "step {label} ({}) {} in {:.3}s",
            step.action(),
            if result.is_ok() { "passed" } else { "failed" },
            duration.as_secs_f64()
        ));
        outcome.steps.push(StepOutcome {
            step: label.clone(),
            duration,
            success: result.is_ok(),
            page: timings,
        });
        if let Err(StepError(reason)) = result {
            log(format!("reason: {reason}"));
            outcome.failed_step = Some(label);
            outcome.reason = Some(reason);
            save_failure(page, artifacts, console);
            return;
        }
    }
    outcome.success = true;
}

fn run_step(
    page: &mut PageConnection,
    step: &Step,
    label: &str,
    journey: &Journey,
    deadline: Instant,
    artifacts: &mut RunArtifacts,
) -> Result<(), StepError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(StepError("the journey's timeout was reached".to_string()));
    }
    let step_limit = journey.step_timeout.min(left);
    let until = Instant::now() + step_limit;
    match step {
        Step::Navigate { url, .. } => {
            let url = url.resolve()?;
            page::navigate(page, &url, step_limit).map_err(StepError)?;
        }
        Step::Click { selector, .. } => {
            let target = page::find(page, selector, step_limit, Want::Center).map_err(StepError)?;
            let left = until.saturating_duration_since(Instant::now());
            page::act(page, left, |p, until| {
                page::click_at(p, target.x, target.y, until)
            })
            .map_err(|e| StepError(format!("after the click: {e}")))?;
        }
        Step::Fill {
            selector, value, ..
        } => {
            let value = value.resolve()?;
            page::find(page, selector, step_limit, Want::Focus).map_err(StepError)?;
            page::insert_text(page, &value, until)?;
        }
        Step::Press { key, .. } => {
            let key = keys::lookup(key).ok_or_else(|| StepError(format!("unknown key {key:?}")))?;
            page::act(page, step_limit, |p, until| page::press(p, &key, until))
                .map_err(|e| StepError(format!("after the key press: {e}")))?;
        }
        Step::Wait {
            selector, timeout, ..
        } => {
            let limit = timeout.map_or(left, |t| t.min(left));
            page::find(page, selector, limit, Want::Exists)
                .map_err(|_| StepError(format!("{selector:?} did not appear within {limit:?}")))?;
        }
        Step::AssertText {
            selector, contains, ..
        } => {
            let text = page::find(page, selector, step_limit, Want::Text)
                .map_err(StepError)?
                .text;
            if !text.contains(contains.as_str()) {
                return Err(StepError(format!(
                    "text of {selector:?} does not contain {contains:?}: {:?}",
                    shorten(&text)
                )));
            }
        }
        Step::AssertUrl { contains, .. } => {
            let url = match page::evaluate(page, "location.href", until)? {
                Value::String(url) => url,
                other => return Err(StepError(format!("location.href gave {other}"))),
            };
            if !url.contains(contains.as_str()) {
                return Err(StepError(format!(
                    "URL {url:?} does not contain {contains:?}"
                )));
            }
        }
        Step::Sleep { duration, .. } => {
            std::thread::sleep((*duration).min(left));
            if *duration > left {
                return Err(StepError("the journey's timeout was reached".to_string()));
            }
        }
        Step::Screenshot { .. } => {
            let png = page::screenshot(page, until).map_err(StepError)?;
            artifacts.write(&format!("{label}.png"), &png)?;
        }
    }
    Ok(())
}

/// The timings of the page now shown, if it is not the one seen after the previous step.
fn new_page_timings(
    page: &mut PageConnection,
    deadline: Instant,
    seen_origin: &mut Option<f64>,
) -> Option<PageTimings> {
    #[derive(serde::Deserialize)]
    struct Reading {
        origin: f64,
        timings: Option<PageTimings>,
    }
    let seen = seen_origin.map_or("null".to_string(), |o| o.to_string());
    let expression = format!("{TIMINGS_SCRIPT}({seen})");
    let Ok(Value::String(text)) = page::evaluate(page, &expression, deadline) else {
        return None;
    };
    let reading: Reading = serde_json::from_str(&text).ok()?;
    *seen_origin = Some(reading.origin);
    reading.timings
}

/// Saves what a person needs to see why the step failed; each part is best effort, and
/// bounded in time, as the run's own time may be up already.
fn save_failure(page: &mut PageConnection, artifacts: &mut RunArtifacts, console: &ConsoleErrors) {
    let until = Instant::now() + ARTIFACT_LIMIT;
    let mut failed = Vec::new();
    match page::screenshot(page, until) {
        Ok(png) => failed.extend(artifacts.write("failure.png", &png).err()),
        Err(reason) => tracing::debug!(%reason, "no failure screenshot"),
    }
    if let Ok(html) = page::html(page, until) {
        failed.extend(artifacts.write("page.html", html.as_bytes()).err());
    }
    // The calls above also took in the console messages logged before the failure.
    failed.extend(
        artifacts
            .write("console.txt", console.text().as_bytes())
            .err(),
    );
    for error in failed {
        tracing::warn!(%error, "could not write a failure artifact");
    }
}

fn shorten(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
