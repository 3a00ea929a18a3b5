//! CORS for every API dialect's routes (not the dashboard, not the ingest hooks). Preflights
//! carry no key, so they are answered for any origin (reflected); the decision is made on the
//! actual request, where the key's origin list is known (`Services::admit`): a refused origin's
//! response carries `OriginRefused` and gets no `Access-Control-Allow-Origin`.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::OriginRefused;

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const DEFAULT_ALLOW_HEADERS: &str = "authorization, content-type";
const EXPOSE_HEADERS: &str = "link";
const MAX_AGE: &str = "600";

/// Paths that are no API: a browser page's own (the dashboard) and media servers' hooks.
fn is_api(path: &str) -> bool {
    !(path.starts_with("/dashboard") || path.starts_with("/ingest/"))
}

pub async fn layer(req: Request, next: Next) -> Response {
    if !is_api(req.uri().path()) {
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(&origin, req.headers());
    }
    let mut res = next.run(req).await;
    if res.extensions().get::<OriginRefused>().is_none() {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    res
}

fn preflight(origin: &HeaderValue, req: &HeaderMap) -> Response {
    let allow_headers = req
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_ALLOW_HEADERS));
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            ),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers),
            (
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            ),
            (
                header::VARY,
                HeaderValue::from_static(
                    "origin, access-control-request-method, access-control-request-headers",
                ),
            ),
        ],
    )
        .into_response()
}
