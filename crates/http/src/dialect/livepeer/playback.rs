//! `GET /api/playback/{id}`: Livepeer's playback info — where and under which policy a stream
//! is watched. The HLS URL is this deployment's (`playback_url`), named by the playback id.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{Lp, LpResult};
use crate::playback_url::{hls_url, playback_base};
use crate::AppState;

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let s = state.svc.playback_stream(&actor, &id).await?;
    let s = &s.stream;
    let policy = s
        .settings
        .get("playbackPolicy")
        .cloned()
        .unwrap_or_else(|| json!({"type": "public"}));
    let base = playback_base(&state.settings, &headers);
    let body: Value = json!({
        "type": "live",
        "meta": {
            "live": i32::from(s.is_active),
            "playbackPolicy": policy,
            "source": [{
                "hrn": "HLS (TS)",
                "type": "html5/application/vnd.apple.mpegurl",
                "url": hls_url(&base, &s.playback_id),
            }],
        },
    });
    Ok(axum::Json(body).into_response())
}
