//! Each dialect renders errors in its platform's body; the status mapping of the domain error is shared.

use std::borrow::Cow;
use std::marker::PhantomData;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use domain::Error;

/// A wire dialect: how its error bodies look.
pub trait Dialect: Send + Sync + 'static + Sized {
    /// Used as a metrics label.
    const NAME: &'static str;
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
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Store(inner) => {
                tracing::error!(error = %inner, "store error");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
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
        D::render(self.status, self.code, &self.message)
    }
}
