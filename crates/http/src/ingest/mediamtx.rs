//! MediaMTX `authHTTPAddress`: JSON `{user, password, token, ip, action, path, protocol, id,
//! query}`; 2xx allows. Publishing takes the shared decision; reading follows the stream's
//! playback policy (public streams may be read by anyone, by playback id or key). The ingest
//! token is on `authHTTPAddress` (`http://…/ingest/mediamtx?token=…`); the body's own `token`
//! field is the publisher's or reader's, not ours.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

use super::{caller, metric_outcome, parse_query};
use crate::AppState;
use service::ingest::{PublishDecision, PublishRequest};

#[derive(Deserialize)]
pub struct AuthRequest {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    ip: Option<String>,
    action: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    query: String,
}

pub async fn hook(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let caller = match caller(&state, "mediamtx", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return status,
    };
    let Ok(a) = serde_json::from_slice::<AuthRequest>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let (app, stream) = a.path.rsplit_once('/').unwrap_or(("", a.path.as_str()));
    let mut params = parse_query(&a.query);
    if !a.user.is_empty() {
        params.push(("user".into(), Some(a.user.clone())));
        params.push(("pass".into(), Some(a.password.clone())));
    }
    let req = PublishRequest {
        caller,
        ingest: "mediamtx",
        app: app.to_string(),
        stream: stream.to_string(),
        params,
        client_addr: a.ip,
    };
    match a.action.as_str() {
        "publish" => match state.svc.authorize_publish(&req).await {
            Ok(d) => {
                state
                    .metrics
                    .ingest_decision("mediamtx", metric_outcome(&d));
                match d {
                    PublishDecision::Allowed { .. } => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ingest decision failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        },
        "read" | "playback" => match state.svc.may_read(stream).await {
            Ok(true) => StatusCode::OK,
            Ok(false) => StatusCode::UNAUTHORIZED,
            Err(e) => {
                tracing::error!(error = %e, "read decision failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        },
        // The API, metrics and pprof of MediaMTX itself are not ours to open.
        _ => StatusCode::UNAUTHORIZED,
    }
}
