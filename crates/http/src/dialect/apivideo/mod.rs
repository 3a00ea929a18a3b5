//! api.video's API at its native paths: `/auth/api-key` and `/auth/refresh` (disposable Bearer
//! tokens), `/live-streams`. Every other route accepts `Basic base64(<key>:)`, `Bearer <token>`
//! or the bare token. Every route is rate limited per key, with `X-RateLimit-*` headers on every
//! response. Errors are `application/problem+json`.

mod account;
mod auth;
pub(crate) mod live_streams;
mod pagination;
mod upload_tokens;
mod videos;
mod webhooks;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::Method;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use std::net::SocketAddr;

use crate::auth::{authenticate_any, is_access_token};
use crate::error::{ApiError, Dialect};
use crate::routes::{Body, DialectDoc, Need, Routes};
use crate::{perm, AppState};
use domain::RateDecision as Decision;
use domain::{Actor, AuthFailure, Error};

pub struct ApiVideo;

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    name: &'static str,
}

impl Dialect for ApiVideo {
    const NAME: &'static str = "apivideo";
    const DOC: DialectDoc = DialectDoc {
        tag: "apivideo",
        key_schemes: &["basic", "bearer", "x-api-key", "tok"],
        error_content_type: "application/problem+json",
        error_schema: r#"{"type":"object","required":["type","title","status","name"],"properties":{"type":{"type":"string"},"title":{"type":"string"},"status":{"type":"integer"},"name":{"type":"string"}}}"#,
    };

    fn render(status: StatusCode, code: &'static str, message: &str) -> Response {
        let body = Problem {
            kind: format!(
                "https://docs.api.video/reference/{}",
                code.replace('_', "-")
            ),
            title: message,
            status: status.as_u16(),
            name: code,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (status, json).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }

    /// A missing object reads "The requested resource was not found.", whatever kind it was.
    fn reword(e: &Error) -> Option<AvError> {
        match e {
            Error::NotFound(_) => Some(AvError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "The requested resource was not found.",
            )),
            _ => None,
        }
    }
}

/// The first segments of api.video's API paths (its reference's resources): a request under one
/// that no route serves is answered in api.video's error shape, problem+json.
const PATHS: &[&str] = &[
    "account",
    "analytics",
    "auth",
    "live-streams",
    "players",
    "summaries",
    "upload",
    "upload-tokens",
    "videos",
    "watermarks",
    "webhooks",
];

/// Is `path` under one of api.video's API paths?
pub fn owns(path: &str) -> bool {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    PATHS.contains(&first)
}

/// No route serves this api.video path: 404 in its shape.
pub fn not_found() -> AvError {
    AvError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "The requested resource was not found.",
    )
}

/// The api.video path is served, but not with this method: 405 in its shape.
pub fn method_not_allowed(method: &Method) -> AvError {
    AvError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("The method {method} is not allowed on this resource."),
    )
}

pub type AvError = ApiError<ApiVideo>;
pub type AvResult<T> = Result<T, AvError>;

/// The authenticated caller, put in the request by [`guard`].
pub struct Av(pub Actor);

impl FromRequestParts<AppState> for Av {
    type Rejection = AvError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AvError> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Av)
            .ok_or_else(|| Error::Unauthenticated(AuthFailure::Missing).into())
    }
}

/// Any credential the shared extractor takes, plus api.video's bare token (`Authorization: <jwt>`).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Actor, Error> {
    crate::auth::one_authorization(headers)?;
    if let Some(bare) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| is_access_token(v))
    {
        return state
            .svc
            .authenticate_token(bare, crate::auth::origin(headers))
            .await;
    }
    authenticate_any(state, headers).await
}

fn with_limit_headers(mut res: Response, d: Decision) -> Response {
    crate::error::rate_headers(res.headers_mut(), d);
    res
}

fn too_many(d: Decision) -> Response {
    let mut res = AvError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!("Too many requests: retry in {} s.", d.retry_after),
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(d.retry_after));
    res
}

fn peer(req: &axum::http::request::Parts) -> String {
    peer_of(req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))
}

