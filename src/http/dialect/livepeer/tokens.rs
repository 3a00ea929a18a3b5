//! `/api/api-token…`: Livepeer's key management, on the same core API keys as the CLI's. The
//! secret is in the create response only. CORS-restricted keys never get here (allowlist).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, Livepeer, Lp, LpError, LpResult};
use crate::domain::{Actor, ApiKey};
use crate::http::json::Json;
use crate::http::AppState;
use crate::service::NewKey;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsBody {
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    full_access: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    #[serde(default)]
    cors: Option<CorsBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTokenBody {
    name: String,
    #[serde(default)]
    access: Option<AccessBody>,
    /// Livepeer projects are not modelled; accepted for compatibility.
    #[serde(default)]
    #[allow(dead_code)]
    project_id: Option<String>,
}

fn render(k: &ApiKey) -> Value {
    let mut v = json!({
        "id": k.id.to_string(),
        "name": k.name,
        "userId": k.account_id.to_string(),
        "createdAt": k.created_at,
        "lastSeen": k.last_used_at.unwrap_or(0),
    });
    if k.cors.is_cors_enabled() || k.cors.full_access {
        v["access"] = json!({"cors": {
            "allowedOrigins": k.cors.allowed_origins,
            "fullAccess": k.cors.full_access,
        }});
    }
    v
}

pub async fn create(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Json(body, ..): Json<Livepeer, NewTokenBody>,
) -> LpResult<Response> {
    let cors = body.access.and_then(|a| a.cors).unwrap_or_default();
    let created = state
        .svc
        .create_key(NewKey {
            account_id: actor.account_id(),
            name: body.name,
            environment: actor.environment(),
            allowed_origins: cors.allowed_origins,
            full_access: cors.full_access,
            expires_in_ms: None,
        })
        .await?;
    state
        .svc
        .audit_by(
            &actor,
            "api_key.create",
            format!("api_key:{}", created.key.id),
        )
        .await;
    let mut v = render(&created.key);
    v["key"] = Value::String(created.secret.expose().to_string());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

pub async fn list(State(state): State<AppState>, Lp(actor): Lp) -> LpResult<Response> {
    let keys = state.svc.list_keys(actor.account_id()).await?;
    let body: Vec<Value> = keys
        .iter()
        .filter(|k| k.environment == actor.environment() && k.revoked_at.is_none())
        .map(render)
        .collect();
    Ok(axum::Json(body).into_response())
}

/// A live key of the caller's account and environment; anything else is not found.
async fn own_key(state: &AppState, actor: &Actor, id: &str) -> LpResult<ApiKey> {
    let id = parse_id(id, "api token")?;
    state
        .svc
        .list_keys(actor.account_id())
        .await?
        .into_iter()
        .find(|k| k.id == id && k.environment == actor.environment() && k.revoked_at.is_none())
        .ok_or_else(|| LpError::new(StatusCode::NOT_FOUND, "not_found", "api token not found"))
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let key = own_key(&state, &actor, &id).await?;
    Ok(axum::Json(render(&key)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<StatusCode> {
    let key = own_key(&state, &actor, &id).await?;
    state
        .svc
        .revoke_key(Some(actor.account_id()), key.id)
        .await?;
    state
        .svc
        .audit_by(&actor, "api_key.revoke", format!("api_key:{}", key.id))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
