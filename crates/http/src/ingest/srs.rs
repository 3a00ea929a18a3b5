//! SRS `on_publish` / `on_unpublish` (HTTP callbacks): JSON `{action, client_id, ip, vhost, app,
//! stream, param, …}`. SRS allows only on HTTP 200 with body `0`. The ingest token is on the
//! hook URL (`on_publish http://…/ingest/srs?token=…;`), or `Authorization: Bearer`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

use super::{caller, metric_outcome, parse_query};
use crate::AppState;
use service::ingest::{PublishDecision, PublishRequest};

#[derive(Deserialize)]
pub struct Callback {
    action: String,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    app: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    param: String,
}

pub async fn hook(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let caller = match caller(&state, "srs", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return (status, ""),
    };
    let Ok(cb) = serde_json::from_slice::<Callback>(&body) else {
        return (StatusCode::BAD_REQUEST, "1");
    };
    let req = PublishRequest {
        caller,
        ingest: "srs",
        app: cb.app,
        stream: cb.stream,
        params: parse_query(&cb.param),
        client_addr: cb.ip,
    };
    match cb.action.as_str() {
        "on_publish" => match state.svc.authorize_publish(&req).await {
            Ok(d) => {
                state.metrics.ingest_decision("srs", metric_outcome(&d));
                match d {
                    PublishDecision::Allowed { .. } => (StatusCode::OK, "0"),
                    _ => (StatusCode::FORBIDDEN, "1"),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ingest decision failed");
                (StatusCode::SERVICE_UNAVAILABLE, "1")
            }
        },
        "on_unpublish" => {
            if let Err(e) = state.svc.end_publish(&req).await {
                tracing::error!(error = %e, "could not close the publish session");
            }
            (StatusCode::OK, "0")
        }
        // Other callbacks (on_connect, on_play, …) are not ours to refuse.
        _ => (StatusCode::OK, "0"),
    }
}
