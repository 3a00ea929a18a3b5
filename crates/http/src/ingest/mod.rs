//! Media-server hooks: each authenticates the media server (its ingest token), turns its
//! server's request into a `PublishRequest` and answers the shared decision
//! (`Services::authorize_publish`) the way that server understands.
//!
//! The ingest token comes from the hook URL's own query (`?token=`), never from the body (where
//! nginx-rtmp puts the encoder's publish arguments), or from `Authorization: Bearer`. Without a
//! valid one the answer is 401 with no body, and nothing is written: no audit row, no session.

pub mod mediamtx;
pub mod nginx_http;
pub mod nginx_rtmp;
pub mod srs;

use std::borrow::Cow;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{get, post};

use crate::routes::{Body, Need, Routes};
use crate::AppState;

use service::ingest::PublishDecision;
use service::playback::{ReadDecision, ReadRequest};
use service::IngestCaller;

/// The media server behind a hook, or the status to answer instead: 401 without a valid ingest
/// token (counted in the metrics, nothing written), 400 for two Authorization headers, 503 when
/// the token cannot be checked.
pub async fn caller(
    state: &AppState,
    server: &'static str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<IngestCaller, StatusCode> {
    if crate::auth::one_authorization(headers).is_err() {
        return Err(StatusCode::BAD_REQUEST);
    }
    let from_query = uri.query().and_then(|q| {
        parse_query_borrowed(q)
            .into_iter()
            .find(|(k, _)| k == "token")
            .and_then(|(_, v)| v)
    });
    let from_header = || {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
        let head = value.get(..7)?;
        head.eq_ignore_ascii_case("Bearer ")
            .then(|| std::borrow::Cow::Borrowed(value[7..].trim()))
    };
    let verified = match from_query.or_else(from_header) {
        Some(token) => state.svc.verify_ingest_token(&token).await,
        None => Ok(None),
    };
    match verified {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => {
            state.metrics.ingest_decision(server, "unauthenticated");
            Err(StatusCode::UNAUTHORIZED)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not check an ingest token");
            Err(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/ingest/nginx-rtmp/publish",
            post(nginx_rtmp::publish),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::Form)
        .route(
            "/ingest/nginx-rtmp/publish-done",
            post(nginx_rtmp::publish_done),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::Form)
        .route(
            "/ingest/nginx-rtmp/record-done",
            post(nginx_rtmp::record_done),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::Form)
        .route(
            "/ingest/srs",
            post(srs::hook),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::AnyJson)
        .route(
            "/ingest/nginx-rtmp/play",
            post(nginx_rtmp::play),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::Form)
        .route(
            "/ingest/nginx/auth-request",
            get(nginx_http::auth_request),
            &[(Method::GET, Need::Ingest)],
        )
        .route(
            "/ingest/mediamtx",
            post(mediamtx::hook),
            &[(Method::POST, Need::Ingest)],
        )
        .body(Method::POST, Body::AnyJson)
}

/// `a=1&b&c=%20x` → `[("a", Some("1")), ("b", None), ("c", Some(" x"))]`, percent-decoded.
pub fn parse_query(q: &str) -> Vec<(String, Option<String>)> {
    parse_query_borrowed(q)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.map(Cow::into_owned)))
        .collect()
}

/// `parse_query` without copying what needs no decoding.
pub fn parse_query_borrowed(q: &str) -> Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> {
    q.trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), Some(decode(v))),
            None => (decode(p), None),
        })
        .collect()
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The read decision for `req`, counted in the metrics; Err: the status to answer when it
/// could not be made (503).
pub async fn decide_read(state: &AppState, req: &ReadRequest) -> Result<ReadDecision, StatusCode> {
    match state.svc.authorize_read(req).await {
        Ok(d) => {
            let outcome = match &d {
                ReadDecision::Allowed { .. } => "allowed",
                ReadDecision::Refused {
                    presented: false, ..
                } => "credential_missing",
                ReadDecision::Refused { .. } => "refused",
                ReadDecision::Throttled => "throttled",
            };
            state.metrics.read_decision(req.server, outcome);
            Ok(d)
        }
        Err(e) => {
            tracing::error!(error = %e, "read decision failed");
            Err(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

pub fn metric_outcome(d: &PublishDecision) -> &'static str {
    match d {
        PublishDecision::Allowed { .. } => "allowed",
        PublishDecision::Refused(..) => "refused",
        PublishDecision::Throttled => "throttled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_with_bare_tokens() {
        assert_eq!(
            parse_query("?edgeKey42&user=a%20b&x=1&x=2&p=%zz"),
            vec![
                ("edgeKey42".into(), None),
                ("user".into(), Some("a b".into())),
                ("x".into(), Some("1".into())),
                ("x".into(), Some("2".into())),
                ("p".into(), Some("%zz".into())),
            ]
        );
        assert!(parse_query("").is_empty());
    }
}

/// Properties: no query string panics the reader, and pairs percent-encoded by an encoder read
/// back as they were.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_queries_never_panic(s in any::<String>(), pct in "[%0-9a-fA-F+&=]{0,40}") {
            let _ = parse_query(&s);
            let _ = parse_query(&pct);
        }

        #[test]
        fn encoded_pairs_read_back(pairs in prop::collection::vec(
            (".{1,12}", prop::option::of(".{0,12}")), 0..6)
        ) {
            let q = pairs
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{}={}", encode(k), encode(v)),
                    None => encode(k),
                })
                .collect::<Vec<_>>()
                .join("&");
            prop_assert_eq!(parse_query(&q), pairs);
        }
    }
}
