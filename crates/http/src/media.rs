//! What viewers fetch from streamgate itself: a stored video's file (`/media/videos/{id}/
//! source.mp4`) and a live stream's uploaded thumbnail (`/media/live/{playbackId}/thumbnail`),
//! public, or private with the private token (`?token=`). Anything unknown, unfinished or refused
//! is one 404, so ids cannot be probed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn video_source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found();
    };
    let token = q.token.as_deref().filter(|t| t.len() <= 256);
    match state.svc.video_source_for_viewer(id, token).await {
        Ok(Some((_, read))) => {
            let mut res = Response::new(Body::from_stream(read.body));
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(read.size));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=60"),
            );
            res
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, video = %id, "cannot read a video's file");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
    }
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
        Ok(Some((kind, read))) => {
            let mut res = Response::new(Body::from_stream(read.body));
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(read.size));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=60"),
            );
            res
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read a thumbnail");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
    }
}
