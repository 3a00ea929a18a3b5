//! SRS `on_publish` / `on_unpublish` / `on_play` (HTTP callbacks): JSON `{action, client_id, ip, vhost, app,
//! stream, param, …}`. SRS allows only on HTTP 200 with body `0`. The ingest token is on the
//! hook URL (`on_publish http://…/ingest/srs?token=…;`), or `Authorization: Bearer`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

use super::{caller, decide_read, metric_outcome, parse_query};
use crate::AppState;
use service::ingest::{PublishDecision, PublishRequest};
use service::playback::{ReadDecision, ReadRequest};

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
    if cb.action == "on_play" {
        let req = ReadRequest {
            caller,
            server: "srs",
            name: cb.stream,
            alternative: None,
            params: parse_query(&cb.param),
            jwt_header: None,
            origin: None,
            client_addr: cb.ip,
        };
        return match decide_read(&state, &req).await {
            Ok(ReadDecision::Allowed { .. }) => (StatusCode::OK, "0"),
            Ok(_) => (StatusCode::FORBIDDEN, "1"),
            Err(status) => (status, "1"),
        };
    }
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
        // Other callbacks (on_connect, on_stop, …) are not ours to refuse.
        _ => (StatusCode::OK, "0"),
    }
}

/// Properties: no body panics the callback reader, and a callback as SRS sends it reads back.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), text in any::<String>()) {
            for b in [body.as_slice(), text.as_bytes()] {
                if let Ok(cb) = serde_json::from_slice::<Callback>(b) {
                    let _ = parse_query(&cb.param);
                }
            }
        }

        #[test]
        fn a_callback_reads_back(app in any::<String>(), stream in any::<String>(), key in "[a-zA-Z0-9]{1,20}") {
            let body = serde_json::json!({"action": "on_publish", "client_id": 1, "ip": "127.0.0.1",
                "vhost": "__defaultVhost__", "app": app, "stream": stream, "param": format!("?key={key}")});
            let cb: Callback = serde_json::from_slice(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!((cb.action.as_str(), cb.app, cb.stream), ("on_publish", app, stream));
            prop_assert_eq!(parse_query(&cb.param), vec![("key".to_string(), Some(key))]);
        }
    }
}
