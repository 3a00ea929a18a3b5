//! The web dashboard under `/dashboard`: server-rendered pages (maud), one small CSS file and a
//! few lines of JavaScript, no build step. Every page needs a signed-in user (session cookie);
//! every form carries the session's CSRF token; every object is read through the services with
//! the user's account as scope, so nobody sees another account's objects.

mod account;
mod audit;
mod credentials;
mod jobs;
mod keys;
mod layout;
mod signin;
mod signing_keys;
mod stream_keys;
mod streams;
mod usage;
mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Method;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::{ApiError, Dialect};
use crate::routes::{Body, DialectDoc, Need, Routes};
use crate::AppState;
use service::dashboard::SignedIn;

pub const SESSION_COOKIE: &str = "sg_session";
pub const LOGIN_CSRF_COOKIE: &str = "sg_login_csrf";

/// Errors on dashboard pages are pages.
pub struct Dash;

impl Dialect for Dash {
    const NAME: &'static str = "dashboard";
    const DOC: DialectDoc = DialectDoc {
        tag: "dashboard",
        key_schemes: &[],
        error_content_type: "text/html; charset=utf-8",
        error_schema: r#"{"type":"string"}"#,
    };

    fn render(status: StatusCode, _code: &'static str, message: &str) -> Response {
        let body = layout::error_page(status, message);
        (status, body).into_response()
    }
}

pub type DashResult<T> = Result<T, ApiError<Dash>>;

pub fn routes() -> Routes {
    Routes::of::<Dash>(Body::Form)
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/dashboard/keys") }),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/",
            get(|| async { Redirect::to("/dashboard/keys") }),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/static/app.css",
            get(layout::css),
            &[(Method::GET, Need::Anyone)],
        )
        .route(
            "/dashboard/static/app.js",
            get(layout::js),
            &[(Method::GET, Need::Anyone)],
        )
        .route(
            "/dashboard/login",
            get(signin::form).post(signin::submit),
            &[(Method::GET, Need::Anyone), (Method::POST, Need::Anyone)],
        )
        .route(
            "/dashboard/logout",
            post(signin::logout),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/environment",
            post(signin::environment),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/keys",
            get(keys::page).post(keys::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/keys/{id}/revoke",
            post(keys::revoke),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/keys/{id}/edit",
            post(keys::edit),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/keys/{id}/reroll",
            post(keys::reroll),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/streams",
            get(streams::page).post(streams::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/streams/{id}",
            get(streams::detail),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/streams/{id}/reveal",
            post(streams::reveal),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/streams/{id}/suspend",
            post(streams::suspend),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/streams/{id}/delete",
            post(streams::delete),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/signing-keys",
            get(signing_keys::page).post(signing_keys::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/signing-keys/{id}/disable",
            post(signing_keys::disable),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/signing-keys/{id}/enable",
            post(signing_keys::enable),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/signing-keys/{id}/delete",
            post(signing_keys::delete),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/stream-keys",
            get(stream_keys::page).post(stream_keys::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/stream-keys/global",
            post(stream_keys::global),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/stream-keys/{id}/delete",
            post(stream_keys::delete),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/credentials",
            get(credentials::page).post(credentials::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/credentials/{id}/delete",
            post(credentials::delete),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/jobs",
            get(jobs::page),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/jobs/{id}/cancel",
            post(jobs::cancel),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/audit",
            get(audit::page),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/usage",
            get(usage::page),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/account",
            get(account::page),
            &[(Method::GET, Need::Dashboard)],
        )
        .route(
            "/dashboard/account/password",
            post(account::password),
            &[(Method::POST, Need::Dashboard)],
        )
        .route(
            "/dashboard/users",
            get(users::page).post(users::create),
            &[
                (Method::GET, Need::Dashboard),
                (Method::POST, Need::Dashboard),
            ],
        )
        .route(
            "/dashboard/users/{id}/delete",
            post(users::delete),
            &[(Method::POST, Need::Dashboard)],
        )
}

/// The signed-in user of a page; without a valid session the browser is sent to sign in.
pub struct Who(pub SignedIn);

impl FromRequestParts<AppState> for Who {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/dashboard/login").into_response());
        };
        match state.svc.signed_in(&token).await {
            Ok(Some(who)) => Ok(Who(who)),
            Ok(None) => Err(Redirect::to("/dashboard/login").into_response()),
            Err(e) => Err(ApiError::<Dash>::from(e).into_response()),
        }
    }
}

/// The client's address: the TCP peer the accept loop recorded (never a header, which the
/// client could choose). None only when the request did not come through the server's loop.
pub struct Peer(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(crate::server::peer_addr(parts)))
    }
}

/// A submitted form: `application/x-www-form-urlencoded` pairs, in order (a field may repeat).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A text field, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default().trim()
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "on" || v == "true")
    }

    /// Refuses the form unless it carries this session's CSRF token.
    pub fn check_csrf(&self, who: &SignedIn) -> DashResult<()> {
        self.check_csrf_against(&who.session.csrf)
    }

    /// Refuses the form unless its `csrf` field is `expected` (never empty), compared in
    /// constant time.
    pub fn check_csrf_against(&self, expected: &str) -> DashResult<()> {
        let sent = self.get("csrf").unwrap_or_default();
        if !expected.is_empty()
            && service::ingest::constant_time_eq(sent.as_bytes(), expected.as_bytes())
        {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }
}

pub fn csrf_refused() -> ApiError<Dash> {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "This form did not come from your dashboard session (its CSRF token is missing or stale). Reload the page and try again.",
    )
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError<Dash>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Dashboard forms are sent as application/x-www-form-urlencoded.",
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if crate::connections::is_body_timeout(&rejection) {
                    crate::json::body_timeout()
                } else {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        "The form is too large.",
                    )
                }
            })?;
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map(Form)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_form",
                    "The form could not be read.",
                )
            })
    }
}

/// `?done=…`: the one-line notice a page shows after a form sent the browser back to it.
#[derive(serde::Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// `s` for a query-string value.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)])
        .map(|e| e.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

/// The value of a cookie in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for a dashboard cookie: HttpOnly, SameSite=Strict, scoped to `/dashboard`, and
/// Secure when the browser reached us over TLS (a TLS-terminating proxy says so with
/// `X-Forwarded-Proto: https`) or the `cookie_secure` setting says always.
pub fn with_cookie(
    mut res: Response,
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: i64,
) -> Response {
    if let Ok(v) = set_cookie(
        state.settings.cookie_secure,
        headers,
        name,
        value,
        max_age_secs,
    )
    .parse()
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn set_cookie(
    always_secure: bool,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: i64,
) -> String {
    let secure = always_secure
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// 303 to a page after a form (post/redirect/get).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A user-supplied id in a path: anything unparsable is simply not found.
pub fn parse_uuid(id: &str, what: &'static str) -> DashResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| ApiError::from(domain::Error::NotFound(what)))
}
