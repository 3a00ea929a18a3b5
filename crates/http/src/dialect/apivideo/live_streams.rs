//! `/live-streams` in api.video's shapes, on the core streams (the same objects Livepeer's
//! `/api/stream` serves). Restream keys are write-only: shown masked.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{pagination, ApiVideo, Av, AvResult};
use crate::json::Json;
use crate::AppState;
use domain::clock::rfc3339;
use domain::credential::mask;
use domain::memo::Rendering;
use domain::public_ids as ids;
use domain::stream::CachedStream;
use domain::SecretString;
use domain::{Actor, Restream, Stream};
use service::streams::{NewStream, StreamPatch};

const PREFIX: &str = "li";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestreamBody {
    name: String,
    server_url: String,
    stream_key: SecretString,
}

impl From<RestreamBody> for Restream {
    fn from(r: RestreamBody) -> Self {
        Restream {
            name: r.name,
            server_url: r.server_url,
            stream_key: r.stream_key,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    record: Option<bool>,
    public: Option<bool>,
    player_id: Option<String>,
    restreams: Option<Vec<RestreamBody>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    record: Option<bool>,
    public: Option<bool>,
    player_id: Option<String>,
    restreams: Option<Vec<RestreamBody>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestreamOut {
    name: String,
    server_url: String,
    stream_key: String,
}

/// Where a rendered stream's URLs point: viewers' HLS (`playback_url`) and this server (an
/// uploaded thumbnail is served here); both make the memo's variant.
pub(crate) struct Bases {
    playback: String,
    public: String,
    key: String,
}

impl Bases {
    pub(crate) fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let playback = crate::playback_url::playback_base(&state.settings, headers);
        let public = crate::playback_url::public_base(&state.settings, headers);
        let key = format!("{playback} {public}");
        Self {
            playback,
            public,
            key,
        }
    }
}

/// The stream as api.video renders it. A private stream's asset URLs carry its private token,
/// which every read must present.
fn render(s: &Stream, bases: &Bases) -> Value {
    let base = bases.playback.as_str();
    let id = ids::encode(PREFIX, s.id);
    let query = if domain::playback::is_private(&s.settings) {
        format!("?token={}", service::playback::private_token(s))
    } else {
        String::new()
    };
    let hls = format!(
        "{}{query}",
        crate::playback_url::hls_url(base, &s.playback_id)
    );
    let mut v = json!({
        "liveStreamId": id,
        "name": s.name,
        "streamKey": s.stream_key.expose(),
        "record": s.record,
        "public": s.settings.get("public").and_then(Value::as_bool).unwrap_or(true),
        "broadcasting": s.is_active,
        "restreams": s.restreams.iter().map(|r| RestreamOut {
            name: r.name.clone(),
            server_url: r.server_url.clone(),
            stream_key: mask(r.stream_key.expose()),
        }).collect::<Vec<_>>(),
        "assets": {
            "iframe": format!("<iframe src=\"{hls}\" width=\"100%\" height=\"100%\" frameborder=\"0\" scrolling=\"no\" allowfullscreen=\"true\"></iframe>"),
            "player": hls,
            "hls": hls,
            "thumbnail": match service::thumbnails::thumbnail_type(s) {
                // Uploaded: served by streamgate.
                Some(_) => format!("{}/media/live/{}/thumbnail{query}", bases.public, s.playback_id),
                None => format!("{base}/{}/thumbnail.jpg{query}", s.playback_id),
            },
        },
        "createdAt": rfc3339(s.created_at),
        "updatedAt": rfc3339(s.updated_at),
    });
    // Absent rather than null when unset: the clients type it as a plain string.
    if let Some(p) = s.settings.get("playerId") {
        v["playerId"] = p.clone();
    }
    v
}

/// The stream's body for clients that reach this server at `base`, rendered once per version of
/// the stream (`CachedStream::memo`; the asset URLs name the base, so it is the variant).
fn stream_body(s: &CachedStream, bases: &Bases) -> Option<bytes::Bytes> {
    s.memo.get_or_render(Rendering::ApiVideo, &bases.key, || {
        serde_json::to_vec(&render(&s.stream, bases))
            .ok()
            .map(Into::into)
    })
}

fn settings(public: Option<bool>, player_id: Option<String>) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    if let Some(p) = public {
        m.insert("public".into(), Value::Bool(p));
    }
    if let Some(p) = player_id {
        m.insert("playerId".into(), Value::String(p));
    }
    m
}

fn parse_id(id: &str) -> AvResult<uuid::Uuid> {
    ids::decode(PREFIX, id)
        .ok_or_else(|| super::AvError::from(domain::Error::NotFound("live stream")))
}

pub async fn create(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Json(body, ..): Json<ApiVideo, CreateBody>,
) -> AvResult<axum::Json<Value>> {
    let stream = state
        .svc
        .create_stream(
            &actor,
            NewStream {
                name: body.name,
                record: body.record.unwrap_or(false),
                restreams: body
                    .restreams
                    .unwrap_or_default()
                    .into_iter()
                    .map(Restream::from)
                    .collect(),
                settings: settings(body.public, body.player_id),
            },
        )
        .await?;
    Ok(axum::Json(render(&stream, &Bases::of(&state, &headers))))
}

pub async fn get(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AvResult<axum::response::Response> {
    get_body(&state, &actor, &headers, &id)
        .await
        .map(|b| crate::json::body_response(StatusCode::OK, b))
}

/// `GET /live-streams/{id}`'s body: the stream's memoised rendering for this Host. Shared by the
/// routed handler and the accept loop's hot route (`http::hot`).
pub async fn get_body(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    id: &str,
) -> AvResult<bytes::Bytes> {
    let stream = state.svc.read_stream(actor, parse_id(id)?).await?;
    stream_body(&stream, &Bases::of(state, headers)).ok_or_else(unrenderable)
}

fn unrenderable() -> super::AvError {
    super::AvError::from(domain::Error::Internal(
        "a live stream could not be rendered".into(),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body, ..): Json<ApiVideo, UpdateBody>,
) -> AvResult<axum::Json<Value>> {
    let patch = StreamPatch {
        name: body.name,
        record: body.record,
        suspended: None,
        restreams: body
            .restreams
            .map(|r| r.into_iter().map(Restream::from).collect()),
        settings: settings(body.public, body.player_id),
        target: None,
    };
    let stream = state
        .svc
        .update_stream(&actor, parse_id(&id)?, patch)
        .await?;
    Ok(axum::Json(render(&stream, &Bases::of(&state, &headers))))
}

pub async fn delete(
    State(state): State<AppState>,
    Av(actor): Av,
    Path(id): Path<String>,
) -> AvResult<StatusCode> {
    state.svc.delete_stream(&actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /live-streams?currentPage=1&pageSize=25&name=…&streamKey=…`
pub async fn list(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<HashMap<String, String>>,
) -> AvResult<axum::response::Response> {
    list_body(&state, &actor, &headers, uri.path(), &q)
        .await
        .map(|b| crate::json::body_response(StatusCode::OK, b))
}

/// `GET /live-streams`'s body. Shared by the routed handler and the accept loop's hot route
/// (`http::hot`).
pub async fn list_body(
    state: &AppState,
    actor: &Actor,
    headers: &HeaderMap,
    path: &str,
    q: &HashMap<String, String>,
) -> AvResult<bytes::Bytes> {
    let (page, size) = pagination::params(q)?;
    let name = q.get("name").filter(|v| !v.is_empty()).map(String::as_str);
    let key = q
        .get("streamKey")
        .filter(|v| !v.is_empty())
        .map(String::as_str);
    let sort_by = q
        .get("sortBy")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let sort_order = q
        .get("sortOrder")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let order = domain::stream::StreamOrder::parse(sort_by, sort_order)?;
    let base = Bases::of(state, headers);
    let extra: Vec<(&str, &str)> = [
        ("name", name),
        ("sortBy", sort_by),
        ("sortOrder", sort_order),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    // The page's body is kept with it while none of its streams changes.
    let body = state
        .svc
        .search_streams_body(
            actor,
            (name, key),
            order,
            page,
            size,
            (Rendering::ApiVideo, &base.key),
            |items, total| {
                let data = items
                    .iter()
                    .map(|s| stream_body(s, &base))
                    .collect::<Option<Vec<_>>>()?;
                Some(pagination::body_of_rendered(&data, path, page, size, total, &extra).into())
            },
        )
        .await?;
    Ok(body)
}

/// `POST /live-streams/{id}/thumbnail`: an image (jpeg, png or webp) in a multipart form.
pub async fn upload_thumbnail(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> AvResult<axum::Json<Value>> {
    let id = parse_id(&id)?;
    let mut form = super::videos::multipart(form, "the image")?;
    let mut done = None;
    while let Some(field) = crate::upload_body::next_field(&mut form).await? {
        if crate::upload_body::is_file(&field) && done.is_none() {
            let kind = service::thumbnails::image_type(field.content_type(), field.file_name());
            done = Some(
                state
                    .svc
                    .set_stream_thumbnail(&actor, id, kind, field)
                    .await?,
            );
        } else {
            crate::upload_body::text_field(field).await?;
        }
    }
    let stream = done.ok_or_else(|| {
        super::AvError::from(domain::Error::Invalid("the form holds no image".into()))
    })?;
    Ok(axum::Json(render(&stream, &Bases::of(&state, &headers))))
}

/// `DELETE /live-streams/{id}/thumbnail`: the stream, without its uploaded thumbnail.
pub async fn delete_thumbnail(
    State(state): State<AppState>,
    Av(actor): Av,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AvResult<axum::Json<Value>> {
    let stream = state
        .svc
        .delete_stream_thumbnail(&actor, parse_id(&id)?)
        .await?;
    Ok(axum::Json(render(&stream, &Bases::of(&state, &headers))))
}