fn peer_of(addr: Option<SocketAddr>) -> String {
    addr.map_or_else(|| "unknown".into(), |a| format!("ip:{}", a.ip()))
}

/// Authenticates (the core admits the key: origin, rate limit, credits) and hands the caller to
/// the handlers. A request without a valid key counts against its client address instead, so
/// guessing is throttled too.
async fn guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (rate, result) = admit(&state, &parts.headers, addr).await;
    crate::auth::report_rate(&parts, rate);
    match result {
        Ok(actor) => {
            parts.extensions.insert(actor);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(refused) => refused,
    }
}

/// The caller of an authenticated api.video route, or the response refusing it, with the
/// rate-limit decision for `X-RateLimit-*`. A request without a valid key counts against its
/// client address (`addr`), so guessing is throttled too. Shared by [`guard`] and the accept
/// loop's hot route (`http::hot`).
pub(crate) async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    addr: Option<SocketAddr>,
) -> (Option<Decision>, Result<Actor, Response>) {
    let result = authenticate(state, headers).await;
    let rate = crate::auth::rate_of(&result);
    let result = match result {
        Ok(actor) => Ok(actor),
        Err(e @ Error::Unauthenticated(_)) => {
            if let Error::Unauthenticated(f) = &e {
                state.metrics.auth_failure(ApiVideo::NAME, f.as_str());
            }
            let d = state.ratelimit.take(&peer_of(addr));
            if !d.allowed {
                return (rate, Err(with_limit_headers(too_many(d), d)));
            }
            Err(with_limit_headers(AvError::from(e).into_response(), d))
        }
        Err(e) => Err(AvError::from(e).into_response()),
    };
    (rate, result)
}

/// The `/auth/*` routes have no key yet: they are limited per client address.
async fn guard_anonymous(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let d = state.ratelimit.take(&peer(&parts));
    if !d.allowed {
        return with_limit_headers(too_many(d), d);
    }
    with_limit_headers(next.run(Request::from_parts(parts, body)).await, d)
}

