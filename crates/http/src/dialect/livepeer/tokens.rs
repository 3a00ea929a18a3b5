//! `/api/api-token…`: Livepeer's key management, on the same core API keys as the CLI's. The
//! secret is in the create response only. CORS-restricted keys never get here (allowlist).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, Livepeer, Lp, LpError, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::{Actor, ApiKey};
use service::NewKey;

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = LivepeerCors)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsBody {
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    full_access: bool,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = LivepeerAccess)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    #[serde(default)]
    cors: Option<CorsBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerNewToken)]
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
        .create_key(
            &actor,
            NewKey {
                name: body.name,
                environment: actor.environment(),
                allowed_origins: cors.allowed_origins,
                full_access: cors.full_access,
                expires_in_ms: None,
                policy: Default::default(),
            },
        )
        .await?;
    let mut v = render(&created.key);
    v["key"] = Value::String(created.secret.expose().to_string());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

pub async fn list(State(state): State<AppState>, Lp(actor): Lp) -> LpResult<Response> {
    let keys = state.svc.list_keys(&actor, false).await?;
    let body: Vec<Value> = keys.iter().map(render).collect();
    Ok(axum::Json(body).into_response())
}

/// A live key of the caller's account and environment; anything else is not found.
async fn own_key(state: &AppState, actor: &Actor, id: &str) -> LpResult<ApiKey> {
    let id = parse_id(id, "api token")?;
    state.svc.get_key(actor, id).await.map_err(|e| match e {
        domain::Error::NotFound(_) => {
            LpError::new(StatusCode::NOT_FOUND, "not_found", "api token not found")
        }
        e => e.into(),
    })
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
    state.svc.revoke_key(&actor, key.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
