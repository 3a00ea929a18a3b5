//! `/videos` and `/upload` in api.video's shapes, on the core videos (the objects Livepeer serves
//! as assets). Uploads are `multipart/form-data` with one file part, streamed into object
//! storage: whole, or in chunks named by `Content-Range` (`part k/N`, `part n/*` … `part n/n`
//! in progressive sessions, or `bytes a-b/total`).

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, OriginalUri, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{pagination, Av, AvError, AvResult};
use crate::json::Json;
use crate::upload_body::{self, Spooled};
use crate::AppState;
use domain::clock::rfc3339;
use domain::public_ids as ids;
use domain::video::ChunkRange;
use domain::{Error, Video, VideoPhase};
use service::videos::{NewVideo, VideoFilter, VideoPatch, VideoQuery, VideoSort};

const PREFIX: &str = "vi";

#[derive(Deserialize)]
pub struct MetadataBody {
    key: String,
    value: String,
}

/// `POST /videos`. The clients send only what was set; fields streamgate has no use for
/// (no transcoding, no players, captions or watermarks) are accepted and ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiVideoNewVideo)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    title: String,
    description: Option<String>,
    public: Option<bool>,
    #[schema(value_type = Option<Vec<String>>)]
    tags: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    metadata: Option<Vec<MetadataBody>>,
}

/// `PATCH /videos/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiVideoVideoPatch)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    public: Option<bool>,
    #[schema(value_type = Option<Vec<String>>)]
    tags: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    metadata: Option<Vec<MetadataBody>>,
}

fn pairs(m: Option<Vec<MetadataBody>>) -> Option<Vec<(String, String)>> {
    m.map(|m| m.into_iter().map(|p| (p.key, p.value)).collect())
}

/// The video as api.video renders it; its file is at `public`, with the private token when the
/// video is private.
pub fn render(state: &AppState, v: &Video, public: &str) -> AvResult<Value> {
    let token = if v.public {
        None
    } else {
        Some(state.svc.video_private_token(v)?)
    };
    let mp4 = crate::playback_url::video_file_url(public, v.id, token.as_ref().map(|t| t.expose()));
    let id = ids::encode(PREFIX, v.id);
    Ok(json!({
        "videoId": id,
        "title": v.title,
        "description": v.description,
        "createdAt": rfc3339(v.created_at),
        "publishedAt": rfc3339(v.created_at),
        "updatedAt": rfc3339(v.updated_at),
        "discarded": false,
        "tags": v.tags,
        "metadata": v.metadata.iter().map(|(k, val)| json!({"key": k, "value": val})).collect::<Vec<_>>(),
        "source": {"type": "upload", "uri": format!("/videos/{id}/source")},
        "assets": {
            "iframe": format!("<iframe src=\"{mp4}\" width=\"100%\" height=\"100%\" frameborder=\"0\" scrolling=\"no\" allowfullscreen=\"true\"></iframe>"),
            "player": mp4,
            "mp4": mp4,
        },
        "public": v.public,
        "panoramic": false,
        "mp4Support": true,
    }))
}

fn parse_id(id: &str) -> AvResult<uuid::Uuid> {
    ids::decode(PREFIX, id).ok_or_else(|| AvError::from(Error::NotFound("video")))
}

fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    crate::playback_url::public_base(&state.settings, headers)
}