pub fn routes(state: &AppState) -> Routes {
    let open = Routes::of::<ApiVideo>(Body::AnyJson)
        .route(
            "/auth/api-key",
            post(auth::api_key),
            &[(Method::POST, Need::BodyCredential)],
        )
        .body(Method::POST, Body::json::<auth::ApiKeyBody>())
        .route(
            "/auth/refresh",
            post(auth::refresh),
            &[(Method::POST, Need::BodyCredential)],
        )
        .body(Method::POST, Body::json::<auth::RefreshBody>())
        .route(
            "/upload",
            post(videos::upload_with_token).layer(axum::extract::DefaultBodyLimit::disable()),
            &[(Method::POST, Need::UploadCredential)],
        )
        .body(Method::POST, Body::Multipart)
        .query(Method::POST, &["token"])
        .map("", |r| {
            r.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                guard_anonymous,
            ))
        });
    // Live-stream bodies (`live_streams::CreateBody`, `UpdateBody`) are described as any object.
    let authed = Routes::of::<ApiVideo>(Body::AnyJson)
        .route(
            "/live-streams",
            get(live_streams::list).post(live_streams::create),
            &[
                (Method::GET, perm!(Streams: List)),
                (Method::POST, perm!(Streams: Create)),
            ],
        )
        .query(
            Method::GET,
            &[
                "currentPage",
                "pageSize",
                "name",
                "streamKey",
                "sortBy",
                "sortOrder",
            ],
        )
        .route(
            "/live-streams/{id}",
            get(live_streams::get)
                .patch(live_streams::update)
                .delete(live_streams::delete),
            &[
                (Method::GET, perm!(Streams: Read)),
                (Method::PATCH, perm!(Streams: Update)),
                (Method::DELETE, perm!(Streams: Delete)),
            ],
        )
        .route(
            "/account",
            get(account::get),
            &[(Method::GET, perm!(Account: Read))],
        )
        .route(
            "/live-streams/{id}/thumbnail",
            post(live_streams::upload_thumbnail)
                .layer(axum::extract::DefaultBodyLimit::disable())
                .delete(live_streams::delete_thumbnail),
            &[
                (Method::POST, perm!(Streams: Update)),
                (Method::DELETE, perm!(Streams: Update)),
            ],
        )
        .body(Method::POST, Body::Multipart)
        .route(
            "/videos",
            get(videos::list).post(videos::create),
            &[
                (Method::GET, perm!(Uploads: List)),
                (Method::POST, perm!(Uploads: Create)),
            ],
        )
        .query(
            Method::GET,
            &[
                "currentPage",
                "pageSize",
                "title",
                "description",
                "tags[]",
                "liveStreamId",
                "sortBy",
                "sortOrder",
            ],
        )
        .body(Method::POST, Body::json::<videos::CreateBody>())
        .route(
            "/videos/{id}",
            get(videos::get)
                .patch(videos::update)
                .delete(videos::delete),
            &[
                (Method::GET, perm!(Uploads: Read)),
                (Method::PATCH, perm!(Uploads: Update)),
                (Method::DELETE, perm!(Uploads: Delete)),
            ],
        )
        .body(Method::PATCH, Body::json::<videos::UpdateBody>())
        .route(
            "/videos/{id}/status",
            get(videos::status),
            &[(Method::GET, perm!(Uploads: Read))],
        )
        .route(
            "/videos/{id}/source",
            post(videos::upload_source).layer(axum::extract::DefaultBodyLimit::disable()),
            &[(Method::POST, perm!(Uploads: Update))],
        )
        .body(Method::POST, Body::Multipart)
        .route(
            "/upload-tokens",
            get(upload_tokens::list).post(upload_tokens::create),
            &[
                (Method::GET, perm!(UploadTokens: List)),
                (Method::POST, perm!(UploadTokens: Create)),
            ],
        )
        .query(
            Method::GET,
            &["currentPage", "pageSize", "sortBy", "sortOrder"],
        )
        .body(Method::POST, Body::json::<upload_tokens::CreateBody>())
        .route(
            "/upload-tokens/{token}",
            get(upload_tokens::get).delete(upload_tokens::delete),
            &[
                (Method::GET, perm!(UploadTokens: Read)),
                (Method::DELETE, perm!(UploadTokens: Delete)),
            ],
        )
        .route(
            "/webhooks",
            get(webhooks::list).post(webhooks::create),
            &[
                (Method::GET, perm!(Webhooks: List)),
                (Method::POST, perm!(Webhooks: Create)),
            ],
        )
        .query(Method::GET, &["currentPage", "pageSize", "events"])
        .body(Method::POST, Body::json::<webhooks::CreateBody>())
        .route(
            "/webhooks/{id}",
            get(webhooks::get).delete(webhooks::delete),
            &[
                (Method::GET, perm!(Webhooks: Read)),
                (Method::DELETE, perm!(Webhooks: Delete)),
            ],
        )
        .map("", |r| {
            r.route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        });
    open.merge(authed)
}

/// Properties of api.video's pagination parameters: no query panics them; in-range numbers are
/// taken, anything else is a 400.
#[cfg(test)]
mod pagination_props {
    use super::pagination::{params, MAX_PAGE_SIZE};
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_values_never_panic(page in any::<String>(), size in any::<String>()) {
            let q = HashMap::from([("currentPage".to_string(), page), ("pageSize".to_string(), size)]);
            if let Err(e) = params(&q) {
                prop_assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
            }
        }

        #[test]
        fn in_range_numbers_are_taken_and_others_refused(page in any::<i64>(), size in any::<i64>()) {
            let q = HashMap::from([
                ("currentPage".to_string(), page.to_string()),
                ("pageSize".to_string(), size.to_string()),
            ]);
            let ok = (1..=1_000_000).contains(&page) && (1..=MAX_PAGE_SIZE).contains(&size);
            match params(&q) {
                Ok(got) => prop_assert!(ok && got == (page, size)),
                Err(e) => prop_assert!(!ok && e.status == axum::http::StatusCode::BAD_REQUEST),
            }
        }
    }
}
