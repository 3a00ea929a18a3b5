//! `/api/asset…` and `/api/task…`: Livepeer's direct uploads, on the core videos (the objects
//! api.video serves as `/videos`). `request-upload` hands out a one-time URL the file is PUT to
//! without an API key; `upload/url` imports from a URL. Each asset's upload or import is its
//! task. There is no transcoding: a complete source is `ready` and served as it is.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, Lp, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::{Video, VideoPhase, VideoSource};
use service::videos::{NewVideo, VideoFilter, VideoPatch, VideoQuery};

/// `POST /api/asset/request-upload`. Transcoding and storage options are accepted and ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerNewAsset)]
#[serde(rename_all = "camelCase")]
pub struct NewAssetBody {
    name: String,
}

/// `POST /api/asset/upload/url` (and `/api/asset/url`).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerNewAssetFromUrl)]
#[serde(rename_all = "camelCase")]
pub struct NewAssetFromUrlBody {
    name: String,
    url: String,
}

/// `PATCH /api/asset/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerAssetPatch)]
#[serde(rename_all = "camelCase")]
pub struct AssetPatchBody {
    name: Option<String>,
}

fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    crate::playback_url::public_base(&state.settings, headers)
}

fn asset_phase(p: VideoPhase) -> &'static str {
    match p {
        VideoPhase::Waiting | VideoPhase::Uploading => "uploading",
        VideoPhase::Ready => "ready",
        VideoPhase::Failed => "failed",
    }
}

fn task_phase(p: VideoPhase) -> &'static str {
    match p {
        VideoPhase::Waiting => "pending",
        VideoPhase::Uploading => "running",
        VideoPhase::Ready => "completed",
        VideoPhase::Failed => "failed",
    }
}

fn progress(v: &Video) -> Option<f64> {
    match (v.phase, v.total) {
        (VideoPhase::Ready, _) => Some(1.0),
        (VideoPhase::Uploading, Some(t)) if t > 0 => Some(v.received as f64 / t as f64),
        _ => None,
    }
}

/// The asset as Livepeer renders it (absent fields left out: its JS SDK refuses nulls).
pub fn render(state: &AppState, v: &Video, public: &str) -> LpResult<Value> {
    let mut status = json!({"phase": asset_phase(v.phase), "updatedAt": v.updated_at});
    if let Some(p) = progress(v) {
        status["progress"] = json!(p);
    }
    if let Some(e) = &v.error {
        status["errorMessage"] = json!(e);
    }
    let source = match &v.source {
        VideoSource::Upload => json!({"type": "directUpload"}),
        VideoSource::Url(u) => json!({"type": "url", "url": u}),
    };
    let mut out = json!({
        "id": v.id.to_string(),
        "name": v.title,
        "playbackId": v.playback_id,
        "userId": v.account_id.to_string(),
        "source": source,
        "status": status,
        "createdAt": v.created_at,
    });
    if v.phase == VideoPhase::Ready {
        let token = if v.public {
            None
        } else {
            Some(state.svc.video_private_token(v)?)
        };
        let url =
            crate::playback_url::video_file_url(public, v.id, token.as_ref().map(|t| t.expose()));
        out["size"] = json!(v.received);
        out["downloadUrl"] = json!(url);
        out["playbackUrl"] = json!(url);
    }
    Ok(out)
}

/// The asset's upload or import, as a Livepeer task.
fn render_task(v: &Video) -> Value {
    let mut status = json!({"phase": task_phase(v.phase), "updatedAt": v.updated_at});
    if let Some(p) = progress(v) {
        status["progress"] = json!(p);
    }
    if let Some(e) = &v.error {
        status["errorMessage"] = json!(e);
    }
    let params = match &v.source {
        VideoSource::Upload => json!({"upload": {}}),
        VideoSource::Url(u) => json!({"upload": {"url": u}}),
    };
    json!({
        "id": v.task_id.to_string(),
        "type": "upload",
        "createdAt": v.created_at,
        "outputAssetId": v.id.to_string(),
        "params": params,
        "status": status,
    })
}

pub async fn request_upload(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Json(body, ..): Json<super::Livepeer, NewAssetBody>,
) -> LpResult<axum::Json<Value>> {
    let (v, token) = state
        .svc
        .request_upload(
            &actor,
            NewVideo {
                title: body.name,
                ..Default::default()
            },
        )
        .await?;
    let base = public_base(&state, &headers);
    // Livepeer's SDKs read the answer from a 200 only (as Studio answers).
    Ok(axum::Json(json!({
        "url": format!("{base}/api/asset/upload/direct?token={}", token.expose()),
        "tusEndpoint": format!("{base}/api/asset/upload/tus?token={}", token.expose()),
        "asset": render(&state, &v, &base)?,
        "task": {"id": v.task_id.to_string()},
    })))
}

