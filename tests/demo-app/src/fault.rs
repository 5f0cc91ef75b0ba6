//! The admin switch for fault drills: make the application slow or failing for a while.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;

use crate::AppState;

/// The longest a drill may last, so a forgotten one ends by itself.
const MAX_DRILL: Duration = Duration::from_secs(3600);

/// What the application does to requests now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Slow(Duration),
    Failing,
}

/// The current fault and when it ends.
#[derive(Clone, Default)]
pub struct FaultSwitch {
    state: Arc<Mutex<Option<(Fault, Instant)>>>,
    active: Gauge,
}

impl FaultSwitch {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "fault_active",
            "1 while a fault drill makes the application slow or failing",
            self.active.clone(),
        );
    }

    /// The fault in force, if its time has not run out.
    pub fn current(&self) -> Fault {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            Some((fault, until)) if Instant::now() < until => fault,
            Some(_) => {
                *state = None;
                self.active.set(0);
                Fault::None
            }
            None => Fault::None,
        }
    }

    pub fn set(&self, fault: Fault, duration: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = match fault {
            Fault::None => None,
            _ => Some((fault, Instant::now() + duration.min(MAX_DRILL))),
        };
        self.active.set(i64::from(fault != Fault::None));
    }
}

#[derive(Deserialize)]
pub struct FaultRequest {
    /// `slow`, `failing` or `none`.
    mode: String,
    /// How long the fault lasts, such as `2m` (default 5m, at most 1h).
    #[serde(default, with = "humantime_serde")]
    duration: Option<Duration>,
    /// With `slow`: the delay added to every request (default 1500ms).
    #[serde(default, with = "humantime_serde")]
    delay: Option<Duration>,
}

/// `POST /admin/fault?mode=slow|failing|none[&duration=5m][&delay=1500ms]`.
pub async fn set(
    State(state): State<Arc<AppState>>,
    Query(request): Query<FaultRequest>,
) -> Response {
    let fault = match request.mode.as_str() {
        "slow" => Fault::Slow(request.delay.unwrap_or(Duration::from_millis(1500))),
        "failing" => Fault::Failing,
        "none" => Fault::None,
        other => {
            let message = format!("unknown mode {other:?}; use slow, failing or none\n");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let duration = request.duration.unwrap_or(Duration::from_secs(300));
    state.fault.set(fault, duration);
    tracing::warn!(?fault, ?duration, "fault drill set");
    show(State(state)).await
}

/// `GET /admin/fault`: the fault in force.
pub async fn show(State(state): State<Arc<AppState>>) -> Response {
    let text = match state.fault.current() {
        Fault::None => "none\n".to_string(),
        Fault::Slow(delay) => format!("slow by {delay:?}\n"),
        Fault::Failing => "failing\n".to_string(),
    };
    text.into_response()
}
