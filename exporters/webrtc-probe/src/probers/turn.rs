//! The `turn` prober: an allocation over UDP, TCP or TLS, then a second allocation, a
//! permission each way, and a stream of messages from the first relay to the second and back.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use exporter_kit::ProbeContext;
use tokio::sync::oneshot;

use crate::client::{AbortOnDrop, Allocation, Client, Credentials};
use crate::config::Module;
use crate::credentials;
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};
use crate::stream::{self, Echo};
use crate::target::{self, HostPort};

/// The longest the final deallocations may take; they are courtesy, not measurement.
const RELEASE_WAIT: Duration = Duration::from_millis(500);

pub(super) async fn probe(
    module: &Module,
    target: &str,
    ctx: &mut ProbeContext,
    deadline: Deadline,
) -> Result<(), Failure> {
    let turn = module
        .turn
        .as_ref()
        .expect("validation requires turn credentials");
    let credentials = credentials::for_probe(turn, SystemTime::now())?;
    let (target, server) =
        target::locate(target, module.preferred_ip_protocol, deadline, ctx).await?;

    let (mut first, relay_a) =
        allocate(module, &target, server, &credentials, deadline, ctx).await?;
    let help = "Time from the first Allocate request to the granted allocation";
    probe::gauge(ctx, names::TURN_ALLOCATE, help, probe::seconds(relay_a.1));
    let (mut second, relay_b) =
        allocate(module, &target, server, &credentials, deadline, ctx).await?;
    let (relay_a, relay_b) = (relay_a.0.relayed, relay_b.0.relayed);

    let started = Instant::now();
    permit(&mut first, relay_b, deadline, ctx).await?;
    let help = "Time to install a permission on the allocation";
    probe::gauge(
        ctx,
        names::TURN_PERMISSION,
        help,
        probe::seconds(started.elapsed()),
    );
    permit(&mut second, relay_a, deadline, ctx).await?;

    let echo = EchoTask::start(second);
    let mut path = RelayPath {
        client: &mut first,
        peer: relay_b,
    };
    let measured = stream::measure(&mut path, &module.stream, deadline).await;
    let samples = measured.map_err(|e| Failure::new(stage::RELAY, e))?;
    release(&mut first, deadline).await;
    echo.stop(deadline).await;
    stream::conclude(ctx, &samples, stage::RELAY, "through the relay", false)
}

/// Connects and allocates; returns the client, the allocation and the time it took.
///
/// A 437 (Allocation Mismatch) means the server still holds an allocation for this 5-tuple:
/// the kernel reused the local port of an earlier client whose allocation the server has not
/// released yet. RFC 8656 §7.2 has the client try again from another port, so one retry is
/// made on a new connection; the time reported is that of the retry.
async fn allocate(
    module: &Module,
    target: &HostPort,
    server: SocketAddr,
    credentials: &Credentials,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(Client, (Allocation, Duration)), Failure> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut client = super::connect(module, target, server, deadline, ctx).await?;
        let started = Instant::now();
        let answer = deadline
            .within(stage::ALLOCATE, client.allocate(credentials))
            .await?;
        match answer {
            Ok(allocation) => {
                let took = started.elapsed();
                if client.stale_nonces() > 0 {
                    log_stale_nonce("allocation", ctx);
                }
                ctx.log(format!(
                    "allocated relay {} in {took:?}",
                    allocation.relayed
                ));
                return Ok((client, (allocation, took)));
            }
            Err(error) if error.code() == Some(437) && attempts == 1 => {
                ctx.log(format!(
                    "{error} from {}, retrying from another port",
                    client.local_addr()
                ));
            }
            Err(error) => return Err(super::client_failure(stage::ALLOCATE, error)),
        }
    }
}

async fn permit(
    client: &mut Client,
    peer: SocketAddr,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let before = client.stale_nonces();
    deadline
        .within(stage::PERMISSION, client.create_permission(peer))
        .await?
        .map_err(|e| super::client_failure(stage::PERMISSION, e))?;
    if client.stale_nonces() > before {
        log_stale_nonce("permission", ctx);
    }
    Ok(())
}

/// Notes in the probe's log that the server made the client renew its nonce during `step`.
fn log_stale_nonce(step: &str, ctx: &mut ProbeContext) {
    ctx.log(format!(
        "{step}: the server answered 438 (Stale Nonce); retried once with its new nonce"
    ));
}

async fn release(client: &mut Client, deadline: Deadline) {
    let wait = RELEASE_WAIT.min(deadline.remaining());
    let _ = tokio::time::timeout(wait, client.deallocate()).await;
}

/// The first allocation's side of the stream: out through its relay to the second one.
struct RelayPath<'c> {
    client: &'c mut Client,
    peer: SocketAddr,
}

impl Echo for RelayPath<'_> {
    async fn send(&mut self, message: Vec<u8>) -> io::Result<()> {
        self.client.send_to(self.peer, &message).await
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        loop {
            match self.client.recv_data().await {
                Ok((from, data)) if from == self.peer => return Ok(data),
                Ok(_) => continue,
                Err(error) => return Err(io::Error::other(error.to_string())),
            }
        }
    }
}

/// The second allocation, echoing whatever arrives back to its sender until stopped.
struct EchoTask {
    stop: oneshot::Sender<()>,
    task: AbortOnDrop,
}

impl EchoTask {
    fn start(mut client: Client) -> EchoTask {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    received = client.recv_data() => {
                        let Ok((from, data)) = received else { break };
                        if client.send_to(from, &data).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = tokio::time::timeout(RELEASE_WAIT, client.deallocate()).await;
        });
        EchoTask {
            stop,
            task: AbortOnDrop(task),
        }
    }

    /// Stops echoing and lets the task release its allocation, within the deadline.
    async fn stop(mut self, deadline: Deadline) {
        let _ = self.stop.send(());
        let wait = RELEASE_WAIT.min(deadline.remaining());
        let _ = tokio::time::timeout(wait, &mut self.task.0).await;
    }
}
