//! The fixed-rate stream of small numbered messages that a peer echoes back: the common
//! measurement of the `turn` (through the relay) and `peer` (over a data channel) probers.

use std::future::Future;
use std::io;
use std::time::Instant;

use exporter_kit::ProbeContext;
use prometheus_client::encoding::EncodeLabelSet;
use tokio::time::sleep_until;

use crate::config::StreamConfig;
use crate::names;
use crate::probe::{self, Deadline, Failure};
use crate::quality::{Class, Samples, Summary};

/// A path that carries messages to an echoing peer and back.
pub trait Echo: Send {
    fn send(&mut self, message: Vec<u8>) -> impl Future<Output = io::Result<()>> + Send;
    /// The next echoed message; must be cancel-safe.
    fn recv(&mut self) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
}

/// Sends `config.packets` messages at `config.interval`, waits `config.linger` for the last
/// echoes (never past `deadline`), and returns the round-trip times seen.
pub async fn measure(
    echo: &mut impl Echo,
    config: &StreamConfig,
    deadline: Deadline,
) -> io::Result<Samples> {
    let total = config.packets as usize;
    let mut sent_at: Vec<Option<Instant>> = Vec::with_capacity(total);
    let mut samples = Samples::default();
    let mut next = Instant::now();
    loop {
        let wake = if sent_at.len() < total {
            next
        } else {
            next + config.linger - config.interval
        };
        let wake = wake.min(deadline.0);
        tokio::select! {
            () = sleep_until(wake.into()) => {
                if sent_at.len() == total || Instant::now() >= deadline.0 {
                    break;
                }
                echo.send(payload(sent_at.len() as u32, config.size)).await?;
                sent_at.push(Some(Instant::now()));
                next += config.interval;
            }
            answer = echo.recv() => {
                record(&answer?, &mut sent_at, &mut samples);
                if samples.round_trips.len() == total {
                    break;
                }
            }
        }
    }
    samples.sent = sent_at.len() as u32;
    Ok(samples)
}

fn payload(sequence: u32, size: usize) -> Vec<u8> {
    let mut message = vec![0u8; size];
    message[..4].copy_from_slice(&sequence.to_be_bytes());
    message
}

/// Notes the round trip of an echo; duplicates and strangers are ignored.
fn record(answer: &[u8], sent_at: &mut [Option<Instant>], samples: &mut Samples) {
    let Some(head) = answer.get(..4) else { return };
    let sequence = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if let Some(sent) = sent_at.get_mut(sequence).and_then(Option::take) {
        samples.round_trips.push(sent.elapsed());
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuantileLabels {
    quantile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: String,
}

/// Logs how many messages came back `over` the path and registers the stream's figures
/// (`with_voice` adds the MOS and quality class); a stream of which nothing came back fails
/// at `stage`.
pub fn conclude(
    ctx: &mut ProbeContext,
    samples: &Samples,
    stage: &'static str,
    over: &str,
    with_voice: bool,
) -> Result<(), Failure> {
    ctx.log(format!(
        "{} of {} messages came back {over}",
        samples.round_trips.len(),
        samples.sent
    ));
    let summary = samples
        .summary()
        .ok_or_else(|| Failure::new(stage, format!("no message came back {over}")))?;
    report(ctx, samples, &summary, with_voice);
    Ok(())
}

fn report(ctx: &mut ProbeContext, samples: &Samples, summary: &Summary, with_voice: bool) {
    let quantiles = [("0.5", summary.median), ("0.95", summary.p95)].map(|(q, d)| {
        let labels = QuantileLabels {
            quantile: q.to_string(),
        };
        (labels, probe::seconds(d))
    });
    let help = "Round-trip time of the stream's messages";
    probe::gauges(ctx, names::ROUND_TRIP_TIME, help, &quantiles);
    let jitter = probe::seconds(summary.jitter);
    probe::gauge(
        ctx,
        names::JITTER,
        "RFC 3550 jitter of the round-trip time",
        jitter,
    );
    probe::gauge(
        ctx,
        names::PACKET_LOSS,
        "Share of messages lost",
        summary.loss,
    );
    let sent = f64::from(samples.sent);
    probe::gauge(ctx, names::PACKETS_SENT, "Messages sent", sent);
    let received = samples.round_trips.len() as f64;
    probe::gauge(ctx, names::PACKETS_RECEIVED, "Echoes received", received);
    if with_voice {
        probe::gauge(
            ctx,
            names::MOS,
            "E-model MOS estimate of a voice call",
            summary.mos,
        );
        let classes = Class::ALL.map(|class| {
            let labels = ClassLabels {
                class: class.as_str().to_string(),
            };
            (labels, f64::from(u8::from(class == summary.class)))
        });
        let help = "Quality class of the path for a voice call (1 for the class found)";
        probe::gauges(ctx, names::QUALITY, help, &classes);
    }
}
