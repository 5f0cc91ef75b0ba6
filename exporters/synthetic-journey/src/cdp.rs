//! A DevTools connection of its own to one tab, for every call a journey step makes.
//!
//! headless_chrome 1.0.22 answers each call only after up to 100 ms: its reader thread holds
//! the socket's lock through a blocking read with a 100 ms timeout, so a call waits for that
//! read to time out before it can be written, and a call to a tab is two such messages (it is
//! wrapped in `Target.sendMessageToTarget` and answered by an event). This connection belongs
//! to the one thread that walks the journey: it writes a call and reads until the answer
//! arrives, so nothing waits for a lock or a poll. headless_chrome still launches the browser,
//! opens each run's context and tab, and gathers console errors.
//!
//! While reading, the connection keeps track of the main frame's navigations (from the `Page`
//! domain's events), so that a step can wait for the document it started to load.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// The largest message accepted: a full-page PNG screenshot, base64-encoded, fits easily.
const MAX_MESSAGE: usize = 256 << 20;

/// Loaders of recent main-frame documents that fired their load event, newest last.
const LOADED_KEPT: usize = 8;

/// Why a call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("could not connect to the tab's DevTools endpoint {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the browser did not answer {method} within {limit:?}")]
    Timeout { method: String, limit: Duration },
    #[error("the DevTools connection failed: {0}")]
    Connection(String),
    /// The browser refused the call, e.g. because the document it ran in went away.
    #[error("{method} failed: {message}")]
    Refused { method: String, message: String },
}

/// What the main frame did lately, as the `Page` domain reported it.
#[derive(Debug, Default)]
pub struct Navigation {
    /// A navigation of the main frame was asked for or began since [`take_started`].
    ///
    /// [`take_started`]: PageConnection::take_started
    pub started: bool,
    /// The main frame finished loading (or gave up) since the last navigation began.
    pub stopped: bool,
    /// The loader of the document now committed in the main frame.
    pub committed: Option<String>,
    loaded: VecDeque<String>,
}

impl Navigation {
    /// Whether the document of `loader` has fired its load event.
    pub fn loaded(&self, loader: &str) -> bool {
        self.loaded.iter().any(|l| l == loader)
    }
}

/// A page event the walk cares about besides navigations.
type EventSink = Box<dyn FnMut(&str, &Value) + Send>;

/// One tab's own DevTools connection.
pub struct PageConnection {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    frame_id: String,
    navigation: Navigation,
    sink: Option<EventSink>,
}

impl PageConnection {
    /// Connects to the tab `target_id` of the browser whose DevTools endpoint is
    /// `browser_ws_url`, and turns on the events that report navigations.
    pub fn open(
        browser_ws_url: &str,
        target_id: &str,
        limit: Duration,
    ) -> Result<PageConnection, CdpError> {
        let mut url = url::Url::parse(browser_ws_url).map_err(|e| CdpError::Connect {
            url: browser_ws_url.to_string(),
            reason: e.to_string(),
        })?;
        url.set_path(&format!("/devtools/page/{target_id}"));
        let refused = |reason: String| CdpError::Connect {
            url: url.to_string(),
            reason,
        };
        let address = url
            .socket_addrs(|| None)
            .map_err(|e| refused(e.to_string()))?
            .into_iter()
            .next()
            .ok_or_else(|| refused("no address".to_string()))?;
        let stream =
            TcpStream::connect_timeout(&address, limit).map_err(|e| refused(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| refused(e.to_string()))?;
        stream
            .set_read_timeout(Some(limit))
            .map_err(|e| refused(e.to_string()))?;
        stream
            .set_write_timeout(Some(limit))
            .map_err(|e| refused(e.to_string()))?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (socket, _) =
            tungstenite::client::client_with_config(url.as_str(), stream, Some(config))
                .map_err(|e| refused(e.to_string()))?;
        let mut connection = PageConnection {
            socket,
            next_id: 0,
            // A tab's main frame has the tab's target id.
            frame_id: target_id.to_string(),
            navigation: Navigation::default(),
            sink: None,
        };
        let until = Instant::now() + limit;
        connection.call("Page.enable", json!({}), until)?;
        connection.call(
            "Page.setLifecycleEventsEnabled",
            json!({"enabled": true}),
            until,
        )?;
        Ok(connection)
    }

    /// Hands every event other than the `Page` domain's to `sink`, such as console messages.
    pub fn set_event_sink(&mut self, sink: EventSink) {
        self.sink = Some(sink);
    }

    /// What the main frame did lately.
    pub fn navigation(&self) -> &Navigation {
        &self.navigation
    }

    /// Whether a navigation of the main frame began since the last call, and forgets it.
    pub fn take_started(&mut self) -> bool {
        let started = self.navigation.started;
        self.navigation.started = false;
        self.navigation.stopped = false;
        started
    }

    /// Calls `method` and returns its result, reading events meanwhile; gives up at `until`.
    pub fn call(&mut self, method: &str, params: Value, until: Instant) -> Result<Value, CdpError> {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(Message::text(text))
            .map_err(|e| CdpError::Connection(e.to_string()))?;
        loop {
            let Some(mut message) = self.read(until, method)? else {
                continue;
            };
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                // The answer to an earlier call that gave up waiting: nobody wants it now.
                continue;
            }
            if let Some(error) = message.get("error") {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(CdpError::Refused {
                    method: method.to_string(),
                    message: message.to_string(),
                });
            }
            return Ok(message
                .get_mut("result")
                .map(Value::take)
                .unwrap_or_default());
        }
    }

