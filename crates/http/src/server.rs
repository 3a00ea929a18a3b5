//! Running the server: an HTTP/1.1 accept loop on hyper under the connection limits (timeouts and a
//! cap, see `connections`), background tasks (change follower, usage flusher, store health
//! probe), and graceful shutdown that lets in-flight requests finish and flushes batched writes.
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

use crate::connections::{self, Connections, Ended, Limits, Tracked};
use crate::metrics::Closed;
use crate::{app, hot, AppState, Settings};
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
    let retention = tokio::spawn(svc.clone().run_retention(stop_rx.clone()));
    // Writes refused publishes in aggregate each window, and what is left at shutdown.
    let ingest = tokio::spawn(svc.clone().run_ingest_housekeeping(stop_rx.clone()));
    let health = tokio::spawn(svc.clone().run_health(stop_rx.clone()));
    let clips = tokio::spawn(work_clips(svc.clone(), stop_rx.clone()));
    let deliveries = tokio::spawn(deliver_webhooks(svc.clone(), stop_rx));
    serve_http1(listener, state, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = follower.await;
    let _ = flusher.await;
    let _ = keyring.await;
    let _ = rate_sync.await;
    let _ = retention.await;
    let _ = ingest.await;
    let _ = deliveries.await;
    let _ = clips.await;
    let _ = health.await;
    Ok(())
}

async fn serve_http1(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let router = app(state.clone());
    let hot = Arc::new(hot::Hot::new(state.clone()));
    let metrics = state.metrics.clone();
    let limits = limits(&state.settings);
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout_ms = limits.header_timeout.as_millis() as u64,
        idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
        body_timeout_ms = limits.body_timeout.as_millis() as u64,
        "connection limits"
    );
    let connections = Connections::new(limits, metrics.clone());
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
        // At the cap with every connection serving a request: closed at once.
        let Some(slot) = connections.admit() else {
            drop(stream);
            continue;
        };
        // Small request/response exchanges: send each response at once, without Nagle's delay.
        let _ = stream.set_nodelay(true);
        let (hot, router, conn) = (hot.clone(), router.clone(), slot.conn.clone());
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            conn.request_started();
            // The routes clients poll skip the router's generic dispatch (http::hot).
            let to = match hot::hot_route(&req) {
                Some(route) => Either::Left((hot.clone(), route)),
                None => Either::Right(router.clone()),
            };
            let conn = conn.clone();
            async move {
                let res = match to {
                    Either::Left((hot, route)) => hot.answer(route, req, peer).await,
                    Either::Right(router) => {
                        let mut req = req.map(|b| Body::new(conn.timed_body(b)));
                        req.extensions_mut().insert(ConnectInfo(peer));
                        let Ok(res) = router.oneshot(req).await;
                        res.map(Either::Right)
                    }
                };
                conn.request_done();
                Ok::<_, Infallible>(res)
            }
        });
        let io = TokioIo::new(Tracked::new(stream, slot.conn.clone()));
        let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        let conn = connections.watch(slot, conn);
        let metrics = metrics.clone();
        tokio::spawn(async move {
            match conn.await {
                Ended::Served(Ok(())) => {}
                Ended::Served(Err(e)) => {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                Ended::Closed(why) => {
                    tracing::debug!(reason = why.as_str(), "connection closed by the server");
                    if why != Closed::Evicted {
                        // Evictions are counted when they are decided.
                        metrics.connection_closed(why);
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after the drain timeout");
    }
}

/// The connection limits configuration asks for.
fn limits(s: &Settings) -> Limits {
    Limits {
        header_timeout: s.header_timeout,
        idle_timeout: s.idle_timeout,
        body_timeout: s.body_timeout,
        max_connections: s
            .max_connections
            .unwrap_or_else(connections::default_max_connections)
            .max(1),
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

/// Works through the clip outputs (durable like the outbox): every second starts the due
/// attempts under `service::clips::CLIP_SLOTS`, and finishes the live jobs whose encoder did not
/// come back in time; stopping aborts the attempts in flight (retried once their lease ends).
async fn work_clips(svc: Arc<Services>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return svc.stop_clips(),
        }
        if let Err(e) = svc.work_clips().await {
            tracing::warn!(error = %e, "clip round failed");
        }
    }
}

/// The peer address of a request, as the accept loop recorded it.
pub fn peer_addr(req: &axum::http::request::Parts) -> Option<SocketAddr> {
    req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
