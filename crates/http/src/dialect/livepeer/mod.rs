//! Livepeer Studio's API at `/api/…`: Bearer keys, CORS-enabled keys with an origin list and an
//! endpoint allowlist, streams, sessions, multistream targets and key management.
//! Errors: `{"errors":["message"]}`.

mod access;
mod cors;
mod streams;
mod targets;
mod tokens;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Serialize;

use crate::auth::authenticate;
use crate::error::{ApiError, Dialect};
use crate::AppState;
use domain::Actor;

pub use access::CORS_ALLOWLIST;

pub struct Livepeer;

#[derive(Serialize)]
struct Errors<'a> {
    errors: [&'a str; 1],
}

impl Dialect for Livepeer {
    const NAME: &'static str = "livepeer";

    fn render(status: StatusCode, _code: &'static str, message: &str) -> Response {
        let mut res = (status, axum::Json(Errors { errors: [message] })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"livepeer\""),
            );
        }
        res
    }
}

pub type LpError = ApiError<Livepeer>;
pub type LpResult<T> = Result<T, LpError>;

/// Marks a response refused because of the request's origin: the CORS layer then leaves out
/// `Access-Control-Allow-Origin`, so the browser blocks the page from reading it.
#[derive(Clone, Copy)]
pub struct OriginRefused;

/// A Livepeer caller: a valid key, used from an origin it allows, on a route it may call.
pub struct Lp(pub Actor);

impl FromRequestParts<AppState> for Lp {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let actor = authenticate::<Livepeer>(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(origin) = parts.headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !actor.key.cors.allows_origin(origin) {
                state.metrics.auth_failure(Livepeer::NAME, "cors_origin");
                let err = LpError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!("credential disallows CORS access from origin {origin}"),
                );
                return Err((Extension(OriginRefused), err).into_response());
            }
        }
        if actor.is_cors_restricted() {
            let route = parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map_or("", |m| m.as_str());
            if !access::restricted_key_may_call(&parts.method, route) {
                state
                    .metrics
                    .auth_failure(Livepeer::NAME, "cors_restricted");
                return Err(LpError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "access forbidden for CORS-enabled API key with restricted access; \
                     create a key with full API access for this endpoint",
                )
                .into_response());
            }
        }
        Ok(Lp(actor))
    }
}

/// Parses an id from the path; anything that is not a UUID cannot name an object: 404.
pub fn parse_id(id: &str, what: &'static str) -> LpResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| {
        LpError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    })
}

pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/api-token", get(tokens::list).post(tokens::create))
        .route("/api-token/{id}", get(tokens::get).delete(tokens::delete))
        .route("/stream", get(streams::list).post(streams::create))
        .route(
            "/stream/{id}",
            get(streams::get)
                .patch(streams::update)
                .delete(streams::delete),
        )
        .route("/stream/{id}/sessions", get(streams::sessions))
        .route("/session/{id}", get(streams::session))
        .route(
            "/multistream/target",
            get(targets::list).post(targets::create),
        )
        .route(
            "/multistream/target/{id}",
            get(targets::get)
                .patch(targets::update)
                .delete(targets::delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api", api)
        .layer(axum::middleware::from_fn(cors::layer))
}

async fn not_found() -> LpError {
    LpError::new(StatusCode::NOT_FOUND, "not_found", "not found")
}

async fn method_not_allowed(method: axum::http::Method) -> LpError {
    LpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method {method} not allowed"),
    )
}
