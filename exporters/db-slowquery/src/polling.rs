//! What the database sources (`mysql_digest`, `postgres`) share: polling on the source's
//! interval under a timeout ([`Clock`]), the reconnection backoff, and marking a source down.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use crate::config::SourceConfig;
use crate::exporter::{lock, Shared};

/// The longest wait before reconnecting (never longer than the source's interval).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The shortest time a poll may take before it counts as hung, whatever the interval.
const MIN_POLL_TIMEOUT: Duration = Duration::from_secs(5);

/// The pace of one connection's polls: one each interval, each under a timeout (the interval,
/// at least 5 s).
pub struct Clock<'a> {
    ticker: tokio::time::Interval,
    timeout: Duration,
    source: &'a str,
    database: &'static str,
}

impl<'a> Clock<'a> {
    /// The clock of `config`'s source; `database` names the server's kind in the log.
    pub fn new(config: &'a SourceConfig, database: &'static str) -> Clock<'a> {
        let mut ticker = tokio::time::interval(config.interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Clock {
            ticker,
            timeout: config.interval().max(MIN_POLL_TIMEOUT),
            source: &config.name,
            database,
        }
    }

    /// Waits for the next tick and runs `poll` under the timeout: false, and logged, when it
    /// failed or timed out, so the caller reconnects.
    pub async fn poll<E: Display>(&mut self, poll: impl Future<Output = Result<(), E>>) -> bool {
        self.ticker.tick().await;
        let (source, database) = (self.source, self.database);
        match tokio::time::timeout(self.timeout, poll).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(source = %source, %error, "could not poll {database}");
                false
            }
            Err(_) => {
                tracing::warn!(source = %source, "polling {database} timed out");
                false
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
