//! Running the server: background tasks (change follower, usage flusher) and graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::{app, AppState};
use crate::service::Services;

/// Serves until `shutdown` completes, then flushes batched writes.
pub async fn run(
    listener: TcpListener,
    svc: Arc<Services>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(svc.clone());
    run_with_state(listener, state, shutdown).await
}

pub async fn run_with_state(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let svc = state.svc.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower = tokio::spawn(svc.verifier.clone().follow_changes(stop_rx.clone()));
    let flusher = tokio::spawn(svc.usage.clone().run(stop_rx));
    let result = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = follower.await;
    let _ = flusher.await;
    result
}
