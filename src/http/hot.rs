//! The verify path's hot route, answered before the router.
//!
//! `GET /sg/v1/me` is what every client, SDK health check and load balancer probe calls to ask "is
//! this key good", so it is the request the verify-path benchmark measures (bench/verify.sh). The
//! router's generic dispatch costs more per request than verifying the key does: it boxes the
//! request body, records the peer address, the matched path and the URL parameters in request
//! extensions (each a hash-map allocation), and clones a boxed route service. For this one route
//! the server's accept loop calls [`answer`] directly instead.
//!
//! Nothing else is special about it: the same extractor logic ([`authenticate`]), the same
//! response body as the routed handler, the same error rendering, and the same metrics series
//! (`route="/sg/v1/me"`). Any other method or path goes through the router as before.

use std::time::Instant;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::dialect::sg::{MeResponse, Sg};
use super::AppState;
use crate::domain::KeyInfo;

/// The route template, as the router would report it to the metrics.
pub const ME: &str = "/sg/v1/me";

/// Whether the accept loop should answer `req` with [`answer`] rather than the router. HEAD, other
/// methods and other paths take the router (which also answers 405 in the right dialect).
pub fn is_hot<B>(req: &Request<B>) -> bool {
    req.method() == Method::GET && req.uri().path() == ME
}

/// Answers a hot request exactly as the routed handler would.
pub async fn answer<B>(state: &AppState, req: Request<B>) -> Response {
    let start = Instant::now();
    let response = match authenticate::<Sg>(state, req.headers()).await {
        Ok(actor) => me_response(&actor.key),
        Err(refused) => refused.into_response(),
    };
    drop(req);
    state
        .metrics
        .request_done(ME, "GET", response.status().as_u16(), start);
    response
}

/// The `/sg/v1/me` response for `key`: its body is serialized once per cached copy of the key
/// (`KeyInfo::memo`) and reused after that.
pub fn me_response(key: &KeyInfo) -> Response {
    let body = match key.memo.me_json.get() {
        Some(body) => body.clone(),
        None => match serde_json::to_vec(&MeResponse::from(key)) {
            Ok(json) => key.memo.me_json.get_or_init(|| Bytes::from(json)).clone(),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    super::json::body_response(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Cors, Environment};

    fn key(name: &str) -> KeyInfo {
        KeyInfo {
            id: uuid::Uuid::nil(),
            account_id: uuid::Uuid::nil(),
            name: name.into(),
            environment: Environment::Sandbox,
            cors: Cors::default(),
            expires_at: None,
            revoked: false,
            memo: Default::default(),
        }
    }

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn the_me_body_is_rendered_once_per_copy_of_a_key() {
        let k = key("first \"quoted\"");
        let res = me_response(&k);
        assert_eq!(
            res.headers()[axum::http::header::CONTENT_TYPE],
            "application/json"
        );
        let v = body(res).await;
        assert_eq!(v["keyName"], "first \"quoted\"");
        assert_eq!(v["environment"], "sandbox");
        assert_eq!(
            v,
            serde_json::to_value(MeResponse::from(&k)).unwrap(),
            "same as the schema's serialization"
        );
        assert!(k.memo.me_json.get().is_some(), "remembered");
        assert_eq!(body(me_response(&k)).await, v);
        // A changed key is a new copy: its own body, never the old one.
        let mut changed = k.clone();
        changed.name = "second".into();
        assert_eq!(body(me_response(&changed)).await["keyName"], "second");
    }
}
