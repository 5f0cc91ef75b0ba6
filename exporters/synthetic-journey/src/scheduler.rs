//! Runs every journey and check on its own interval, each starting after a random part of
//! its interval so they spread out, and starts over with the new set on every reload.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::checks::Checker;
use crate::config::{Check, Config, Journey};
use crate::metrics::{CheckMetrics, JourneyMetrics};
use crate::runner::Runner;
use crate::status::StatusBoard;

/// What scheduled runs and `/probe` share.
pub struct Shared {
    pub runner: Runner,
    pub checker: Checker,
    pub journey_metrics: JourneyMetrics,
    pub check_metrics: CheckMetrics,
    pub board: StatusBoard,
}

/// Schedules the journeys and checks of `config`, and again after each change of it.
pub fn start(shared: Arc<Shared>, mut config: watch::Receiver<Arc<Config>>) {
    tokio::spawn(async move {
        loop {
            let current = config.borrow_and_update().clone();
            shared.board.configure(&current);
            let mut tasks = JoinSet::new();
            for journey in &current.journeys {
                tasks.spawn(journey_loop(shared.clone(), Arc::new(journey.clone())));
            }
            for check in &current.checks {
                tasks.spawn(check_loop(shared.clone(), Arc::new(check.clone())));
            }
            tracing::info!(
                journeys = current.journeys.len(),
                checks = current.checks.len(),
                "scheduled"
            );
            if config.changed().await.is_err() {
                return;
            }
            // A run cut short here still finishes on its blocking thread, holding its slot.
            tasks.abort_all();
        }
    });
}

async fn journey_loop(shared: Arc<Shared>, journey: Arc<Journey>) {
    let mut ticks = ticker(journey.interval);
    loop {
        ticks.tick().await;
        let (outcome, _) = shared.runner.run(journey.clone(), journey.timeout).await;
        tracing::debug!(
            journey = %journey.name,
            success = outcome.success,
            failed_step = outcome.failed_step.as_deref().unwrap_or(""),
            reason = outcome.reason.as_deref().unwrap_or(""),
            "journey run"
        );
        shared.journey_metrics.record(&outcome);
        shared.board.journey_done(&outcome);
    }
}

async fn check_loop(shared: Arc<Shared>, check: Arc<Check>) {
    let mut ticks = ticker(check.interval);
    loop {
        ticks.tick().await;
        let outcome = shared.checker.run(&check).await;
        tracing::debug!(
            check = %check.name,
            success = outcome.success,
            reason = outcome.reason.as_deref().unwrap_or(""),
            "check run"
        );
        shared.check_metrics.record(&outcome);
        shared.board.check_done(&outcome);
    }
}

/// Ticks every `interval`, the first time after a random part of it. A run longer than the
/// interval delays the next one rather than starting a burst.
fn ticker(interval: Duration) -> tokio::time::Interval {
    let offset = interval.mul_f64(random_fraction());
    let mut ticks = tokio::time::interval_at(Instant::now() + offset, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// A number in [0, 1) from the standard library's randomly keyed hasher.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fractions_stay_below_one_and_vary() {
        let values: Vec<f64> = (0..100).map(|_| random_fraction()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let first = values[0];
        assert!(values.iter().any(|v| *v != first));
    }
}
