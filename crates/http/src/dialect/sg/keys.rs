//! Key management in streamgate's own API (`/sg/v1/keys…`), Unkey-class: create with
//! permissions, CORS, expiry, a rate limit, credits and meta; list, read, change, revoke, reroll
//! with a grace period; and verification for other services. The same keys as every dialect's.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{Sg, SgErrorBody, SgResult};
use crate::auth::Authed;
use crate::error::ApiError;
use crate::json::Json;
use crate::AppState;
use domain::clock::{parse_rfc3339_ms, rfc3339};
use domain::{
    ApiKey, Credits, Environment, Error, KeyInfo, KeyPolicy, Permissions, RateLimit, SecretString,
    VerifyCode,
};
use service::{KeyChange, NewKey};

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsInput {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub full_access: bool,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitInput {
    pub limit: i64,
    pub duration_seconds: i64,
}

#[derive(Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefillInput {
    pub interval: String,
    pub amount: i64,
}

#[derive(Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreditsInput {
    pub remaining: i64,
    pub refill: Option<RefillInput>,
}

/// A field that is present (even as `null`) is `Some`, so `null` can mean "clear".
fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKeyBody {
    pub name: String,
    pub environment: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub cors: Option<CorsInput>,
    /// RFC 3339.
    pub expires_at: Option<String>,
    pub ratelimit: Option<RateLimitInput>,
    pub credits: Option<CreditsInput>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// `PATCH`: fields present are changed; `null` clears (permissions: back to the CORS preset;
/// expiresAt: never; ratelimit: the default; credits: unlimited; meta: none).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyPatchBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub permissions: Option<Option<Vec<String>>>,
    pub cors: Option<CorsInput>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RateLimitInput>)]
    pub ratelimit: Option<Option<RateLimitInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CreditsInput>)]
    pub credits: Option<Option<CreditsInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Option<Value>>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerollBody {
    #[serde(default)]
    pub grace_period_seconds: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[schema(value_type = String)]
    pub key: SecretString,
    /// `resource:action` the key must hold (else `INSUFFICIENT_PERMISSIONS`).
    pub permission: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub environment: Option<String>,
}

fn expiry(s: &str) -> Result<i64, Error> {
    parse_rfc3339_ms(s)
        .ok_or_else(|| Error::Invalid(format!("expiresAt must be an RFC 3339 time (got {s:?})")))
}

fn credits(c: CreditsInput, now: i64) -> Result<Credits, Error> {
    let refill = c.refill.as_ref().map(|r| (r.interval.as_str(), r.amount));
    Credits::new(c.remaining, refill, now)
}

/// A key as this API shows it: never its secret.
pub fn render(k: &ApiKey, now: i64) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "environment": k.environment,
        "prefix": k.prefix,
        "permissions": k.policy.effective(&k.cors).to_strings(),
        "cors": {"allowedOrigins": k.cors.allowed_origins, "fullAccess": k.cors.full_access},
        "ratelimit": k.policy.ratelimit.map(RateLimit::to_json),
        "credits": k.policy.credits.map(Credits::to_json),
        "meta": k.policy.meta.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
        "createdAt": rfc3339(k.created_at),
        "lastUsedAt": k.last_used_at.map(rfc3339),
        "expiresAt": k.expires_at.map(rfc3339),
        "revokedAt": k.revoked_at.map(rfc3339),
        "status": match k.status(now) {
            VerifyCode::Revoked => "revoked",
            VerifyCode::Expired => "expired",
            _ => "active",
        },
    })
}

fn id(s: &str) -> SgResult<uuid::Uuid> {
    uuid::Uuid::parse_str(s).map_err(|_| ApiError::from(Error::NotFound("api key")))
}

