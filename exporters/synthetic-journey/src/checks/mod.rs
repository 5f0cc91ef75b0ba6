//! Plain checks, one file per kind, all run through [`run`].

mod http;
mod websocket;

use std::time::{Instant, SystemTime};

use crate::config::{Check, CheckKind};
use crate::metrics::CheckOutcome;

/// Why a check failed, for the status page and the probe log.
pub type Failure = (Option<u16>, String);

/// What the checks share between runs.
#[derive(Clone)]
pub struct Checker {
    http: reqwest::Client,
}

impl Checker {
    pub fn new() -> Result<Checker, reqwest::Error> {
        // reqwest and tungstenite share rustls, built without a default crypto provider; a
        // second install (by the kit or a test) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Checker {
            http: http::client()?,
        })
    }

    /// Runs `check` once, bounded by its timeout.
    pub async fn run(&self, check: &Check) -> CheckOutcome {
        let started = Instant::now();
        let work = async {
            match check.kind {
                CheckKind::Http => http::run(&self.http, check).await,
                CheckKind::Websocket => websocket::run(check).await,
            }
        };
        let result = match tokio::time::timeout(check.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err((None, format!("timed out after {:?}", check.timeout))),
        };
        let (success, status_code, reason) = match result {
            Ok(code) => (true, Some(code), None),
            Err((code, reason)) => (false, code, Some(reason)),
        };
        CheckOutcome {
            check: check.name.clone(),
            success,
            duration: started.elapsed(),
            status_code,
            reason,
            finished_at: SystemTime::now(),
        }
    }
}
