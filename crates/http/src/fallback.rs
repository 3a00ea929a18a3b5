//! Requests no route serves: answered in the error shape of the platform whose paths they are
//! under (api.video's problem+json under its resources; Livepeer's under `/api`, by its own
//! nested fallback), streamgate's own elsewhere.

use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};

use crate::dialect::{apivideo, sg};

pub async fn not_found(method: Method, uri: Uri) -> Response {
    if apivideo::owns(uri.path()) {
        return apivideo::not_found().into_response();
    }
    sg::not_found(method, uri).await.into_response()
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    if apivideo::owns(uri.path()) {
        return apivideo::method_not_allowed(&method).into_response();
    }
    sg::method_not_allowed(method, uri).await.into_response()
}
