//! `/api/multistream/target…`. The target URL is write-only: accepted, never rendered.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, Livepeer, Lp, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::MultistreamTarget;
use domain::SecretString;
use service::streams::TargetPatch;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerNewTarget)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTargetBody {
    name: Option<String>,
    #[schema(value_type = String)]
    url: SecretString,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerTargetPatch)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetPatchBody {
    name: Option<String>,
    #[schema(value_type = Option<String>)]
    url: Option<SecretString>,
    disabled: Option<bool>,
}

fn render(t: &MultistreamTarget) -> Value {
    json!({
        "id": t.id.to_string(),
        "name": t.name,
        "userId": t.account_id.to_string(),
        "disabled": t.disabled,
        "createdAt": t.created_at,
    })
}

pub async fn create(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Json(body, ..): Json<Livepeer, NewTargetBody>,
) -> LpResult<Response> {
    let name = body.name.unwrap_or_else(|| "multistream target".into());
    let t = state
        .svc
        .create_target(&actor, &name, body.url, body.disabled)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(render(&t))).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let t = state
        .svc
        .get_target(&actor, parse_id(&id, "multistream target")?)
        .await?;
    Ok(axum::Json(render(&t)).into_response())
}

pub async fn list(State(state): State<AppState>, Lp(actor): Lp) -> LpResult<Response> {
    let all = state.svc.list_targets(&actor).await?;
    Ok(axum::Json(all.iter().map(render).collect::<Vec<_>>()).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Json(body, ..): Json<Livepeer, TargetPatchBody>,
) -> LpResult<StatusCode> {
    let patch = TargetPatch {
        name: body.name,
        url: body.url,
        disabled: body.disabled,
    };
    state
        .svc
        .update_target(&actor, parse_id(&id, "multistream target")?, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<StatusCode> {
    state
        .svc
        .delete_target(&actor, parse_id(&id, "multistream target")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