/// Creates a key; its secret (`key`) is in this response only.
#[utoipa::path(post, path = "/sg/v1/keys", tag = "keys", request_body = NewKeyBody,
    responses((status = 201, body = Object), (status = 400, body = SgErrorBody), (status = 403, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Json(body, ..): Json<Sg, NewKeyBody>,
) -> SgResult<Response> {
    let now = state.svc.now_ms();
    let environment = match body.environment.as_deref() {
        Some(e) => Environment::parse(e)?,
        None => actor.environment(),
    };
    let expires_in_ms = match body.expires_at.as_deref() {
        Some(s) => Some(expiry(s)? - now),
        None => None,
    };
    let cors = body.cors.unwrap_or_default();
    let policy = KeyPolicy {
        permissions: body
            .permissions
            .map(|l| Permissions::parse(&l))
            .transpose()?,
        ratelimit: body
            .ratelimit
            .map(|r| RateLimit::new(r.limit, r.duration_seconds))
            .transpose()?,
        credits: body.credits.map(|c| credits(c, now)).transpose()?,
        meta: body.meta.as_ref().map(KeyPolicy::check_meta).transpose()?,
    };
    let created = state
        .svc
        .create_key(
            &actor,
            NewKey {
                name: body.name,
                environment,
                allowed_origins: cors.allowed_origins,
                full_access: cors.full_access,
                expires_in_ms,
                policy,
            },
        )
        .await?;
    let mut v = render(&created.key, now);
    v["key"] = Value::String(created.secret.expose().to_string());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// The caller's keys (its environment's; `?environment=` narrows a dashboard user's view).
#[utoipa::path(get, path = "/sg/v1/keys", tag = "keys",
    params(("environment" = Option<String>, Query)),
    responses((status = 200, body = Object), (status = 403, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Query(q): Query<ListQuery>,
) -> SgResult<axum::Json<Value>> {
    let only = q
        .environment
        .as_deref()
        .map(Environment::parse)
        .transpose()?;
    let now = state.svc.now_ms();
    let keys = state.svc.list_keys(&actor, true).await?;
    let data: Vec<Value> = keys
        .iter()
        .filter(|k| only.is_none_or(|e| k.environment == e))
        .map(|k| render(k, now))
        .collect();
    Ok(axum::Json(json!({ "data": data })))
}

#[utoipa::path(get, path = "/sg/v1/keys/{id}", tag = "keys",
    responses((status = 200, body = Object), (status = 404, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Path(key_id): Path<String>,
) -> SgResult<axum::Json<Value>> {
    let k = state.svc.get_key(&actor, id(&key_id)?).await?;
    Ok(axum::Json(render(&k, state.svc.now_ms())))
}

#[utoipa::path(patch, path = "/sg/v1/keys/{id}", tag = "keys", request_body = KeyPatchBody,
    responses((status = 200, body = Object), (status = 400, body = SgErrorBody), (status = 404, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Path(key_id): Path<String>,
    Json(body, ..): Json<Sg, KeyPatchBody>,
) -> SgResult<axum::Json<Value>> {
    let now = state.svc.now_ms();
    let change = KeyChange {
        name: body.name,
        permissions: body.permissions,
        cors: body.cors.map(|c| (c.allowed_origins, c.full_access)),
        expires_at: body
            .expires_at
            .map(|e| e.as_deref().map(expiry).transpose())
            .transpose()?,
        ratelimit: body
            .ratelimit
            .map(|r| {
                r.map(|r| RateLimit::new(r.limit, r.duration_seconds))
                    .transpose()
            })
            .transpose()?,
        credits: body
            .credits
            .map(|c| c.map(|c| credits(c, now)).transpose())
            .transpose()?,
        meta: body.meta,
    };
    let k = state.svc.update_key(&actor, id(&key_id)?, change).await?;
    Ok(axum::Json(render(&k, now)))
}

/// Revokes a key: every instance refuses it within a second.
#[utoipa::path(delete, path = "/sg/v1/keys/{id}", tag = "keys",
    responses((status = 204), (status = 404, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Path(key_id): Path<String>,
) -> SgResult<StatusCode> {
    state.svc.revoke_key(&actor, id(&key_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new key with the same settings; the old one works for `gracePeriodSeconds` more (0: none).
#[utoipa::path(post, path = "/sg/v1/keys/{id}/reroll", tag = "keys", request_body = RerollBody,
    responses((status = 201, body = Object), (status = 404, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn reroll(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Path(key_id): Path<String>,
    Json(body, ..): Json<Sg, RerollBody>,
) -> SgResult<Response> {
    let grace_ms = body.grace_period_seconds.saturating_mul(1000);
    let created = state.svc.reroll_key(&actor, id(&key_id)?, grace_ms).await?;
    let mut v = render(&created.key, state.svc.now_ms());
    v["key"] = Value::String(created.secret.expose().to_string());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// What verification says about a key (the key's fields only when it is the caller's account's).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub valid: bool,
    pub code: VerifyCode,
    pub key_id: Option<String>,
    pub account_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub environment: Option<Environment>,
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    /// Credits left (absent: unlimited).
    pub credits: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub ratelimit: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    pub expires_at: Option<String>,
}

fn verify_body(code: VerifyCode, k: Option<&KeyInfo>) -> VerifyResponse {
    VerifyResponse {
        valid: code == VerifyCode::Valid,
        code,
        key_id: k.map(|k| k.id.to_string()),
        account_id: k.map(|k| k.account_id.to_string()),
        environment: k.map(|k| k.environment),
        name: k.map(|k| k.name.clone()),
        permissions: k.map(|k| k.permissions.to_strings()),
        credits: k.and_then(KeyInfo::credits_left),
        ratelimit: k.and_then(|k| k.ratelimit).map(RateLimit::to_json),
        meta: k
            .and_then(|k| k.meta.as_deref())
            .and_then(|m| serde_json::from_str::<Value>(m).ok()),
        expires_at: k.and_then(|k| k.expires_at).map(rfc3339),
    }
}

/// Verifies a key on behalf of another service. Always 200 with `valid` and a `code` (VALID,
/// NOT_FOUND, REVOKED, EXPIRED, MALFORMED, INSUFFICIENT_PERMISSIONS, RATE_LIMITED,
/// USAGE_EXCEEDED); a verification spends a credit and counts against the rate limit, as a
/// request would. Keys of other accounts read as NOT_FOUND.
#[utoipa::path(post, path = "/sg/v1/keys/verify", tag = "keys", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = SgErrorBody), (status = 401, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    Json(req, ..): Json<Sg, VerifyRequest>,
) -> SgResult<axum::Json<VerifyResponse>> {
    let outcome = state
        .svc
        .verify_key_for(&actor, req.key.expose(), req.permission.as_deref())
        .await?;
    Ok(axum::Json(verify_body(
        outcome.code,
        outcome.key.as_deref(),
    )))
}
