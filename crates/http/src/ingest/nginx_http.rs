//! nginx `auth_request` in front of HLS (or any file a viewer fetches by playback id):
//!
//! ```nginx
//! location /hls/ {
//!     auth_request /_streamgate_auth;
//!     # The playlist's query (the viewer's credential) goes onto its segments' URLs too.
//!     sub_filter_types application/vnd.apple.mpegurl;
//!     sub_filter '.ts' '.ts?$args';
//!     sub_filter_once off;
//!     alias /var/hls/;
//! }
//! location = /_streamgate_auth {
//!     internal;
//!     proxy_pass http://127.0.0.1:8080/ingest/nginx/auth-request?token=INGEST_TOKEN;
//!     proxy_pass_request_body off;
//!     proxy_set_header Content-Length "";
//!     proxy_set_header X-Original-URI $request_uri;
//!     proxy_set_header X-Real-IP $remote_addr;
//! }
//! ```
//!
//! The original URI names the stream by playback id: `/<prefix>/<playbackId>/<file>` (nginx-rtmp
//! `hls_nested on`, MediaMTX) or `/<prefix>/<playbackId>.m3u8`, `/<prefix>/<playbackId>-N.ts`.
//! The viewer's credential is in its query (`jwt`, `token`, `accessKey`) or a `Livepeer-Jwt`
//! header (the subrequest carries the viewer's headers). Answers 2xx, 401 (no credential where
//! one is needed) or 403 (refused, or throttled), never with a body: nginx passes 401 and 403 on
//! to the viewer and treats anything else as an error.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

use super::{caller, decide_read, parse_query};
use crate::AppState;
use service::playback::{ReadDecision, ReadRequest};

/// Longest original URI looked at (a playlist URL with a JWT is under 1 KB).
const MAX_ORIGINAL_URI: usize = 8192;

/// Is this a path nginx serves as it reads? `$request_uri` is the viewer's path before nginx
/// decodes and normalises it, while the file it serves comes from the decoded, normalised one:
/// an escape (`..%2FOTHER%2Findex.m3u8`), a `.` or `..` segment or a backslash could make the
/// two name different streams. No HLS name needs any of them, so such a path is refused.
fn plain_path(path: &str) -> bool {
    !path.contains(['%', '\\']) && !path.split('/').any(|seg| seg == "." || seg == "..")
}

/// The playback ids a viewer's path could name, most likely first: the directory the file is
/// in, then the file's name without its extension (and without nginx-rtmp's `-N` fragment
/// number). None for a path that is not plain (`plain_path`).
fn candidates(path: &str) -> Vec<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if !plain_path(path) {
        return vec![];
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    if segments.len() >= 2 {
        out.push(segments[segments.len() - 2]);
    }
    if let Some(file) = segments.last() {
        let stem = file.rsplit_once('.').map_or(*file, |(s, _)| s);
        let stem = match stem.rsplit_once('-') {
            Some((s, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => s,
            _ => stem,
        };
        out.push(stem);
    }
    out.retain(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    out
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub async fn auth_request(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> StatusCode {
    answer(&state, &uri, &headers).await
}

/// The answer to one `auth_request`. Shared by the routed handler and the accept loop's hot
/// route (`http::hot`): every HLS playlist and segment a viewer fetches asks it.
pub async fn answer(state: &AppState, uri: &Uri, headers: &HeaderMap) -> StatusCode {
    let caller = match caller(state, "nginx-http", uri, headers).await {
        Ok(c) => c,
        Err(status) => return status,
    };
    let Some(original) = header(headers, "x-original-uri") else {
        tracing::warn!("auth-request without X-Original-URI: set `proxy_set_header X-Original-URI $request_uri;`");
        state.metrics.read_decision("nginx-http", "refused");
        return StatusCode::FORBIDDEN;
    };
    let (path, query) = original.split_once('?').unwrap_or((&original, ""));
    if original.len() > MAX_ORIGINAL_URI || !plain_path(path) {
        state.metrics.read_decision("nginx-http", "refused");
        return StatusCode::FORBIDDEN;
    }
    let mut names = candidates(path).into_iter().map(str::to_owned);
    let req = ReadRequest {
        caller,
        server: "nginx-http",
        name: names.next().unwrap_or_default(),
        alternative: names.next(),
        params: parse_query(query),
        jwt_header: header(headers, "livepeer-jwt"),
        origin: header(headers, "origin"),
        client_addr: header(headers, "x-real-ip"),
    };
    match decide_read(state, &req).await {
        Ok(ReadDecision::Allowed { .. }) => StatusCode::OK,
        Ok(ReadDecision::Refused {
            presented: false, ..
        }) => StatusCode::UNAUTHORIZED,
        Ok(_) => StatusCode::FORBIDDEN,
        Err(status) => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playback_ids_from_paths() {
        assert_eq!(
            candidates("/hls/abc123/index.m3u8"),
            vec!["abc123", "index"]
        );
        assert_eq!(candidates("/hls/abc123/7.ts?jwt=x"), vec!["abc123", "7"]);
        assert_eq!(candidates("/hls/abc123.m3u8"), vec!["hls", "abc123"]);
        assert_eq!(candidates("/hls/abc123-42.ts"), vec!["hls", "abc123"]);
        assert_eq!(candidates("/x.m3u8"), vec!["x"]);
        assert!(candidates("/").is_empty());
        assert!(candidates("/hls/../..%2f/a b").is_empty());
        // What nginx would decode or normalise into another stream's file names none.
        for sneaky in [
            "/hls/PUB/..%2FPRIV%2Findex.m3u8",
            "/hls/PUB/../PRIV/index.m3u8",
            "/hls/PUB/./index.m3u8",
            "/hls/PUB/%2e%2e/PRIV/3.ts",
            "/hls/PUB\\..\\PRIV/index.m3u8",
        ] {
            assert!(candidates(sneaky).is_empty(), "{sneaky}");
        }
    }
}
