//! axum: routing, auth extractors, error mapping per dialect, metrics.

pub mod auth;
pub mod dashboard;
pub mod dialect;
pub mod error;
pub mod hot;
pub mod ingest;
pub mod json;
pub mod metrics;
mod ops;
pub mod ratelimit;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

use crate::service::Services;

pub use metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<Services>,
    pub metrics: Arc<Metrics>,
    /// Per-key request limits of the dialects that have them (api.video).
    pub ratelimit: Arc<ratelimit::RateLimiter>,
}

impl AppState {
    pub fn new(svc: Arc<Services>) -> Self {
        Self {
            svc,
            metrics: Arc::new(Metrics::default()),
            ratelimit: Arc::new(ratelimit::RateLimiter::new(
                crate::config::env_u32("STREAMGATE_RATE_LIMIT", DEFAULT_RATE_LIMIT),
                crate::config::env_u32("STREAMGATE_RATE_LIMIT_WINDOW_SECS", 60),
            )),
        }
    }
}

/// Requests per key per window (`STREAMGATE_RATE_LIMIT`, `STREAMGATE_RATE_LIMIT_WINDOW_SECS`).
pub const DEFAULT_RATE_LIMIT: u32 = 1200;

/// The whole HTTP surface of streamgate.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/.well-known/jwks.json", get(ops::jwks))
        .merge(dialect::sg::routes())
        .merge(dialect::livepeer::routes())
        .merge(dialect::apivideo::routes(&state))
        .merge(dialect::edgecast::routes())
        .merge(dialect::brightcove::routes())
        .merge(ingest::routes())
        .merge(dashboard::routes())
        .fallback(dialect::sg::not_found)
        .method_not_allowed_fallback(dialect::sg::method_not_allowed)
        .layer(metrics::MetricsLayer(state.metrics.clone()))
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(state)
}
