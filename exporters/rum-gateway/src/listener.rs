//! The optional separate listener for the public intakes (`--intake.listen-address`), so
//! the kit's listener with `/metrics` can stay on a private address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use exporter_kit::axum::body::Body;
use exporter_kit::axum::extract::ConnectInfo;
use exporter_kit::axum::http::StatusCode;
use exporter_kit::axum::routing::MethodRouter;
use exporter_kit::axum::Router;
use exporter_kit::Flags;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// How long requests in flight on the intake listener get to finish once it stops.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// The limits of the intake listener, taken from the kit's `--web.*` flags.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

impl Limits {
    pub fn from_flags(flags: &Flags) -> Limits {
        Limits {
            max_connections: flags.max_connections,
            header_read_timeout: flags.header_read_timeout,
        }
    }
}

/// The running intake listener.
pub struct Intake {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Intake {
    /// Stops accepting connections and waits for the requests in flight to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds `address` now (so a bad address fails the start) and serves `routes` on it.
pub fn spawn(
    address: String,
    routes: Vec<(String, MethodRouter)>,
    limits: Limits,
) -> Result<Intake, Box<dyn std::error::Error + Send + Sync>> {
    let address = match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address,
    };
    let std_listener = std::net::TcpListener::bind(&address)
        .map_err(|e| format!("could not listen on intake address {address}: {e}"))?;
    std_listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(std_listener)?;
    let local = listener.local_addr()?;
    tracing::info!(intake_address = %local, "intake endpoints served separately");
    let router = routes
        .into_iter()
        .fold(Router::new(), |r, (path, method)| r.route(&path, method))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, router, limits, stopped));
    Ok(Intake { stop, task })
}

async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            _ = stopped.changed() => break,
        };
        let Some((permit, stream, peer)) = accepted else {
            continue;
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            connection(stream, peer, router, limits, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?DRAIN_GRACE, "intake connections still open after the grace period");
    }
}

/// A connection slot and a connection, or `None` after an accept error (logged, backed off).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(
    tokio::sync::OwnedSemaphorePermit,
    tokio::net::TcpStream,
    SocketAddr,
)> {
    // The semaphore is never closed, so acquiring can only wait, not fail.
    let permit = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, peer)) => Some((permit, stream, peer)),
        Err(error) => {
            tracing::warn!(%error, "could not accept an intake connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    watcher: Watcher,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "intake connection ended with an error");
    }
}
