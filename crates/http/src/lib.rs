//! axum: routing, auth extractors, error mapping per dialect, metrics.

pub mod auth;
pub mod dashboard;
pub mod dialect;
mod drain;
pub mod error;
pub mod hot;
pub mod ingest;
pub mod json;
pub mod metrics;
mod ops;
pub mod ratelimit;
pub mod server;
pub mod settings;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

use service::Services;

pub use metrics::Metrics;
pub use settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<Services>,
    pub metrics: Arc<Metrics>,
    /// Per-key request limits of the dialects that have them (api.video).
    pub ratelimit: Arc<ratelimit::RateLimiter>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(svc: Arc<Services>, settings: Settings) -> Self {
        Self {
            svc,
            metrics: Arc::new(Metrics::default()),
            ratelimit: Arc::new(ratelimit::RateLimiter::new(
                settings.rate_limit,
                settings.rate_limit_window_secs,
            )),
            settings: Arc::new(settings),
        }
    }
}

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
