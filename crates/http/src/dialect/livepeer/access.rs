//! What a CORS-enabled key without full access may call: Livepeer's published allowlist, as data.
//! Routes are axum route patterns (as `MatchedPath` reports them), so a new route is refused to
//! such keys until it is listed here.

use axum::http::Method;

/// (method, route pattern) pairs open to restricted CORS keys. Patterns for routes streamgate does
/// not serve yet (assets, tasks, viewership) are listed too, so the table matches the platform.
pub const CORS_ALLOWLIST: &[(Method, &str)] = &[
    (Method::POST, "/api/stream"),
    (Method::GET, "/api/stream/{id}"),
    (Method::PATCH, "/api/stream/{id}"),
    (Method::GET, "/api/stream/{id}/sessions"),
    (Method::GET, "/api/session/{id}"),
    (Method::POST, "/api/multistream/target"),
    (Method::GET, "/api/multistream/target/{id}"),
    (Method::PATCH, "/api/multistream/target/{id}"),
    (Method::POST, "/api/asset/request-upload"),
    (Method::POST, "/api/asset/url"),
    (Method::GET, "/api/asset/{id}"),
    (Method::PATCH, "/api/asset/{id}"),
    (Method::GET, "/api/task/{id}"),
    (Method::GET, "/api/data/views/{*rest}"),
];

pub fn restricted_key_may_call(method: &Method, route: &str) -> bool {
    CORS_ALLOWLIST
        .iter()
        .any(|(m, r)| m == method && *r == route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_is_exact() {
        assert!(restricted_key_may_call(&Method::POST, "/api/stream"));
        assert!(restricted_key_may_call(&Method::PATCH, "/api/stream/{id}"));
        assert!(!restricted_key_may_call(&Method::GET, "/api/stream"));
        assert!(!restricted_key_may_call(
            &Method::DELETE,
            "/api/stream/{id}"
        ));
        assert!(!restricted_key_may_call(&Method::GET, "/api/api-token"));
        assert!(!restricted_key_may_call(
            &Method::GET,
            "/api/multistream/target"
        ));
    }
}
