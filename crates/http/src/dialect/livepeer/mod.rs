//! Livepeer Studio's API at `/api/…`: Bearer keys, CORS-enabled keys with an origin list and an
//! endpoint allowlist, streams, sessions, multistream targets, webhooks and key management.
//! Errors: `{"errors":["message"]}`.

mod access_control;
mod assets;
mod playback;
pub(crate) mod streams;
mod targets;
mod tokens;
mod tus;
mod webhooks;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use crate::auth::authenticate;
use crate::error::{ApiError, Dialect};
use crate::routes::{Body, DialectDoc, Need, Routes};
use crate::{perm, AppState};
use domain::Actor;

pub struct Livepeer;

#[derive(Serialize)]
struct Errors<'a> {
    errors: [&'a str; 1],
}

impl Dialect for Livepeer {
    const NAME: &'static str = "livepeer";
    const DOC: DialectDoc = DialectDoc {
        tag: "livepeer",
        key_schemes: &["bearer", "basic", "x-api-key", "tok"],
        error_content_type: "application/json",
        error_schema: r#"{"type":"object","required":["errors"],"properties":{"errors":{"type":"array","items":{"type":"string"}}}}"#,
    };

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

/// A Livepeer caller, admitted by the core's policy (origin, rate limit, credits); what it may
/// call is the services' permission check, the same in every dialect.
pub struct Lp(pub Actor);

impl FromRequestParts<AppState> for Lp {
    type Rejection = LpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> LpResult<Self> {
        authenticate::<Livepeer>(state, parts).await.map(Lp)
    }
}

/// Is the caller one of Livepeer's generated SDKs (Speakeasy: npm `livepeer` 3.x, PyPI
/// `livepeer` 0.x)? They send `User-Agent: speakeasy-sdk/…`, and read some answers only with the
/// status their OpenAPI document names, which is not always the one Studio sends.
fn generated_sdk(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("speakeasy-sdk/"))
}

