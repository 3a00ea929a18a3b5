//! `/upload-tokens`: delegated upload tokens with a time to live.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{pagination, ApiVideo, Av, AvResult};
use crate::json::Json;
use crate::AppState;
use domain::clock::rfc3339;
use domain::UploadToken;

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = ApiVideoNewUploadToken)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    ttl: Option<i64>,
}

fn render(t: &UploadToken) -> Value {
    json!({
        "token": t.token.expose(),
        "ttl": t.ttl,
        "createdAt": rfc3339(t.created_at),
        "expiresAt": t.expires_at.map(rfc3339),
    })
}

pub async fn create(
    State(state): State<AppState>,
    Av(actor): Av,
    Json(body, ..): Json<ApiVideo, CreateBody>,
) -> AvResult<axum::Json<Value>> {
    let t = state
        .svc
        .create_upload_token(&actor, body.ttl.unwrap_or(0))
        .await?;
    Ok(axum::Json(render(&t)))
}

pub async fn get(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(token): Path<String>,
) -> AvResult<axum::Json<Value>> {
    let t = state.svc.get_upload_token(&actor, &token).await?;
    Ok(axum::Json(render(&t)))
}

pub async fn delete(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(token): Path<String>,
) -> AvResult<StatusCode> {
    state.svc.delete_upload_token(&actor, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    Av(actor): Av,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<HashMap<String, String>>,
) -> AvResult<axum::Json<Value>> {
    let (page, size) = pagination::params(&q)?;
    let sort_by = q
        .get("sortBy")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let sort_order = q
        .get("sortOrder")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let by_ttl = match sort_by {
        None | Some("createdAt") => false,
        Some("ttl") => true,
        Some(_) => {
            return Err(domain::Error::Invalid("sortBy must be createdAt or ttl".into()).into())
        }
    };
    let descending = match sort_order {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(domain::Error::Invalid("sortOrder must be asc or desc".into()).into())
        }
    };
    let (items, total) = state
        .svc
        .list_upload_tokens(&actor, by_ttl, descending, page, size)
        .await?;
    let extra: Vec<(&str, &str)> = [("sortBy", sort_by), ("sortOrder", sort_order)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let data = items.iter().map(render).collect();
    Ok(axum::Json(pagination::body(
        data,
        uri.path(),
        page,
        size,
        total,
        &extra,
    )))
}
