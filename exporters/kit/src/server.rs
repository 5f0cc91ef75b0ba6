//! The accept loop: TLS when the web config asks for it, a cap on open connections, a header
//! read timeout, a body size limit, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::metrics::{KitMetrics, ReasonLabels};
use crate::webconfig::WebConfig;

/// How long open connections get to finish their requests after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits every listener enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub max_request_body_bytes: usize,
}

/// Everything a connection task needs, shared by all of them.
struct Shared {
    router: Router,
    limits: Limits,
    metrics: KitMetrics,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    web: watch::Receiver<WebConfig>,
    limits: Limits,
    metrics: KitMetrics,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let shared = Arc::new(Shared {
        router,
        limits,
        metrics,
    });
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = take_slot(&slots, &shared.metrics) => permit,
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let tls = web.borrow().tls.clone();
                let task = connection(stream, peer, tls, shared.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let _permit = permit;
                    task.await;
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them");
    }
}

async fn take_slot(slots: &Arc<Semaphore>, metrics: &KitMetrics) -> OwnedSemaphorePermit {
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return permit;
    }
    metrics.connection_limit_reached.inc();
    // The semaphore is never closed, so acquiring can only wait, not fail.
    slots
        .clone()
        .acquire_owned()
        .await
        .expect("connection semaphore is never closed")
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shared: Arc<Shared>,
    watcher: Watcher,
) {
    shared.metrics.open_connections.inc();
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_io(TokioIo::new(stream), peer, &shared, watcher).await,
        Some(config) => {
            let handshake = TlsAcceptor::from(config).accept(stream);
            match tokio::time::timeout(shared.limits.header_read_timeout, handshake).await {
                Ok(Ok(stream)) => serve_io(TokioIo::new(stream), peer, &shared, watcher).await,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    count_error(&shared.metrics, "tls_handshake");
                }
                Err(_) => count_error(&shared.metrics, "tls_handshake_timeout"),
            }
        }
    }
    shared.metrics.open_connections.dec();
}

async fn serve_io<I>(io: TokioIo<I>, peer: SocketAddr, shared: &Arc<Shared>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = shared.router.clone();
    let body_limit = shared.limits.max_request_body_bytes;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(|body| Body::new(Limited::new(body, body_limit)));
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_read_timeout);
    let connection = builder.serve_connection_with_upgrades(io, service);
    if let Err(error) = watcher.watch(connection).await {
        let reason = match error.downcast_ref::<hyper::Error>() {
            Some(e) if e.is_timeout() => "header_read_timeout",
            Some(e) if e.is_parse() || e.is_parse_status() => "malformed_request",
            _ => "io",
        };
        tracing::debug!(%peer, %error, reason, "connection ended with an error");
        count_error(&shared.metrics, reason);
    }
}

fn count_error(metrics: &KitMetrics, reason: &str) {
    metrics
        .connection_errors
        .get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        })
        .inc();
}
