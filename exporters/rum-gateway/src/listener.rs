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
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

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

/// Binds `address` now (so a bad address fails the start) and serves `routes` on it.
pub fn spawn(
    address: String,
    routes: Vec<(String, MethodRouter)>,
    limits: Limits,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
    tokio::spawn(serve(listener, router, limits));
    Ok(())
}

async fn serve(listener: TcpListener, router: Router, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "could not accept an intake connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            connection(stream, peer, router, limits).await;
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
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
    if let Err(error) = builder
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%peer, %error, "intake connection ended with an error");
    }
}
