//! axum: routing, auth extractors, error mapping per dialect, metrics.

pub mod auth;
mod connections;
mod cors;
pub mod dashboard;
pub mod dialect;
pub mod dialect_doc;
pub mod error;
pub mod fallback;
pub mod hot;
pub mod ingest;
pub mod json;
pub mod media;
pub mod metrics;
mod ops;
pub mod playback_url;
pub mod ratelimit;
mod ratelimit_headers;
pub mod routes;
pub mod server;
pub mod settings;
pub mod upload_body;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::get;
use axum::Router;

use routes::{Need, Routes};
use service::Services;

pub use metrics::Metrics;
pub use settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<Services>,
    pub metrics: Arc<Metrics>,
    /// Requests without a valid key, per client address (api.video's `/auth/*` and failed
    /// authentications): keys themselves are limited in the core.
    pub ratelimit: Arc<ratelimit::RateLimiter>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(svc: Arc<Services>, settings: Settings) -> Self {
        let limit = svc.settings.rate_limit;
        Self {
            svc,
            metrics: Arc::new(Metrics::default()),
            ratelimit: Arc::new(ratelimit::RateLimiter::new(
                limit.limit,
                u32::try_from(limit.duration_ms / 1000).unwrap_or(u32::MAX),
            )),
            settings: Arc::new(settings),
        }
    }
}

/// Every API dialect's routes, under one policy: the rate-limit headers (and CORS, in `app`),
/// the same for all of them.
fn api(state: &AppState) -> Routes {
    Routes::new()
        .merge(dialect::sg::routes())
        .merge(dialect::livepeer::routes())
        .merge(dialect::apivideo::routes(state))
        .merge(dialect::edgecast::routes())
        .merge(dialect::brightcove::routes())
        .merge(dialect::brightcove_jobs::routes())
        .map("", |r| {
            r.layer(axum::middleware::from_fn(ratelimit_headers::layer))
        })
}

/// Every route with what it needs from its caller (the router is built from this).
fn routes(state: &AppState) -> Routes {
    Routes::new()
        .route(
            "/healthz",
            get(ops::healthz),
            &[(Method::GET, Need::Anyone)],
        )
        .route("/readyz", get(ops::readyz), &[(Method::GET, Need::Anyone)])
        .route(
            "/metrics",
            get(ops::metrics),
            &[(Method::GET, Need::Anyone)],
        )
        .route(
            "/openapi.json",
            get(ops::openapi),
            &[(Method::GET, Need::Anyone)],
        )
        .route(
            "/.well-known/jwks.json",
            get(ops::jwks),
            &[(Method::GET, Need::Anyone)],
        )
        .route(
            "/media/videos/{id}/source.mp4",
            get(media::video_source),
            &[(Method::GET, Need::Anyone)],
        )
        .query(Method::GET, &["token"])
        .route(
            "/media/live/{playbackId}/thumbnail",
            get(media::stream_thumbnail),
            &[(Method::GET, Need::Anyone)],
        )
        .query(Method::GET, &["token"])
        .merge(api(state))
        .merge(ingest::routes())
        .merge(dashboard::routes())
}

/// The OpenAPI document `/openapi.json` serves, built from the declared routes.
pub fn openapi_document(state: &AppState) -> serde_json::Value {
    ops::document(&route_table(state))
}

/// The declared routes: what each method of each path needs (the policy matrix test's table).
pub fn route_table(state: &AppState) -> Vec<routes::RouteSpec> {
    routes(state).into_parts().1
}

/// The whole HTTP surface of streamgate.
pub fn app(state: AppState) -> Router {
    let (router, specs) = routes(&state).into_parts();
    // The OpenAPI document describes every declared route, from the same declarations.
    let document = ops::Document::new(&specs);
    router
        .layer(axum::Extension(document))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        // After the fallbacks, so that a preflight for a method a route does not serve (its
        // 405 fallback) is answered too.
        .layer(axum::middleware::from_fn(cors::layer))
        .layer(metrics::MetricsLayer(state.metrics.clone()))
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(state)
}
