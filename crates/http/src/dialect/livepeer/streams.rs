//! `/api/stream…` and `/api/session/{id}` in Livepeer's shapes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{parse_id, Livepeer, Lp, LpError, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::memo::Rendering;
use domain::stream::CachedStream;
use domain::After;
use domain::{Actor, Session, Stream};
use service::streams::{NewStream, StreamPatch};

/// A transcoding profile, as Livepeer's `ffmpeg-profile`.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    name: String,
    width: u32,
    height: u32,
    bitrate: u64,
    fps: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    fps_den: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoder: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    url: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetRef {
    profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    video_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<TargetSpec>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Multistream {
    #[serde(default)]
    targets: Vec<TargetRef>,
}

/// The settings streamgate keeps as given and renders back.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    profiles: Option<Vec<Profile>>,
    multistream: Option<Multistream>,
    user_tags: Option<Map<String, Value>>,
    playback_policy: Option<Map<String, Value>>,
    recording_spec: Option<Map<String, Value>>,
    creator_id: Option<Value>,
    pull: Option<Map<String, Value>>,
}

impl Settings {
    fn into_map(self) -> LpResult<Map<String, Value>> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        let to = |v: serde_json::Result<Value>| {
            v.map_err(|e| LpError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()))
        };
        put(
            "profiles",
            self.profiles
                .map(|p| to(serde_json::to_value(p)))
                .transpose()?,
        );
        put(
            "multistream",
            self.multistream
                .map(|p| to(serde_json::to_value(p)))
                .transpose()?,
        );
        put("userTags", self.user_tags.map(Value::Object));
        put("playbackPolicy", self.playback_policy.map(Value::Object));
        put("recordingSpec", self.recording_spec.map(Value::Object));
        put("creatorId", self.creator_id);
        put("pull", self.pull.map(Value::Object));
        Ok(m)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewStreamBody {
    name: String,
    #[serde(default)]
    record: bool,
    #[serde(flatten)]
    settings: Settings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamPatchBody {
    name: Option<String>,
    record: Option<bool>,
    suspended: Option<bool>,
    #[serde(flatten)]
    settings: Settings,
}

/// Livepeer's default transcoding ladder, used when a stream is created without `profiles`.
fn default_profiles() -> Value {
    json!([
        {"name": "240p0", "fps": 0, "bitrate": 250000, "width": 426, "height": 240},
        {"name": "360p0", "fps": 0, "bitrate": 800000, "width": 640, "height": 360},
        {"name": "480p0", "fps": 0, "bitrate": 1600000, "width": 854, "height": 480},
        {"name": "720p0", "fps": 0, "bitrate": 3000000, "width": 1280, "height": 720}
    ])
}

/// The stream's body, rendered once per version of the stream (`CachedStream::memo`).
fn stream_body(s: &CachedStream) -> Option<axum::body::Bytes> {
    s.memo.get_or_render(Rendering::Livepeer, "", || {
        serde_json::to_vec(&render_stream(&s.stream))
            .ok()
            .map(Into::into)
    })
}

/// The stream as Livepeer renders it (`service::livepeer_events::stream_json`, which its webhook
/// events carry too) with its stream key, which only the API's answers hold.
fn render_stream(s: &Stream) -> Value {
    let mut v = service::livepeer_events::stream_json(s);
    v["streamKey"] = json!(s.stream_key.expose());
    v
}

fn render_session(session: &Session, stream: Option<&Stream>) -> Value {
    json!({
        "id": session.id.to_string(),
        "kind": "stream",
        "parentId": session.stream_id.to_string(),
        "name": stream.map_or_else(|| session.id.to_string(), |s| s.name.clone()),
        "userId": session.account_id.to_string(),
        "createdAt": session.started_at,
        "lastSeen": session.ended_at.unwrap_or(session.started_at),
        "isActive": session.ended_at.is_none(),
        "record": session.record,
        "profiles": stream.and_then(|s| s.settings.get("profiles").cloned()).unwrap_or_else(|| json!([])),
        "playbackId": stream.map(|s| s.playback_id.clone()),
        "sourceSegments": 0,
        "transcodedSegments": 0,
        "sourceSegmentsDuration": 0,
        "transcodedSegmentsDuration": 0,
        "sourceBytes": 0,
        "transcodedBytes": 0,
        "ingestRate": 0,
        "outgoingRate": 0,
    })
}

pub async fn create(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Json(body, ..): Json<Livepeer, NewStreamBody>,
) -> LpResult<Response> {
    let mut settings = body.settings.into_map()?;
    settings.entry("profiles").or_insert_with(default_profiles);
    let stream = state
        .svc
        .create_stream(
            &actor,
            NewStream {
                name: body.name,
                record: body.record,
                restreams: vec![],
                settings,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(render_stream(&stream))).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    get_body(&state, &actor, &id)
        .await
        .map(|b| crate::json::body_response(StatusCode::OK, b))
}

/// `GET /api/stream/{id}`'s body: the stream's memoised rendering. Shared by the routed handler
/// and the accept loop's hot route (`http::hot`).
pub async fn get_body(state: &AppState, actor: &Actor, id: &str) -> LpResult<Bytes> {
    let stream = state
        .svc
        .read_stream(actor, parse_id(id, "stream")?)
        .await?;
    stream_body(&stream).ok_or_else(|| unrenderable("a stream"))
}

fn unrenderable(what: &str) -> LpError {
    LpError::from(domain::Error::Internal(format!(
        "{what} could not be rendered"
    )))
}

pub async fn update(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Json(body, ..): Json<Livepeer, StreamPatchBody>,
) -> LpResult<StatusCode> {
    let patch = StreamPatch {
        name: body.name,
        record: body.record,
        suspended: body.suspended,
        restreams: None,
        settings: body.settings.into_map()?,
        target: None,
    };
    state
        .svc
        .update_stream(&actor, parse_id(&id, "stream")?, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/stream/{id}/terminate` → 204: the stream's publish ends (see
/// `Services::terminate_stream`).
pub async fn terminate(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<StatusCode> {
    state
        .svc
        .terminate_stream(&actor, parse_id(&id, "stream")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/stream/{id}/create-multistream-target` `{profile, videoOnly?, id | spec}` → 204.
pub async fn add_target(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Json(body, ..): Json<Livepeer, TargetRef>,
) -> LpResult<StatusCode> {
    let target = match serde_json::to_value(body) {
        Ok(Value::Object(t)) => t,
        _ => return Err(bad_query("a multistream target is required")),
    };
    let patch = StreamPatch {
        target: Some(service::streams::TargetEdit::Add(target)),
        ..StreamPatch::default()
    };
    state
        .svc
        .update_stream(&actor, parse_id(&id, "stream")?, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/stream/{id}/multistream/{targetId}` → 204: the stream stops using the target.
pub async fn remove_target(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path((id, target)): Path<(String, String)>,
) -> LpResult<StatusCode> {
    let patch = StreamPatch {
        target: Some(service::streams::TargetEdit::Remove(parse_id(
            &target,
            "multistream target",
        )?)),
        ..StreamPatch::default()
    };
    state
        .svc
        .update_stream(&actor, parse_id(&id, "stream")?, patch)
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
        .delete_stream(&actor, parse_id(&id, "stream")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

const DEFAULT_PAGE: i64 = 20;

pub(super) fn bad_query(msg: &str) -> LpError {
    LpError::new(StatusCode::BAD_REQUEST, "invalid_request", msg.to_string())
}

fn encode_cursor(a: &After) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", a.created_at, a.id))
}

fn decode_cursor(c: &str) -> Option<After> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (at, id) = text.split_once(':')?;
    Some(After {
        created_at: at.parse().ok()?,
        id: uuid::Uuid::parse_str(id).ok()?,
    })
}

/// `GET /api/stream?limit=N&cursor=C`: a bare array, oldest first; the next page is announced in
/// a `Link: <…>; rel="next"` header, as Livepeer does. Other query parameters are ignored.
pub async fn list(
    State(state): State<AppState>,
    Lp(actor): Lp,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> LpResult<Response> {
    let (body, link) = list_page(&state, &actor, &uri, &headers, &q).await?;
    let mut res = crate::json::body_response(StatusCode::OK, body);
    if let Some(link) = link {
        res.headers_mut().insert(header::LINK, link);
    }
    Ok(res)
}

/// `GET /api/stream`'s body and its `Link` header, if there is a next page. Shared by the routed
/// handler and the accept loop's hot route (`http::hot`).
pub async fn list_page(
    state: &AppState,
    actor: &Actor,
    uri: &Uri,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> LpResult<(Bytes, Option<HeaderValue>)> {
    let (limit, after) = page_params(q)?;
    // The page's body is kept with it while none of its streams changes.
    let page = state
        .svc
        .stream_page_body(actor, after, limit, (Rendering::Livepeer, ""), |items| {
            let bodies = items
                .iter()
                .map(|s| stream_body(s))
                .collect::<Option<Vec<_>>>()?;
            Some(crate::json::join_array(bodies.iter().map(|b| &b[..])).into())
        })
        .await?;
    Ok((
        page.body,
        next_link(headers, uri, limit, page.next.as_ref()),
    ))
}

/// A list's `limit`: 1 to 1000, 20 unless given (as Studio's).
pub(super) fn limit_param(q: &HashMap<String, String>) -> LpResult<i64> {
    match q.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| bad_query("limit must be an integer from 1 to 1000")),
        None => Ok(DEFAULT_PAGE),
    }
}

/// A list's `limit` (1 to 1000) and `cursor` (where the previous page ended).
fn page_params(q: &HashMap<String, String>) -> LpResult<(i64, Option<After>)> {
    let limit = limit_param(q)?;
    let after = match q.get("cursor").filter(|c| !c.is_empty() && *c != "skip0") {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| bad_query("invalid cursor"))?),
        None => None,
    };
    Ok((limit, after))
}

/// `Link: <…?limit=…&cursor=…>; rel="next"` when there is a next page.
fn next_link(
    headers: &HeaderMap,
    uri: &Uri,
    limit: i64,
    next: Option<&After>,
) -> Option<HeaderValue> {
    link_to_next(headers, uri, limit, &encode_cursor(next?))
}

/// `Link: <…?limit=…&cursor=…>; rel="next"` for the page from `cursor` on.
pub(super) fn link_to_next(
    headers: &HeaderMap,
    uri: &Uri,
    limit: i64,
    cursor: &str,
) -> Option<HeaderValue> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    HeaderValue::from_str(&format!(
        "<http://{host}{}?limit={limit}&cursor={cursor}>; rel=\"next\"",
        uri.path(),
    ))
    .ok()
}

/// `GET /api/stream/{id}/sessions[?record=true|false|1|0]`: the stream's sessions, newest first.
pub async fn sessions(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> LpResult<Response> {
    let id = parse_id(&id, "stream")?;
    let record = match q.get("record").map(String::as_str) {
        None | Some("") => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => return Err(bad_query("record must be true, false, 1 or 0")),
    };
    let stream = state.svc.get_stream(&actor, id).await?;
    let sessions = state.svc.list_sessions(&actor, id, record).await?;
    let body: Vec<Value> = sessions
        .iter()
        .map(|s| render_session(s, Some(&stream)))
        .collect();
    Ok(axum::Json(body).into_response())
}

/// `GET /api/session`: the account's sessions across its streams, newest first, a page at a time
/// (`limit`, `cursor`; the next page in `Link`).
pub async fn all_sessions(
    State(state): State<AppState>,
    Lp(actor): Lp,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> LpResult<Response> {
    let (limit, before) = page_params(&q)?;
    let (sessions, next) = state.svc.sessions_page(&actor, before, limit).await?;
    let mut streams: HashMap<uuid::Uuid, Option<Stream>> = HashMap::new();
    let mut body = Vec::with_capacity(sessions.len());
    for s in &sessions {
        let stream = match streams.entry(s.stream_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(state.svc.get_stream(&actor, s.stream_id).await.ok())
            }
        };
        body.push(render_session(s, stream.as_ref()));
    }
    let mut res = axum::Json(body).into_response();
    if let Some(link) = next_link(&headers, &uri, limit, next.as_ref()) {
        res.headers_mut().insert(header::LINK, link);
    }
    Ok(res)
}

pub async fn session(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let session = state
        .svc
        .get_session(&actor, parse_id(&id, "session")?)
        .await?;
    let stream = state.svc.get_stream(&actor, session.stream_id).await.ok();
    Ok(axum::Json(render_session(&session, stream.as_ref())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let a = After {
            created_at: 1_700_000_000_123,
            id: uuid::Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&a)), Some(a));
        assert_eq!(decode_cursor("not-a-cursor"), None);
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_refused() {
        assert!(serde_json::from_str::<NewStreamBody>(r#"{"name":"a","record":"yes"}"#).is_err());
        assert!(serde_json::from_str::<NewStreamBody>(r#"{"name":"a","bogus":1}"#).is_err());
        assert!(serde_json::from_str::<NewStreamBody>(
            r#"{"name":"a","profiles":[{"name":"p","width":1,"height":1,"bitrate":1,"fps":30}]}"#
        )
        .is_ok());
    }
}
