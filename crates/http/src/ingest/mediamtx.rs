//! MediaMTX `authHTTPAddress`: JSON `{user, password, token, ip, action, path, protocol, id,
//! query}`; 2xx allows. Publishing takes the shared decision; reading follows the stream's
//! playback policy through the shared read decision (`Services::authorize_read`), by
//! playback id only; a reader's JWT may come as its token or as `?jwt=` in its query. The ingest
//! token is on `authHTTPAddress` (`http://…/ingest/mediamtx?token=…`); the body's own `token`
//! field is the publisher's or reader's, not ours.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

use super::{caller, decide_read, metric_outcome, parse_query};
use crate::AppState;
use service::ingest::{PublishDecision, PublishRequest};
use service::playback::{ReadDecision, ReadRequest};

#[derive(Deserialize)]
pub struct AuthRequest {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    /// The publisher's or reader's own token (MediaMTX's bearer or `?token=`): a playback JWT.
    #[serde(default)]
    token: String,
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
    match a.action.as_str() {
        "read" | "playback" => {
            let req = ReadRequest {
                caller,
                server: "mediamtx",
                name: stream.to_string(),
                alternative: None,
                params: parse_query(&a.query),
                jwt_header: Some(a.token).filter(|t| !t.is_empty()),
                origin: None,
                client_addr: a.ip,
            };
            match decide_read(&state, &req).await {
                Ok(ReadDecision::Allowed { .. }) => StatusCode::OK,
                Ok(_) => StatusCode::UNAUTHORIZED,
                Err(status) => status,
            }
        }
        "publish" => match state
            .svc
            .authorize_publish(&PublishRequest {
                caller,
                ingest: "mediamtx",
                app: app.to_string(),
                stream: stream.to_string(),
                params,
                client_addr: a.ip,
            })
            .await
        {
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
        // The API, metrics and pprof of MediaMTX itself are not ours to open.
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// Properties: no body panics the request reader, and a request as MediaMTX sends it reads back.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), text in any::<String>()) {
            for b in [body.as_slice(), text.as_bytes()] {
                if let Ok(a) = serde_json::from_slice::<AuthRequest>(b) {
                    let _ = a.path.rsplit_once('/');
                    let _ = parse_query(&a.query);
                }
            }
        }

        #[test]
        fn a_request_reads_back(user in any::<String>(), password in any::<String>(), path in any::<String>()) {
            let body = serde_json::json!({"user": user, "password": password, "token": "",
                "ip": "127.0.0.1", "action": "publish", "path": path, "protocol": "rtmp",
                "id": null, "query": ""});
            let a: AuthRequest = serde_json::from_slice(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!((a.user, a.password, a.path, a.action.as_str()), (user, password, path, "publish"));
        }
    }
}
