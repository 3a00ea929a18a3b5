//! axum: routing, auth extractors, error mapping per dialect, metrics.

pub mod auth;
pub mod dialect;
pub mod error;
pub mod json;
pub mod metrics;
mod ops;

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
}

impl AppState {
    pub fn new(svc: Arc<Services>) -> Self {
        Self {
            svc,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// The whole HTTP surface of streamgate.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .merge(dialect::sg::routes())
        .merge(dialect::livepeer::routes())
        .fallback(dialect::sg::not_found)
        .method_not_allowed_fallback(dialect::sg::method_not_allowed)
        .layer(metrics::MetricsLayer(state.metrics.clone()))
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(state)
}
