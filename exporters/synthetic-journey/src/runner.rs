//! Runs journeys from async code: waits for a slot under the concurrency limit, walks the
//! journey on a blocking thread, and bounds the whole run, killing a browser that hangs.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::artifacts::ArtifactStore;
use crate::browser::BrowserPool;
use crate::config::Journey;
use crate::journey;
use crate::metrics::JourneyOutcome;

/// How long past its own timeout a run may take before its browser counts as hung. The
/// walk itself stops at the timeout; this margin covers a browser that stopped answering.
const HUNG_MARGIN: Duration = Duration::from_secs(5);
/// The longest a run waits for the browser to launch (or answer its health check).
const LAUNCH_LIMIT: Duration = Duration::from_secs(60);

/// Journeys' shared means: the browser, the concurrency limit, the artifact store.
pub struct Runner {
    pool: Arc<BrowserPool>,
    permits: Arc<Semaphore>,
    waiting: Gauge,
    store: ArtifactStore,
}

impl Runner {
    pub fn new(
        pool: Arc<BrowserPool>,
        max_concurrent: usize,
        waiting: Gauge,
        store: ArtifactStore,
    ) -> Runner {
        Runner {
            pool,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            waiting,
            store,
        }
    }

    pub fn pool(&self) -> &Arc<BrowserPool> {
        &self.pool
    }

    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// Runs `journey` once within `limit`; neither the wait for a slot nor a browser launch
    /// counts against it. Returns the outcome and one log line per step.
    pub async fn run(
        &self,
        journey: Arc<Journey>,
        limit: Duration,
    ) -> (JourneyOutcome, Vec<String>) {
        self.waiting.inc();
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.dec();
        let Ok(permit) = permit else {
            return (
                failed(&journey, "the runner is shutting down".to_string()),
                Vec::new(),
            );
        };
        let (started_tx, started) = oneshot::channel();
        let task = {
            let (pool, store, journey) = (self.pool.clone(), self.store.clone(), journey.clone());
            tokio::task::spawn_blocking(move || {
                // The slot is held until the walk really ends, even if the caller gave up.
                let _permit = permit;
                let mut logs = Vec::new();
                let outcome = match pool.get() {
                    Ok(lease) => {
                        let _ = started_tx.send(lease.pid);
                        let deadline = Instant::now() + limit;
                        journey::walk(&lease, &journey, deadline, &store, &mut |l| logs.push(l))
                    }
                    Err(error) => failed(&journey, error.to_string()),
                };
                pool.measure_memory();
                (outcome, logs)
            })
        };
        self.finish(journey, task, started, limit).await
    }

    /// Waits for the walk; a browser that does not launch, or hangs past the run's timeout,
    /// is killed so that the blocked thread returns and the next run gets a fresh one.
    async fn finish(
        &self,
        journey: Arc<Journey>,
        mut task: JoinHandle<(JourneyOutcome, Vec<String>)>,
        started: oneshot::Receiver<u32>,
        limit: Duration,
    ) -> (JourneyOutcome, Vec<String>) {
        let pid = match tokio::time::timeout(LAUNCH_LIMIT, started).await {
            Ok(Ok(pid)) => Some(pid),
            // The walk never started: the launch failed and the task says why.
            Ok(Err(_)) => None,
            Err(_) => {
                // A browser that does not answer its health check is hung: end it.
                if let Some(pid) = self.pool.current_pid() {
                    let pool = self.pool.clone();
                    tokio::task::spawn_blocking(move || pool.discard(pid));
                }
                let reason = format!("no browser within {LAUNCH_LIMIT:?}");
                return (failed(&journey, reason), Vec::new());
            }
        };
        match tokio::time::timeout(limit + HUNG_MARGIN, &mut task).await {
            Ok(Ok(done)) => done,
            Ok(Err(error)) => (
                failed(&journey, format!("the run failed: {error}")),
                Vec::new(),
            ),
            Err(_) => {
                if let Some(pid) = pid {
                    let pool = self.pool.clone();
                    tokio::task::spawn_blocking(move || pool.discard(pid));
                }
                let reason = format!("the browser did not answer within {limit:?}; replaced");
                (failed(&journey, reason), Vec::new())
            }
        }
    }
}

/// A run that failed before or around its first step.
fn failed(journey: &Journey, reason: String) -> JourneyOutcome {
    let all_steps: Vec<String> = journey
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| s.label(i))
        .collect();
    JourneyOutcome {
        journey: journey.name.clone(),
        success: false,
        duration: Duration::ZERO,
        steps: Vec::new(),
        failed_step: all_steps.first().cloned(),
        all_steps,
        reason: Some(reason),
        artifacts: Vec::new(),
        finished_at: SystemTime::now(),
    }
}