    /// Reads events until `done` holds for the navigation state or `until` passes; `false`
    /// when the time ran out.
    pub fn wait_for(
        &mut self,
        until: Instant,
        mut done: impl FnMut(&Navigation) -> bool,
    ) -> Result<bool, CdpError> {
        while !done(&self.navigation) {
            match self.read(until, "an event") {
                Ok(_) => {}
                Err(CdpError::Timeout { .. }) => return Ok(false),
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }

    /// Reads one message: an answer is returned, an event is taken in and gives `None`.
    fn read(&mut self, until: Instant, waiting_for: &str) -> Result<Option<Value>, CdpError> {
        let left = until.saturating_duration_since(Instant::now());
        let timeout = || CdpError::Timeout {
            method: waiting_for.to_string(),
            limit: left,
        };
        if left.is_zero() {
            return Err(timeout());
        }
        self.socket
            .get_mut()
            .set_read_timeout(Some(left))
            .map_err(|e| CdpError::Connection(e.to_string()))?;
        let text = match self.socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(_) => return Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return Err(timeout());
            }
            Err(e) => return Err(CdpError::Connection(e.to_string())),
        };
        let mut message: Value =
            serde_json::from_str(&text).map_err(|e| CdpError::Connection(e.to_string()))?;
        if message.get("id").is_some() {
            return Ok(Some(message));
        }
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        let method = method.to_string();
        let params = message
            .get_mut("params")
            .map(Value::take)
            .unwrap_or_default();
        self.take_in(&method, &params);
        Ok(None)
    }

    /// Follows the main frame's navigations; passes other events to the sink.
    fn take_in(&mut self, method: &str, params: &Value) {
        let Some(domain_event) = method.strip_prefix("Page.") else {
            if let Some(sink) = self.sink.as_mut() {
                sink(method, params);
            }
            return;
        };
        let frame = match domain_event {
            "frameNavigated" => params.pointer("/frame/id"),
            _ => params.get("frameId"),
        };
        if frame.and_then(Value::as_str) != Some(self.frame_id.as_str()) {
            return;
        }
        let loader = |pointer: &str| params.pointer(pointer).and_then(Value::as_str);
        let state = &mut self.navigation;
        match domain_event {
            "frameRequestedNavigation" | "frameStartedNavigating" | "frameStartedLoading" => {
                state.started = true;
                state.stopped = false;
            }
            "frameStoppedLoading" => state.stopped = true,
            "frameNavigated" => state.committed = loader("/frame/loaderId").map(str::to_string),
            "lifecycleEvent" if loader("/name") == Some("load") => {
                if let Some(id) = loader("/loaderId") {
                    if state.loaded.len() == LOADED_KEPT {
                        state.loaded.pop_front();
                    }
                    state.loaded.push_back(id.to_string());
                }
            }
            _ => {}
        }
    }
}

impl Drop for PageConnection {
    fn drop(&mut self) {
        // Best effort: the tab is about to go away with its context anyway.
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}
