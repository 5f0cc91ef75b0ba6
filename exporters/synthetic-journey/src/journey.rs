//! One journey run in the shared browser: a fresh incognito context, the steps in order, each
//! timed and bounded by the time left, page timings read from the browser's own performance
//! entries, and on failure a screenshot, the HTML and the console errors. Blocking code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use headless_chrome::browser::tab::EventListener;
use headless_chrome::browser::transport::Transport;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Page, Runtime, Target};
use headless_chrome::{Browser, Tab};

use crate::artifacts::{ArtifactStore, RunArtifacts};
use crate::browser::Lease;
use crate::config::{Journey, Step};
use crate::metrics::{JourneyOutcome, PageTimings, StepOutcome};
use crate::page::{self, Want};

/// Console errors kept per run; more are counted in the artifact, not kept.
const MAX_CONSOLE_ERRORS: usize = 100;

/// Reads the page's timings from its own performance entries. LCP and layout shifts are only
/// offered to observers; a buffered observer hands over the entries recorded so far.
/// A page that has just fired its load event may not have painted yet: without a first
/// contentful paint, the script waits for two frames (at most 500 ms) before reading.
const TIMINGS_SCRIPT: &str = r#"(async () => {
  if (!performance.getEntriesByName('first-contentful-paint').length) {
    await new Promise((done) => {
      const timer = setTimeout(done, 500);
      requestAnimationFrame(() => requestAnimationFrame(() => {
        clearTimeout(timer);
        setTimeout(done, 0);
      }));
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
})()"#;

/// A step failure: which step, and why, in words a person understands.
struct StepError(String);

impl<E: std::fmt::Display> From<E> for StepError {
    fn from(error: E) -> StepError {
        StepError(error.to_string())
    }
}

/// Collects what the page logs as errors, and uncaught exceptions.
#[derive(Default)]
struct ConsoleErrors {
    lines: Mutex<(Vec<String>, usize)>,
}

impl EventListener<Event> for ConsoleErrors {
    fn on_event(&self, event: &Event) {
        let line = match event {
            Event::RuntimeExceptionThrown(e) => {
                let d = &e.params.exception_details;
                let text = d
                    .exception
                    .as_ref()
                    .and_then(|x| x.description.clone())
                    .unwrap_or_else(|| d.text.clone());
                format!(
                    "uncaught: {text} ({}:{})",
                    d.url.clone().unwrap_or_default(),
                    d.line_number
                )
            }
            Event::RuntimeConsoleAPICalled(e)
                if matches!(
                    e.params.Type,
                    Runtime::ConsoleAPICalledEventTypeOption::Error
                ) =>
            {
                let args: Vec<String> = e.params.args.iter().map(describe).collect();
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
}

fn describe(object: &Runtime::RemoteObject) -> String {
    match &object.value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(value) => value.to_string(),
        None => object.description.clone().unwrap_or_default(),
    }
}

impl ConsoleErrors {
    fn text(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = lines.0.join("\n");
        if lines.1 > 0 {
            text.push_str(&format!("\n({} more not kept)", lines.1));
        }
        text
    }
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
    match open_tab(&lease.browser, journey) {
        Ok((tab, context_id)) => {
            let console = Arc::new(ConsoleErrors::default());
            let _ = tab.add_event_listener(console.clone());
            run_steps(
                &tab,
                journey,
                deadline,
                &mut artifacts,
                &console,
                &mut outcome,
                log,
            );
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
fn open_tab(browser: &Browser, journey: &Journey) -> Result<(Arc<Tab>, String), StepError> {
    let context = browser.new_context()?;
    let context_id = context.get_id().to_string();
    let tab = context.new_tab()?;
    tab.call_method(Emulation::SetDeviceMetricsOverride {
        width: journey.viewport.width,
        height: journey.viewport.height,
        device_scale_factor: 1.0,
        mobile: false,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })?;
    tab.enable_runtime()?;
    Ok((tab, context_id))
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

#[allow(clippy::too_many_arguments)]
fn run_steps(
    tab: &Tab,
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
        let result = run_step(tab, step, &label, journey, deadline, artifacts);
        let duration = step_started.elapsed();
        let page = match &result {
            Ok(()) => new_page_timings(tab, &mut page_origin),
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
            page,
        });
        if let Err(StepError(reason)) = result {
            log(format!("reason: {reason}"));
            outcome.failed_step = Some(label);
            outcome.reason = Some(reason);
            save_failure(tab, artifacts, console);
            return;
        }
    }
    outcome.success = true;
}

fn run_step(
    tab: &Tab,
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
    tab.set_default_timeout(step_limit);
    match step {
        Step::Navigate { url, .. } => {
            let url = url.resolve()?;
            page::navigate(tab, &url, step_limit).map_err(StepError)?;
        }
        Step::Click { selector, .. } => {
            let target = page::find(tab, selector, step_limit, Want::Center).map_err(StepError)?;
            page::click_at(tab, target.x, target.y)?;
        }
        Step::Fill {
            selector, value, ..
        } => {
            let value = value.resolve()?;
            page::find(tab, selector, step_limit, Want::Focus).map_err(StepError)?;
            tab.send_character(&value)?;
        }
        Step::Press { key, .. } => {
            tab.press_key(key)?;
        }
        Step::Wait {
            selector, timeout, ..
        } => {
            let limit = timeout.map_or(left, |t| t.min(left));
            page::find(tab, selector, limit, Want::Exists)
                .map_err(|_| StepError(format!("{selector:?} did not appear within {limit:?}")))?;
        }
        Step::AssertText {
            selector, contains, ..
        } => {
            let text = page::find(tab, selector, step_limit, Want::Text)
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
            let url = evaluate_string(tab, "location.href")?;
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
            let png = screenshot(tab)?;
            artifacts.write(&format!("{label}.png"), &png)?;
        }
    }
    Ok(())
}

fn evaluate_string(tab: &Tab, expression: &str) -> Result<String, StepError> {
    let result = tab.evaluate(expression, false)?;
    match result.value {
        Some(serde_json::Value::String(s)) => Ok(s),
        other => Err(StepError(format!("{expression} gave {other:?}"))),
    }
}

fn screenshot(tab: &Tab) -> Result<Vec<u8>, StepError> {
    let png = tab.capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)?;
    Ok(png)
}

/// The timings of the page now shown, if it is not the one seen after the previous step.
fn new_page_timings(tab: &Tab, seen_origin: &mut Option<f64>) -> Option<PageTimings> {
    #[derive(serde::Deserialize)]
    struct Reading {
        origin: f64,
        timings: PageTimings,
    }
    let result = tab.evaluate(TIMINGS_SCRIPT, true).ok()?;
    let Some(serde_json::Value::String(text)) = result.value else {
        return None;
    };
    let reading: Reading = serde_json::from_str(&text).ok()?;
    if *seen_origin == Some(reading.origin) {
        return None;
    }
    *seen_origin = Some(reading.origin);
    Some(reading.timings)
}

/// Saves what a person needs to see why the step failed; each part is best effort.
fn save_failure(tab: &Tab, artifacts: &mut RunArtifacts, console: &ConsoleErrors) {
    let mut failed = Vec::new();
    match screenshot(tab) {
        Ok(png) => failed.extend(artifacts.write("failure.png", &png).err()),
        Err(StepError(reason)) => tracing::debug!(%reason, "no failure screenshot"),
    }
    if let Ok(html) = tab.get_content() {
        failed.extend(artifacts.write("page.html", html.as_bytes()).err());
    }
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