/// The status of a create: the generated SDKs read a created signing key or webhook only from a
/// 200, while Studio answers 201; they are answered 200, everyone else 201 as Studio does.
fn created_status(headers: &HeaderMap) -> StatusCode {
    if generated_sdk(headers) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
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

pub fn routes() -> Routes {
    // Stream bodies (`streams::NewStreamBody`, `StreamPatchBody`) are described as any object.
    Routes::of::<Livepeer>(Body::AnyJson)
        .route(
            "/api-token",
            get(tokens::list).post(tokens::create),
            &[
                (Method::GET, perm!(Keys: List)),
                (Method::POST, perm!(Keys: Create)),
            ],
        )
        .body(Method::POST, Body::json::<tokens::NewTokenBody>())
        .route(
            "/api-token/{id}",
            get(tokens::get).delete(tokens::delete),
            &[
                (Method::GET, perm!(Keys: Read)),
                (Method::DELETE, perm!(Keys: Delete)),
            ],
        )
        .route(
            "/stream",
            get(streams::list).post(streams::create),
            &[
                (Method::GET, perm!(Streams: List)),
                (Method::POST, perm!(Streams: Create)),
            ],
        )
        .query(Method::GET, &["limit", "cursor"])
        .route(
            "/stream/{id}",
            get(streams::get)
                .patch(streams::update)
                .delete(streams::delete),
            &[
                (Method::GET, perm!(Streams: Read)),
                (Method::PATCH, perm!(Streams: Update)),
                (Method::DELETE, perm!(Streams: Delete)),
            ],
        )
        .route(
            "/stream/{id}/terminate",
            axum::routing::delete(streams::terminate),
            &[(Method::DELETE, perm!(Streams: Update))],
        )
        .route(
            "/stream/{id}/create-multistream-target",
            post(streams::add_target),
            &[(Method::POST, perm!(Streams: Update))],
        )
        .route(
            "/stream/{id}/multistream/{target}",
            axum::routing::delete(streams::remove_target),
            &[(Method::DELETE, perm!(Streams: Update))],
        )
        .route(
            "/stream/{id}/sessions",
            get(streams::sessions),
            &[(Method::GET, perm!(Sessions: Read))],
        )
        .query(Method::GET, &["record"])
        .route(
            "/session",
            get(streams::all_sessions),
            &[(Method::GET, perm!(Sessions: List))],
        )
        .query(Method::GET, &["limit", "cursor"])
        .route(
            "/session/{id}",
            get(streams::session),
            &[(Method::GET, perm!(Sessions: Read))],
        )
        .route(
            "/access-control/signing-key",
            get(access_control::list).post(access_control::create),
            &[
                (Method::GET, perm!(SigningKeys: List)),
                (Method::POST, perm!(SigningKeys: Create)),
            ],
        )
        .body(
            Method::POST,
            Body::json::<access_control::NewSigningKeyBody>(),
        )
        .route(
            "/access-control/signing-key/{id}",
            get(access_control::get)
                .patch(access_control::update)
                .delete(access_control::delete),
            &[
                (Method::GET, perm!(SigningKeys: Read)),
                (Method::PATCH, perm!(SigningKeys: Update)),
                (Method::DELETE, perm!(SigningKeys: Delete)),
            ],
        )
        .body(
            Method::PATCH,
            Body::json::<access_control::SigningKeyPatchBody>(),
        )
        .route(
            "/playback/{id}",
            get(playback::get),
            &[(Method::GET, perm!(Streams: Read))],
        )
        .route(
            "/asset",
            get(assets::list),
            &[(Method::GET, perm!(Uploads: List))],
        )
        .query(Method::GET, &["limit", "cursor"])
        .route(
            "/asset/request-upload",
            post(assets::request_upload),
            &[(Method::POST, perm!(Uploads: Create))],
        )
        .body(Method::POST, Body::json::<assets::NewAssetBody>())
        // The SDKs' path, and the one Livepeer's CORS allowlist names.
        .route(
            "/asset/upload/url",
            post(assets::from_url),
            &[(Method::POST, perm!(Uploads: Create))],
        )
        .body(Method::POST, Body::json::<assets::NewAssetFromUrlBody>())
        .route(
            "/asset/url",
            post(assets::from_url),
            &[(Method::POST, perm!(Uploads: Create))],
        )
        .body(Method::POST, Body::json::<assets::NewAssetFromUrlBody>())
        .route(
            "/asset/upload/direct",
            axum::routing::put(assets::put_direct)
                .layer(axum::extract::DefaultBodyLimit::disable()),
            &[(Method::PUT, Need::UploadCredential)],
        )
        .body(Method::PUT, Body::Binary)
        .query(Method::PUT, &["token"])
        .route(
            "/asset/upload/tus",
            post(tus::create),
            &[(Method::POST, Need::UploadCredential)],
        )
        .body(Method::POST, Body::None)
        .query(Method::POST, &["token"])
        .route(
            "/asset/upload/tus/{id}",
            get(tus::offset)
                .patch(tus::patch)
                .layer(axum::extract::DefaultBodyLimit::disable()),
            &[
                (Method::GET, Need::UploadCredential),
                (Method::PATCH, Need::UploadCredential),
            ],
        )
        .body(Method::PATCH, Body::Binary)
        .query(Method::GET, &["token"])
        .query(Method::PATCH, &["token"])
        .route(
            "/asset/{id}",
            get(assets::get)
                .patch(assets::update)
                .delete(assets::delete),
            &[
                (Method::GET, perm!(Uploads: Read)),
                (Method::PATCH, perm!(Uploads: Update)),
                (Method::DELETE, perm!(Uploads: Delete)),
            ],
        )
        .body(Method::PATCH, Body::json::<assets::AssetPatchBody>())
        .route(
            "/task",
            get(assets::tasks),
            &[(Method::GET, perm!(Uploads: List))],
        )
        .query(Method::GET, &["limit", "cursor"])
        .route(
            "/task/{id}",
            get(assets::task),
            &[(Method::GET, perm!(Uploads: Read))],
        )
        .route(
            "/multistream/target",
            get(targets::list).post(targets::create),
            &[
                (Method::GET, perm!(Multistream: List)),
                (Method::POST, perm!(Multistream: Create)),
            ],
        )
        .body(Method::POST, Body::json::<targets::NewTargetBody>())
        .route(
            "/multistream/target/{id}",
            get(targets::get)
                .patch(targets::update)
                .delete(targets::delete),
            &[
                (Method::GET, perm!(Multistream: Read)),
                (Method::PATCH, perm!(Multistream: Update)),
                (Method::DELETE, perm!(Multistream: Delete)),
            ],
        )
        .body(Method::PATCH, Body::json::<targets::TargetPatchBody>())
        .route(
            "/webhook",
            get(webhooks::list).post(webhooks::create),
            &[
                (Method::GET, perm!(Webhooks: List)),
                (Method::POST, perm!(Webhooks: Create)),
            ],
        )
        .query(Method::GET, &["limit", "cursor"])
        .body(Method::POST, Body::json::<webhooks::WebhookBody>())
        .route(
            "/webhook/{id}",
            get(webhooks::get)
                .put(webhooks::update)
                .delete(webhooks::delete),
            &[
                (Method::GET, perm!(Webhooks: Read)),
                (Method::PUT, perm!(Webhooks: Update)),
                (Method::DELETE, perm!(Webhooks: Delete)),
            ],
        )
        .body(Method::PUT, Body::json::<webhooks::WebhookBody>())
        .map("/api", |api| {
            Router::new().nest(
                "/api",
                api.fallback(not_found)
                    .method_not_allowed_fallback(method_not_allowed),
            )
        })
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
