//! Operational endpoints: health, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::dialect::sg;
use super::AppState;

/// The process and its store, as the background probe last found them (every 500 ms): the
/// probes themselves never query the store.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `/healthz`: always `ok` (the process serves). `/readyz`: `ready` or `not_ready`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    /// Did the last probe reach the store (null before the first probe)?
    pub store_reachable: Option<bool>,
    /// Since when (Unix ms) the store has been reachable, or unreachable.
    pub store_since_ms: i64,
    /// For how long (ms) it has been so.
    pub store_for_ms: u64,
    /// Every migration this binary carries is applied.
    pub migrations_applied: bool,
    /// The change-log follower keeps up, so cached keys are trusted.
    pub change_log_synced: bool,
    /// Reachable store, migrations applied, change log followed: what `/readyz` answers 200 for.
    pub ready: bool,
}

fn health(state: &AppState, status: &'static str) -> Health {
    let h = state.svc.store_health();
    Health {
        status,
        store: h.backend,
        store_reachable: h.reachable,
        store_since_ms: h.since_ms,
        store_for_ms: h.for_ms,
        migrations_applied: h.migrations_applied,
        change_log_synced: h.change_log_synced,
        ready: h.ready(),
    }
}

/// Liveness: 200 whenever the process serves; the body says whether the store is reachable.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(health(&state, "ok"))
}

/// Readiness: 200 when the store is reachable, its migrations applied and the change log
/// followed; 503 otherwise (same body).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let h = health(&state, "ready");
    if h.ready {
        (StatusCode::OK, axum::Json(h))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: "not_ready",
                ..h
            }),
        )
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
    paths(healthz, readyz, metrics, sg::me, sg::keys::verify, sg::keys::create, sg::keys::list, sg::keys::get, sg::keys::update, sg::keys::delete, sg::keys::reroll, sg::webhook_credential, sg::usage),
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
