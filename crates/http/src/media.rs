//! What viewers fetch from streamgate itself: a stored video's file (`/media/videos/{id}/
//! source.mp4`) and a live stream's uploaded thumbnail (`/media/live/{playbackId}/thumbnail`),
//! public, or private with the private token (`?token=`). Anything unknown, unfinished or refused
//! is one 404, so ids cannot be probed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// A stored file's body with its type, length and caching, never sniffed as another type.
fn file_response(read: service::objects::ObjectRead, kind: &'static str) -> Response {
    let size = read.size;
    let mut res = Response::new(Body::from_stream(read.body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    res
}

pub async fn video_source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found();
    };
    let token = q.token.as_deref().filter(|t| t.len() <= 256);
    // One `bytes=first-[last]` range (what players ask for when they seek); anything else is
    // answered whole.
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(single_range);
    match state.svc.video_source_for_viewer(id, token, range).await {
        Ok(Some((video, read))) => {
            let len = video.received.max(0) as u64;
            if let Some((first, _)) = range {
                if first >= len {
                    let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                        res.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return res;
                }
            }
            let sent = read.size;
            let mut res = file_response(read, "video/mp4");
            let h = res.headers_mut();
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Some((first, _)) = range {
                let last = first + sent.saturating_sub(1);
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            }
            res
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, video = %id, "cannot read a video's file");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
    }
}

/// `bytes=first-` or `bytes=first-last`: (first, last); anything else (suffix ranges, several
/// ranges) None.
fn single_range(v: &str) -> Option<(u64, Option<u64>)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let first: u64 = a.trim().parse().ok()?;
    let last = match b.trim() {
        "" => None,
        b => {
            let last: u64 = b.parse().ok()?;
            if last < first {
                return None;
            }
            Some(last)
        }
    };
    Some((first, last))
}

/// A live stream's uploaded thumbnail (api.video's `assets.thumbnail` once one is uploaded).
pub async fn stream_thumbnail(
    State(state): State<AppState>,
    Path(playback_id): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    if playback_id.len() > 64 {
        return not_found();
    }
    let token = q.token.as_deref().filter(|t| t.len() <= 256);
    match state
        .svc
        .stream_thumbnail_for_viewer(&playback_id, token)
        .await
    {
        Ok(Some((kind, read))) => file_response(read, kind),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read a thumbnail");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
    }
}
