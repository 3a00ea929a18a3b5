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
    format!("http://{}/hls", host(headers))
}

/// The host the request reached this server at (a safe one, else `localhost`).
fn host(headers: &HeaderMap) -> &str {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '"', '<', '>', ' ', '\\', '?', '#', '@']))
        .unwrap_or("localhost")
}

/// The RTMP server encoders publish to: the `rtmp_url` setting's scheme and host (its
/// application left off), else port 1935 of the host the request reached.
pub fn rtmp_server(settings: &Settings, headers: &HeaderMap) -> String {
    if let Some(u) = &settings.rtmp_url {
        let u = u.trim_end_matches('/');
        // rtmp://host:port/app → rtmp://host:port
        return match u.split_once("://") {
            Some((scheme, rest)) => {
                format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
            }
            None => u.to_string(),
        };
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    format!("rtmp://{host}:1935")
}

/// Where clients reach this server: the `public_url` setting, else `http://<host>`. Upload URLs
/// and video file URLs name it.
pub fn public_base(settings: &Settings, headers: &HeaderMap) -> String {
    match &settings.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("http://{}", host(headers)),
    }
}

/// A stored video's file, as viewers fetch it (`media::video_source` serves it).
pub fn video_file_url(public: &str, video_id: uuid::Uuid, private_token: Option<&str>) -> String {
    match private_token {
        Some(t) => format!("{public}/media/videos/{video_id}/source.mp4?token={t}"),
        None => format!("{public}/media/videos/{video_id}/source.mp4"),
    }
}

/// The stream's HLS playlist under `base`.
pub fn hls_url(base: &str, playback_id: &str) -> String {
    format!("{base}/{playback_id}/index.m3u8")
}
