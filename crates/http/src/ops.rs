//! Operational endpoints: health, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::dialect::sg;
use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub store: &'static str,
}

/// Liveness and store reachability.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (store, health) = state.svc.store_health().await;
    match health {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(Health {
                status: "ok",
                store,
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "unavailable",
                    store,
                }),
            )
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    // With `metrics_token` set, only a scraper presenting it reads the metrics.
    if let Some(token) = &state.settings.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !service::ingest::constant_time_eq(presented.as_bytes(), token.expose().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                "metrics need the bearer token configured as metrics_token\n",
            )
                .into_response();
        }
    }
    let verifier = &state.svc.verifier;
    let group = state.svc.group_commit_stats();
    let hashing = state.svc.passwords.stats();
    let body = state.metrics.render(&[
        (
            "streamgate_key_cache_entries",
            "API key hashes held in the verify cache.",
            verifier.cached_entries() as f64,
        ),
        (
            "streamgate_key_store_lookups",
            "Key verifications that had to read the store (cache misses), since start.",
            verifier.store_lookups() as f64,
        ),
        (
            "streamgate_stream_cache_entries",
            "Streams held in the read path's object cache.",
            verifier.cached_streams() as f64,
        ),
        (
            "streamgate_change_log_applied_seq",
            "Last change-log entry this instance has applied to its cache (-1: not following).",
            verifier.applied_seq() as f64,
        ),
        (
            "streamgate_group_commit_transactions",
            "Transactions committed for group commits (audit events, publish starts and ends), since start.",
            group.groups.load(Relaxed) as f64,
        ),
        (
            "streamgate_group_commit_callers",
            "Requests whose writes those transactions committed, since start (callers / transactions = mean group size).",
            group.callers.load(Relaxed) as f64,
        ),
        (
            "streamgate_group_commit_retried_alone",
            "Requests written again on their own after a write of their group was refused, since start.",
            group.retried_alone.load(Relaxed) as f64,
        ),
        (
            "streamgate_password_hashes_in_flight",
            "Password hashes and checks (argon2id) running now.",
            hashing.in_flight as f64,
        ),
        (
            "streamgate_password_hashes_peak",
            "The most password hashes that ever ran at once (never above password_hash_concurrency).",
            hashing.peak as f64,
        ),
        (
            "streamgate_password_hash_concurrency",
            "Password hashes allowed to run at once.",
            hashing.concurrency as f64,
        ),
        (
            "streamgate_password_hashes_refused",
            "Password hashes refused with 503 because the queue was full, since start.",
            hashing.refused as f64,
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "x-api-key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-KEY"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "streamgate", description = "Authentication and credentials server for live-video platforms"),
    paths(healthz, metrics, sg::me, sg::keys::verify, sg::keys::create, sg::keys::list, sg::keys::get, sg::keys::update, sg::keys::delete, sg::keys::reroll, sg::webhook_credential, sg::usage),
    modifiers(&Security)
)]
pub struct ApiDoc;

pub async fn openapi() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

/// The public keys that verify access tokens (RFC 7517), e.g. for MediaMTX's `authJWTJWKS`.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.svc.jwks().await {
        Ok(keys) => (
            [(axum::http::header::CACHE_CONTROL, "max-age=60")],
            axum::Json(keys),
        )
            .into_response(),
        Err(e) => crate::error::ApiError::<sg::Sg>::from(e).into_response(),
    }
}
