//! Each dialect renders errors in its platform's body; the status mapping of the domain error is shared.

use std::borrow::Cow;
use std::marker::PhantomData;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use axum::http::HeaderValue;
use domain::{Error, RateDecision};

/// Marks a response refused because of the request's origin: the CORS layer then leaves out
/// `Access-Control-Allow-Origin`, so the browser blocks the page from reading it.
#[derive(Clone, Copy)]
pub struct OriginRefused;

/// A refusal to count in `/metrics` (`streamgate_auth_failures_total{dialect, reason}`): put on the
/// response by the dialect's error and counted by the metrics layer.
#[derive(Clone, Copy)]
pub struct Refusal {
    pub dialect: &'static str,
    pub reason: &'static str,
}

/// `Retry-After` (seconds) on a 503 or 507 for a store that failed: the store's health is probed
/// every 500 ms and a request fails within the pool's acquire timeout, so a second is a fair wait.
pub const STORE_RETRY_AFTER: u32 = 1;

/// A wire dialect: how its error bodies look.
pub trait Dialect: Send + Sync + 'static + Sized {
    /// Used as a metrics label.
    const NAME: &'static str;
    /// How its routes are described in the OpenAPI document (error bodies, key header styles).
    const DOC: crate::dialect_doc::DialectDoc;
    fn render(status: StatusCode, code: &'static str, message: &str) -> Response;

    /// Where the platform answers a domain error differently from the shared mapping below
    /// (Edgecast's 400 for a duplicate, api.video's one not-found wording): its own answer.
    fn reword(_e: &Error) -> Option<ApiError<Self>> {
        None
    }
}

/// An error on its way out, rendered in dialect `D`'s format.
pub struct ApiError<D> {
    pub status: StatusCode,
    pub code: &'static str,
    /// Borrowed when fixed (refused credentials: the verify path allocates no message).
    pub message: Cow<'static, str>,
    /// A rate-limit refusal's decision: `Retry-After` and `X-RateLimit-*` go with it.
    pub rate: Option<RateDecision>,
    /// Refused for the request's origin (see `OriginRefused`).
    pub origin_refused: bool,
    /// Counted as a refusal with this reason.
    pub refusal: Option<&'static str>,
    /// `Retry-After` in seconds (a busy server's 503).
    pub retry_after: Option<u32>,
    _dialect: PhantomData<fn() -> D>,
}

impl<D> std::fmt::Debug for ApiError<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl<D> ApiError<D> {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            rate: None,
            origin_refused: false,
            refusal: None,
            retry_after: None,
            _dialect: PhantomData,
        }
    }
}

impl<D: Dialect> From<Error> for ApiError<D> {
    fn from(e: Error) -> Self {
        if let Some(own) = D::reword(&e) {
            return own;
        }
        let (status, code) = match &e {
            Error::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::PermissionDenied {
                cors_restricted, ..
            } => {
                let mut out = Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string());
                out.refusal = Some(if *cors_restricted {
                    "cors_restricted"
                } else {
                    "permission"
                });
                return out;
            }
            Error::OriginRefused(_) => {
                let mut out = Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string());
                out.origin_refused = true;
                out.refusal = Some("cors_origin");
                return out;
            }
            Error::RateLimited(d) => {
                let mut out = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    format!("Too many requests: retry in {} s.", d.retry_after),
                );
                out.rate = Some(*d);
                out.refusal = Some("rate_limited");
                return out;
            }
            Error::UsageExceeded => {
                let mut out = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "usage_exceeded",
                    e.to_string(),
                );
                out.refusal = Some("usage_exceeded");
                return out;
            }
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Error::Conflict(_) | Error::Owned(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Store(inner) => {
                tracing::error!(error = %inner, "store error");
                let mut out = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    e.to_string(),
                );
                out.retry_after = Some(STORE_RETRY_AFTER);
                return out;
            }
            Error::StoreFull => {
                tracing::error!("store out of space: write refused");
                let mut out = Self::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "insufficient_storage",
                    e.to_string(),
                );
                out.retry_after = Some(STORE_RETRY_AFTER);
                return out;
            }
            Error::Busy { retry_after } => {
                let mut out = Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string());
                out.retry_after = Some(*retry_after);
                return out;
            }
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                );
            }
        };
        match e {
            Error::Unauthenticated(f) => Self::new(status, code, f.message()),
            e => Self::new(status, code, e.to_string()),
        }
    }
}

impl<D: Dialect> IntoResponse for ApiError<D> {
    fn into_response(self) -> Response {
        let mut res = D::render(self.status, self.code, &self.message);
        if let Some(d) = self.rate {
            rate_headers(res.headers_mut(), d);
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(d.retry_after),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.origin_refused {
            res.extensions_mut().insert(OriginRefused);
        }
        if let Some(reason) = self.refusal {
            res.extensions_mut().insert(Refusal {
                dialect: D::NAME,
                reason,
            });
        }
        res
    }
}

/// `X-RateLimit-Limit`, `-Remaining` and `-Retry-After` (api.video's names), in every dialect.
/// On the verify path's every response: the names are constants (no parsing per request) and
/// only the remaining count is formatted.
pub fn rate_headers(h: &mut axum::http::HeaderMap, d: RateDecision) {
    use axum::http::HeaderName;
    static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    static RETRY_AFTER: HeaderName = HeaderName::from_static("x-ratelimit-retry-after");
    h.insert(&LIMIT, HeaderValue::from(d.limit));
    h.insert(&REMAINING, HeaderValue::from(d.remaining));
    h.insert(
        &RETRY_AFTER,
        match d.retry_after {
            0 => HeaderValue::from_static("0"),
            n => HeaderValue::from(n),
        },
    );
}
