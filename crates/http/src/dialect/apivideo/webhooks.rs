//! `/webhooks`: outgoing notifications. The signature secret is shown at creation only; URLs
//! that name internal addresses are refused (see `domain::webhook`). Only api.video's webhooks:
//! Livepeer's (`/api/webhook`) are neither listed nor found here.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{pagination, ApiVideo, Av, AvResult};
use crate::json::Json;
use crate::AppState;
use domain::clock::rfc3339;
use domain::public_ids as ids;
use domain::webhook::Flavor;
use domain::Error;
use domain::Webhook;
use service::webhooks::NewWebhook;

const PREFIX: &str = "wh";

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiVideoNewWebhook)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    events: Vec<String>,
    url: String,
}

fn render(w: &Webhook) -> Value {
    json!({
        "webhookId": ids::encode(PREFIX, w.id),
        "events": w.events,
        "url": w.url,
        "createdAt": rfc3339(w.created_at),
    })
}

fn parse_id(id: &str) -> AvResult<uuid::Uuid> {
    ids::decode(PREFIX, id).ok_or_else(|| super::AvError::from(Error::NotFound("webhook")))
}

pub async fn create(
    State(state): State<AppState>,
    Av(actor): Av,
    Json(body, ..): Json<ApiVideo, CreateBody>,
) -> AvResult<Response> {
    let (w, secret) = state
        .svc
        .create_webhook(&actor, NewWebhook::apivideo(&body.url, body.events))
        .await?;
    let mut v = render(&w);
    v["signatureSecret"] = Value::String(secret.expose().to_string());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(id): Path<String>,
) -> AvResult<axum::Json<Value>> {
    let w = state
        .svc
        .get_webhook(&actor, Flavor::ApiVideo, parse_id(&id)?)
        .await?;
    Ok(axum::Json(render(&w)))
}

pub async fn delete(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(id): Path<String>,
) -> AvResult<StatusCode> {
    state
        .svc
        .delete_webhook(&actor, Flavor::ApiVideo, parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    Av(actor): Av,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<HashMap<String, String>>,
) -> AvResult<axum::Json<Value>> {
    let (page, size) = pagination::params(&q)?;
    let events = q
        .get("events")
        .map(String::as_str)
        .filter(|e| !e.is_empty());
    let (items, total) = state
        .svc
        .list_webhooks(&actor, Flavor::ApiVideo, events, (page - 1) * size, size)
        .await?;
    let data = items.iter().map(render).collect();
    Ok(axum::Json(pagination::body(
        data,
        uri.path(),
        page,
        size,
        total,
        &events
            .map(|e| ("events", e))
            .into_iter()
            .collect::<Vec<_>>(),
    )))
}
