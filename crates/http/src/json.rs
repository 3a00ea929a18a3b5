//! A JSON body extractor whose every rejection speaks the route's dialect.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Dialect};

/// Largest request body any route accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Json<D, T>(pub T, pub PhantomData<fn() -> D>);

/// A request body that did not arrive within `body_timeout` of its head (see `connections`).
pub fn body_timeout<D>() -> ApiError<D> {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body did not arrive in time",
    )
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, D, T> FromRequest<S> for Json<D, T>
where
    S: Send + Sync,
    D: Dialect,
    T: DeserializeOwned,
{
    type Rejection = ApiError<D>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !ct.is_some_and(is_json) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Content-Type must be application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if crate::connections::is_body_timeout(&rejection) {
                body_timeout()
            } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is larger than {BODY_LIMIT} bytes"),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "could not read the request body",
                )
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(|v| Json(v, PhantomData))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("invalid JSON body: {e}"),
                )
            })
    }
}

/// A JSON response: `value` serialized into one buffer sized for the small bodies the API answers
/// (axum's `Json` starts smaller and grows, which costs a reallocation and a copy on the verify
/// path). A value that cannot be serialized (never the case for our own types) is a plain 500.
pub fn response<T: serde::Serialize>(status: StatusCode, value: &T) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut buf = Vec::with_capacity(512);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => body_response(status, buf),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A response with an already serialized JSON body.
pub fn body_response(
    status: StatusCode,
    json: impl Into<axum::body::Body>,
) -> axum::response::Response {
    json_response_of(status, json.into())
}

/// A JSON response with a body of any type (the hot route's is not boxed).
pub fn json_response_of<B>(status: StatusCode, body: B) -> axum::http::Response<B> {
    let mut res = axum::http::Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}

/// The JSON array of `items`, each already a JSON document (memoised bodies): joined, not
/// parsed and serialized again.
pub fn join_array<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod join_tests {
    #[test]
    fn joined_items_are_one_json_array() {
        let items: [&[u8]; 3] = [br#"{"a":1}"#, b"[]", b"\"x\""];
        let joined = super::join_array(items);
        let v: serde_json::Value = serde_json::from_slice(&joined).unwrap();
        assert_eq!(v, serde_json::json!([{"a":1}, [], "x"]));
        assert_eq!(super::join_array(std::iter::empty::<&[u8]>()), b"[]");
    }
}