pub async fn create(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Json(body, ..): Json<super::ApiVideo, CreateBody>,
) -> AvResult<(StatusCode, axum::Json<Value>)> {
    let v = state
        .svc
        .create_video(
            &actor,
            NewVideo {
                title: body.title,
                description: body.description.unwrap_or_default(),
                tags: body.tags.unwrap_or_default(),
                metadata: pairs(body.metadata).unwrap_or_default(),
                public: body.public,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(render(&state, &v, &public_base(&state, &headers))?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AvResult<axum::Json<Value>> {
    let v = state.svc.get_video(&actor, parse_id(&id)?).await?;
    Ok(axum::Json(render(
        &state,
        &v,
        &public_base(&state, &headers),
    )?))
}

pub async fn update(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body, ..): Json<super::ApiVideo, UpdateBody>,
) -> AvResult<axum::Json<Value>> {
    let patch = VideoPatch {
        title: body.title,
        description: body.description,
        tags: body.tags,
        metadata: pairs(body.metadata),
        public: body.public,
    };
    let v = state
        .svc
        .update_video(&actor, parse_id(&id)?, patch)
        .await?;
    Ok(axum::Json(render(
        &state,
        &v,
        &public_base(&state, &headers),
    )?))
}

pub async fn delete(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(id): Path<String>,
) -> AvResult<StatusCode> {
    state.svc.delete_video(&actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /videos/{id}/status`: what has arrived. There is no encoding: a complete source is
/// playable as it is.
pub async fn status(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(id): Path<String>,
) -> AvResult<axum::Json<Value>> {
    let v = state.svc.get_video(&actor, parse_id(&id)?).await?;
    let ready = v.phase == VideoPhase::Ready;
    let received = if v.received > 0 {
        vec![json!({"from": 0, "to": v.received - 1, "total": v.total.unwrap_or(v.received)})]
    } else {
        vec![]
    };
    Ok(axum::Json(json!({
        "ingest": {
            "status": if ready { "uploaded" } else { "uploading" },
            "filesize": v.total,
            "receivedBytes": received,
        },
        "encoding": {
            "playable": ready,
            "qualities": [],
            "metadata": {},
        },
    })))
}

/// `GET /videos`: `title`, `description`, `tags[]`, `metadata[key]=value`, `sortBy`
/// (`title`, `createdAt`, `publishedAt`, `updatedAt`), `sortOrder`, and the page.
pub async fn list(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> AvResult<axum::Json<Value>> {
    let all: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| AvError::from(Error::Invalid("the query is not well formed".into())))?;
    let single: HashMap<String, String> = all.iter().cloned().collect();
    let (page, size) = pagination::params(&single)?;
    let get = |k: &str| single.get(k).filter(|v| !v.is_empty()).cloned();
    let mut filter = VideoFilter {
        title: get("title"),
        description: get("description"),
        ..Default::default()
    };
    for (k, v) in &all {
        if k == "tags[]" || k == "tags" {
            filter.tags.push(v.clone());
        } else if let Some(key) = k
            .strip_prefix("metadata[")
            .and_then(|r| r.strip_suffix(']'))
        {
            filter.metadata.push((key.to_string(), v.clone()));
        }
    }
    if filter.tags.len() > domain::video::MAX_TAGS
        || filter.metadata.len() > domain::video::MAX_METADATA
    {
        return Err(Error::Invalid("too many tags or metadata to filter by".into()).into());
    }
    let sort = match get("sortBy").as_deref() {
        None | Some("createdAt") | Some("publishedAt") => VideoSort::CreatedAt,
        Some("title") => VideoSort::Title,
        Some("updatedAt") => VideoSort::UpdatedAt,
        Some(_) => {
            return Err(Error::Invalid(
                "sortBy must be title, createdAt, publishedAt or updatedAt".into(),
            )
            .into())
        }
    };
    let descending = match get("sortOrder").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(Error::Invalid("sortOrder must be asc or desc".into()).into()),
    };
    // Videos here are uploads; none comes from a live stream's recording.
    let from_live = get("liveStreamId").is_some();
    let (videos, total) = if from_live {
        (vec![], 0)
    } else {
        state
            .svc
            .list_videos(
                &actor,
                &VideoQuery {
                    filter,
                    sort,
                    descending,
                    page,
                    size,
                },
            )
            .await?
    };
    let base = public_base(&state, &headers);
    let data = videos
        .iter()
        .map(|v| render(&state, v, &base))
        .collect::<AvResult<Vec<_>>>()?;
    let extra: Vec<(&str, &str)> = all
        .iter()
        .filter(|(k, _)| k != "currentPage" && k != "pageSize")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(axum::Json(pagination::body(
        data,
        uri.path(),
        page,
        size,
        total,
        &extra,
    )))
}

/// The form, or why it is none (a 400 in api.video's shape); `what` it must hold.
pub(super) fn multipart(
    form: Result<Multipart, MultipartRejection>,
    what: &str,
) -> AvResult<Multipart> {
    form.map_err(|e| {
        Error::Invalid(format!(
            "the body must be a multipart/form-data form with {what}: {}",
            e.body_text()
        ))
        .into()
    })
}

fn chunk_range(headers: &HeaderMap) -> AvResult<Option<ChunkRange>> {
    match headers.get(header::CONTENT_RANGE) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| AvError::from(Error::Invalid("Content-Range is not text".into())))?;
            Ok(Some(ChunkRange::parse(s)?))
        }
    }
}

/// `POST /videos/{id}/source`: (a chunk of) the file, with the API key.
pub async fn upload_source(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> AvResult<(StatusCode, axum::Json<Value>)> {
    let id = parse_id(&id)?;
    let mut form = multipart(form, "the file")?;
    let range = chunk_range(&headers)?;
    let mut done = None;
    while let Some(field) = upload_body::next_field(&mut form).await? {
        if upload_body::is_file(&field) {
            if done.is_some() {
                return Err(Error::Invalid("the form holds more than one file".into()).into());
            }
            done = Some(state.svc.upload_source(&actor, id, range, field).await?);
        } else {
            upload_body::text_field(field).await?;
        }
    }
    let v = done.ok_or_else(|| AvError::from(Error::Invalid("the form holds no file".into())))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(render(&state, &v, &public_base(&state, &headers))?),
    ))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `POST /upload?token=…`: a delegated upload with an upload token, no API key.
pub async fn upload_with_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    form: Result<Multipart, MultipartRejection>,
) -> AvResult<(StatusCode, axum::Json<Value>)> {
    let token = q.token.unwrap_or_default();
    // The token is checked before the body is read: without a live one, nothing is written.
    state.svc.upload_token_scope(&token).await?;
    let mut form = multipart(form, "the file")?;
    let range = chunk_range(&headers)?;
    // A progressive session's later parts name their video in a field that one client sends
    // after the file: the file then waits on local disk until the field has been read.
    // (Chunks of the clients' `part k/N` uploads name no video at all: they wait there too, and
    // are then found by the service from the token, N and the file's name.)
    let needs_id = matches!(range, Some(ChunkRange::Part { n, .. }) if n > 1);
    let mut video_id: Option<uuid::Uuid> = None;
    let mut done = None;
    let mut spooled: Option<(Spooled, String)> = None;
    let parse_video_id = |s: &str| {
        ids::decode(PREFIX, s.trim()).ok_or_else(|| AvError::from(Error::NotFound("video")))
    };
    while let Some(field) = upload_body::next_field(&mut form).await? {
        if upload_body::is_file(&field) {
            if done.is_some() || spooled.is_some() {
                return Err(Error::Invalid("the form holds more than one file".into()).into());
            }
            let name = field
                .file_name()
                .map(|n| domain::text::cap(n, 1024).to_string())
                .unwrap_or_default();
            if needs_id && video_id.is_none() {
                let max = state.svc.settings.upload_max_bytes;
                spooled = Some((Spooled::write(field, max).await?, name));
                continue;
            }
            done = Some(
                state
                    .svc
                    .upload_with_token(&token, video_id, &name, range, field)
                    .await?,
            );
        } else {
            let (name, value) = upload_body::text_field(field).await?;
            if name == "videoId" {
                video_id = Some(parse_video_id(&value)?);
            }
        }
    }
    if let Some((file, name)) = spooled {
        if video_id.is_none() && matches!(range, Some(ChunkRange::Part { count: None, .. })) {
            return Err(Error::Invalid(
                "a progressive upload's later parts must name their video (the videoId field)"
                    .into(),
            )
            .into());
        }
        done = Some(
            state
                .svc
                .upload_with_token(&token, video_id, &name, range, file.stream()?)
                .await?,
        );
    }
    let v = done.ok_or_else(|| AvError::from(Error::Invalid("the form holds no file".into())))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(render(&state, &v, &public_base(&state, &headers))?),
    ))
}
