//! Where viewers fetch a stream: `<playback base>/<playbackId>/index.m3u8`, the layout nginx-rtmp
//! writes with `hls_nested on` (and MediaMTX serves at `/<path>/index.m3u8`). The base is the
//! `playback_url` setting, else `http://<host the API was reached at>/hls`. The stream key never
//! appears in it.

use axum::http::HeaderMap;

use crate::Settings;

pub fn playback_base(settings: &Settings, headers: &HeaderMap) -> String {
    if let Some(u) = &settings.playback_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '"', '<', '>', ' ']))
        .unwrap_or("localhost");
    format!("http://{host}/hls")
}

/// The stream's HLS playlist under `base`.
pub fn hls_url(base: &str, playback_id: &str) -> String {
    format!("{base}/{playback_id}/index.m3u8")
}
