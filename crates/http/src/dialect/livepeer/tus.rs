//! Resumable uploads (the tus protocol, 1.0.0, core and `creation`), at the `tusEndpoint` a
//! request-upload hands out: `POST` creates the upload (`Upload-Length`) and answers its
//! `Location`; `HEAD` (or `GET`) tells how much has arrived (`Upload-Offset`); `PATCH` sends
//! bytes from that offset (`Content-Type: application/offset+octet-stream`). The one-time URL's
//! token is the credential throughout, and stays valid, for this asset only, until the file is
//! complete. Each `PATCH` is a part of the asset's file, as the other uploads' chunks are.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Livepeer, LpResult};
use crate::AppState;
use domain::{Error, Video};

type LpError = crate::error::ApiError<Livepeer>;

const RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const LENGTH: HeaderName = HeaderName::from_static("upload-length");

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn number(headers: &HeaderMap, name: &HeaderName) -> LpResult<i64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            LpError::from(Error::Invalid(format!(
                "the {name} header must be a number of bytes"
            )))
        })
}

fn tus_headers(res: &mut Response, v: &Video) {
    let h = res.headers_mut();
    h.insert(RESUMABLE, HeaderValue::from_static("1.0.0"));
    h.insert(OFFSET, HeaderValue::from(v.received));
    if let Some(t) = v.total {
        h.insert(LENGTH, HeaderValue::from(t));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An asset id from the path; anything else names no upload (then refused as the token is).
fn id_of(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id).unwrap_or_else(|_| uuid::Uuid::nil())
}

/// `POST /api/asset/upload/tus?token=…`: creates the upload.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> LpResult<Response> {
    let token = q.token.unwrap_or_default();
    // The credential first: without it, 401 whatever else is wrong.
    state.svc.upload_url_video(&token).await?;
    let total = number(&headers, &LENGTH)?;
    let v = state.svc.start_resumable_upload(&token, total).await?;
    let base = crate::playback_url::public_base(&state.settings, &headers);
    let location = format!("{base}/api/asset/upload/tus/{}?token={token}", v.id);
    let mut res = StatusCode::CREATED.into_response();
    tus_headers(&mut res, &v);
    if let Ok(l) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, l);
    }
    Ok(res)
}

/// `HEAD` (and `GET`) `/api/asset/upload/tus/{id}?token=…`: how much has arrived.
pub async fn offset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
) -> LpResult<Response> {
    let token = q.token.unwrap_or_default();
    let v = state.svc.resumable_upload(&token, id_of(&id)).await?;
    let mut res = StatusCode::OK.into_response();
    tus_headers(&mut res, &v);
    Ok(res)
}

/// `PATCH /api/asset/upload/tus/{id}?token=…`: bytes from `Upload-Offset`.
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    body: Body,
) -> LpResult<Response> {
    let token = q.token.unwrap_or_default();
    let id = id_of(&id);
    // The credential first: without it, 401 whatever else is wrong.
    state.svc.resumable_upload(&token, id).await?;
    let offset_stream = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/offset+octet-stream")
        });
    if !offset_stream {
        return Err(LpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a tus PATCH is Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = number(&headers, &OFFSET)?;
    // In a task of its own, as the one-time PUT: a dropped connection still ends the part.
    let svc = state.svc.clone();
    let v = tokio::spawn(async move {
        svc.resume_upload(&token, id, offset, crate::upload_body::raw(body))
            .await
    })
    .await
    .map_err(|e| Error::Internal(format!("upload task: {e}")))??;
    let mut res = StatusCode::NO_CONTENT.into_response();
    tus_headers(&mut res, &v);
    Ok(res)
}
