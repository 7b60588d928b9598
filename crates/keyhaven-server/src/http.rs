//! Serving HTTP/1.1 — and, over TLS, HTTP/2 — with limits a public server
//! needs, through hyper's connection builders (axum's own `serve` has no
//! header timeout):
//!
//! - a request head (and, on a kept-alive connection, the wait for the next
//!   one) must arrive within [`HttpLimits::header_timeout`], else the
//!   connection is closed;
//! - a whole request, body included, must be answered within
//!   [`HttpLimits::request_timeout`] (408 beyond: a body sent slowly);
//! - at most [`HttpLimits::max_connections`] connections are open at once; a
//!   connection over the limit is closed at once, so descriptors stay free;
//! - over TLS, the handshake must complete within the header timeout too;
//!   HTTP/2 connections have at most 64 streams at once and are pinged when
//!   idle (a peer that does not answer within the header timeout is dropped);
//! - on shutdown the listener closes, idle connections close, requests in
//!   flight get [`HttpLimits::shutdown_timeout`] to finish, then everything
//!   still open is dropped.

use axum::extract::connect_info::ConnectInfo;
use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// Connection and request limits of `keyhaven serve`.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Time allowed for a request head, and for the next one on an idle
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// Time allowed for a whole request (body read and answer).
    pub request_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time requests in flight get after SIGTERM.
    pub shutdown_timeout: Duration,
}

impl Default for HttpLimits {
    /// 10 s for a head or idle keep-alive, 30 s per request, 512 connections
    /// (half the usual 1,024 descriptor limit), 10 s to drain on shutdown.
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters the accept loop keeps (read by `/metrics`).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: std::sync::atomic::AtomicUsize,
    /// Connections closed at once because `max_connections` were open.
    pub refused: std::sync::atomic::AtomicU64,
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes,
/// then drains as [`HttpLimits::shutdown_timeout`] allows. Requests see the
/// peer address as `ConnectInfo<SocketAddr>`. With `tls`, each connection
/// first completes a TLS handshake within [`HttpLimits::header_timeout`],
/// then speaks HTTP/2 or HTTP/1.1 as ALPN chose.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: HttpLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
    tls: Option<Arc<crate::tls::Tls>>,
) -> std::io::Result<()> {
    use std::sync::atomic::Ordering;
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    // HTTP/2: a bounded number of streams, and pings that find dead peers.
    http2
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    // Shared by every connection's task (configured once, not copied each time).
    let (http1, http2) = (Arc::new(http1), Arc::new(http2));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept:
                    // wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(peer = %peer, max = limits.max_connections, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let watcher = graceful.watcher();
        let (http1, http2, tls) = (http1.clone(), http2.clone(), tls.clone());
        let handshake_timeout = limits.header_timeout;
        let stats = stats.clone();
        stats.open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let ended = match tls {
                None => {
                    watcher
                        .watch(http1.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(tls) => {
                    match tokio::time::timeout(handshake_timeout, tls.acceptor().accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                            let io = TokioIo::new(stream);
                            if h2 {
                                watcher.watch(http2.serve_connection(io, service)).await
                            } else {
                                watcher.watch(http1.serve_connection(io, service)).await
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(peer = %peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(peer = %peer, error = %e, "connection ended");
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(open, "shutting down: finishing requests in flight");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = limits.shutdown_timeout.as_secs_f64(),
            "shutdown: connections still open after the grace period are dropped"
        );
    }
    Ok(())
}
