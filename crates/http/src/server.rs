//! Running the server: an HTTP/1.1 accept loop on hyper, background tasks (change follower, usage
//! flusher), and graceful shutdown that lets in-flight requests finish and flushes batched writes.
//!
//! HTTP/1.1 only, on purpose: every client this server speaks to (the platforms' SDKs, media-server
//! hooks, browsers behind a TLS proxy) uses it, and the plain connection loop is measurably cheaper
//! per request than the HTTP/1+2 auto-detecting one (see bench/verify.sh).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::drain::Drain;
use crate::{app, hot, AppState};
use service::Services;

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `shutdown` completes, then flushes batched writes.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let svc = state.svc.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower = tokio::spawn(svc.verifier.clone().follow_changes(stop_rx.clone()));
    let flusher = tokio::spawn(svc.usage.clone().run(stop_rx.clone()));
    let keyring = tokio::spawn(follow_keyring(svc.clone(), stop_rx.clone()));
    let rate_sync = tokio::spawn(svc.clone().run_rate_sync(stop_rx.clone()));
    let deliveries = tokio::spawn(deliver_webhooks(svc.clone(), stop_rx));
    serve_http1(listener, state, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = follower.await;
    let _ = flusher.await;
    let _ = keyring.await;
    let _ = rate_sync.await;
    let _ = deliveries.await;
    Ok(())
}

async fn serve_http1(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let router = app(state.clone());
    let hot = Arc::new(hot::Hot::new(state));
    let drain = Drain::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Small request/response exchanges: send each response at once, without Nagle's delay.
        let _ = stream.set_nodelay(true);
        let (hot, router) = (hot.clone(), router.clone());
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            // The verify path's hot route skips the router's generic dispatch (http::hot).
            let to = if hot::is_hot(&req) {
                Either::Left(hot.clone())
            } else {
                Either::Right(router.clone())
            };
            async move {
                match to {
                    Either::Left(hot) => Ok::<_, Infallible>(hot.answer(req).await),
                    Either::Right(router) => {
                        let mut req = req.map(Body::new);
                        req.extensions_mut().insert(ConnectInfo(peer));
                        let res = router.oneshot(req).await?;
                        Ok(res.map(Either::Right))
                    }
                }
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let conn = drain.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, drain.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after the drain timeout");
    }
}

/// Loads vault data keys added by another process (`vault rotate`) as soon as the change log
/// announces them, so values it re-seals can be read here.
async fn follow_keyring(svc: Arc<Services>, mut stop: watch::Receiver<bool>) {
    let mut seen = svc.verifier.vault_epoch();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => return,
        }
        let now = svc.verifier.vault_epoch();
        if now != seen {
            match svc.load_keyring().await {
                Ok(()) => seen = now,
                Err(e) => tracing::warn!(error = %e, "could not load the vault keyring"),
            }
        }
    }
}

/// Works through the webhook outbox (durable: what is not delivered yet is retried after a restart):
/// every round starts the due attempts, concurrently under per-endpoint, per-account and total
/// caps (`service::delivery_pool`); stopping aborts those in flight (retried once their lease ends).
async fn deliver_webhooks(svc: Arc<Services>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => return svc.stop_deliveries().await,
        }
        if let Err(e) = svc.deliver_due().await {
            tracing::warn!(error = %e, "webhook delivery round failed");
        }
    }
}

/// The peer address of a request, as the accept loop recorded it.
pub fn peer_addr(req: &axum::http::request::Parts) -> Option<SocketAddr> {
    req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