pub async fn from_url(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Json(body, ..): Json<super::Livepeer, NewAssetFromUrlBody>,
) -> LpResult<(StatusCode, axum::Json<Value>)> {
    let v = state
        .svc
        .import_video(
            &actor,
            NewVideo {
                title: body.name,
                ..Default::default()
            },
            &body.url,
        )
        .await?;
    let base = public_base(&state, &headers);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "asset": render(&state, &v, &base)?,
            "task": {"id": v.task_id.to_string()},
        })),
    ))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `PUT /api/asset/upload/direct?token=…`: the file as the raw body; the URL is its credential
/// and works once.
pub async fn put_direct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    body: Body,
) -> LpResult<axum::Json<Value>> {
    let token = q.token.unwrap_or_default();
    // In a task of its own: if the connection goes away, the upload still ends (its body fails)
    // and the asset is marked failed, rather than left uploading with its URL spent.
    let svc = state.svc.clone();
    let v = tokio::spawn(async move {
        svc.upload_with_url(&token, crate::upload_body::raw(body))
            .await
    })
    .await
    .map_err(|e| domain::Error::Internal(format!("upload task: {e}")))??;
    Ok(axum::Json(render(
        &state,
        &v,
        &public_base(&state, &headers),
    )?))
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> LpResult<axum::Json<Value>> {
    let v = state.svc.get_video(&actor, parse_id(&id, "asset")?).await?;
    Ok(axum::Json(render(
        &state,
        &v,
        &public_base(&state, &headers),
    )?))
}

pub async fn update(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body, ..): Json<super::Livepeer, AssetPatchBody>,
) -> LpResult<axum::Json<Value>> {
    let v = state
        .svc
        .update_video(
            &actor,
            parse_id(&id, "asset")?,
            VideoPatch {
                title: body.name,
                ..Default::default()
            },
        )
        .await?;
    Ok(axum::Json(render(
        &state,
        &v,
        &public_base(&state, &headers),
    )?))
}

pub async fn delete(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<StatusCode> {
    state
        .svc
        .delete_video(&actor, parse_id(&id, "asset")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `limit` and `cursor`, as given (parsed by `page`, so a bad one is a 400 in Livepeer's shape).
type ListQuery = std::collections::HashMap<String, String>;

fn limit(q: &ListQuery) -> LpResult<i64> {
    match q.get("limit").filter(|v| !v.is_empty()) {
        None => Ok(100),
        Some(v) => v
            .parse::<i64>()
            .map(|n| n.clamp(1, 100))
            .map_err(|_| domain::Error::Invalid("limit must be a number".into()).into()),
    }
}

/// Newest first, `limit` (at most 100) per page; `cursor` is the next page's number, which the
/// `Link` header names.
async fn page(
    state: &AppState,
    actor: &domain::Actor,
    q: &ListQuery,
) -> LpResult<(Vec<Video>, Option<i64>)> {
    let size = limit(q)?;
    let page = match q
        .get("cursor")
        .map(String::as_str)
        .filter(|c| !c.is_empty())
    {
        None => 1,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| domain::Error::Invalid("cursor is not one this server gave".into()))?,
    };
    let (videos, total) = state
        .svc
        .list_videos(
            actor,
            &VideoQuery {
                filter: VideoFilter::default(),
                sort: service::videos::VideoSort::CreatedAt,
                descending: true,
                page,
                size,
            },
        )
        .await?;
    let next = (page * size < total).then_some(page + 1);
    Ok((videos, next))
}

fn with_link(
    body: Value,
    headers: &HeaderMap,
    state: &AppState,
    path: &str,
    q: &ListQuery,
    next: Option<i64>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut res = axum::Json(body).into_response();
    if let Some(n) = next {
        let limit = limit(q).unwrap_or(100);
        let link = format!(
            "<{}{path}?limit={limit}&cursor={n}>; rel=\"next\"",
            public_base(state, headers)
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
            res.headers_mut().insert(axum::http::header::LINK, v);
        }
    }
    res
}

pub async fn list(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> LpResult<axum::response::Response> {
    let (videos, next) = page(&state, &actor, &q).await?;
    let base = public_base(&state, &headers);
    let data = videos
        .iter()
        .map(|v| render(&state, v, &base))
        .collect::<LpResult<Vec<_>>>()?;
    Ok(with_link(
        Value::Array(data),
        &headers,
        &state,
        "/api/asset",
        &q,
        next,
    ))
}

pub async fn task(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<axum::Json<Value>> {
    let v = state.svc.video_task(&actor, parse_id(&id, "task")?).await?;
    Ok(axum::Json(render_task(&v)))
}

pub async fn tasks(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> LpResult<axum::response::Response> {
    let (videos, next) = page(&state, &actor, &q).await?;
    let data = videos.iter().map(render_task).collect();
    Ok(with_link(
        Value::Array(data),
        &headers,
        &state,
        "/api/task",
        &q,
        next,
    ))
}
