//! What the database sources (`mysql_digest`, `postgres`) share: polling on the source's
//! interval under a timeout, the reconnection backoff, and marking a source down.

use std::fmt::Display;
use std::time::Duration;

use crate::config::SourceConfig;
use crate::exporter::{lock, Shared};

/// The longest wait before reconnecting (never longer than the source's interval).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The shortest time a poll may take before it counts as hung, whatever the interval.
const MIN_POLL_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls `poll` on the source's interval until it fails or outlasts its timeout (the
/// interval, at least 5 s), and logs why; the caller then reconnects. `database` names the
/// server's kind in the log.
pub async fn until_error<E: Display>(
    config: &SourceConfig,
    database: &str,
    mut poll: impl AsyncFnMut() -> Result<(), E>,
) {
    let mut ticker = tokio::time::interval(config.interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let timeout = config.interval().max(MIN_POLL_TIMEOUT);
    loop {
        ticker.tick().await;
        match tokio::time::timeout(timeout, poll()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(source = %config.name, %error, "could not poll {database}");
                return;
            }
            Err(_) => {
                tracing::warn!(source = %config.name, "polling {database} timed out");
                return;
            }
        }
    }
}

/// The wait before the next reconnection: double the last, at most a minute and at most the
/// source's interval (but a second at least).
pub fn next_backoff(backoff: Duration, config: &SourceConfig) -> Duration {
    (backoff * 2)
        .min(MAX_BACKOFF)
        .min(config.interval().max(Duration::from_secs(1)))
}

/// Marks a source down after a failed connection or poll.
pub fn set_down(shared: &Shared, name: &str) {
    if let Some(state) = lock(shared).get_mut(name) {
        state.up = false;
        state.errors += 1;
        state.running = 0;
        state.longest_running = 0.0;
    }
}
