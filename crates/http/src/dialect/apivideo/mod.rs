//! api.video's API at its native paths: `/auth/api-key` and `/auth/refresh` (disposable Bearer
//! tokens), `/live-streams`. Every other route accepts `Basic base64(<key>:)`, `Bearer <token>`
//! or the bare token. Every route is rate limited per key, with `X-RateLimit-*` headers on every
//! response. Errors are `application/problem+json`.

mod auth;
mod live_streams;
mod pagination;
mod upload_tokens;
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

use crate::auth::{authenticate_any, is_access_token};
use crate::error::{ApiError, Dialect};
use crate::routes::{Need, Routes};
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
    req.extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".into(), |c| format!("ip:{}", c.0.ip()))
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
    let result = authenticate(&state, &parts.headers).await;
    crate::auth::report_rate(&parts, &result);
    match result {
        Ok(actor) => {
            parts.extensions.insert(actor);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e @ Error::Unauthenticated(_)) => {
            if let Error::Unauthenticated(f) = &e {
                state.metrics.auth_failure(ApiVideo::NAME, f.as_str());
            }
            let d = state.ratelimit.take(&peer(&parts));
            if !d.allowed {
                return with_limit_headers(too_many(d), d);
            }
            with_limit_headers(AvError::from(e).into_response(), d)
        }
        Err(e) => AvError::from(e).into_response(),
    }
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
    let open = Routes::new()
        .route(
            "/auth/api-key",
            post(auth::api_key),
            &[(Method::POST, Need::BodyCredential)],
        )
        .route(
            "/auth/refresh",
            post(auth::refresh),
            &[(Method::POST, Need::BodyCredential)],
        )
        .map("", |r| {
            r.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                guard_anonymous,
            ))
        });
    let authed = Routes::new()
        .route(
            "/live-streams",
            get(live_streams::list).post(live_streams::create),
            &[
                (Method::GET, perm!(Streams: List)),
                (Method::POST, perm!(Streams: Create)),
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
            "/upload-tokens",
            get(upload_tokens::list).post(upload_tokens::create),
            &[
                (Method::GET, perm!(UploadTokens: List)),
                (Method::POST, perm!(UploadTokens: Create)),
            ],
        )
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
