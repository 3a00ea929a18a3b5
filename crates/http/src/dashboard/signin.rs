//! Sign-in (double-submit CSRF cookie before there is a session), sign-out, environment switch.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::bare;
use super::{
    cookie, see_other, with_cookie, DashResult, Form, Peer, Who, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::error::ApiError;
use crate::AppState;
use domain::Environment;
use domain::{random_base62, SecretString};
use service::dashboard::{SignInError, SESSION_MS};

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
) -> Response {
    // Reuse the browser's login CSRF value if it has one, so two tabs both work.
    let token = cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| random_base62(32));
    let res = bare(
        status,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form.stack.panel method="post" action="/dashboard/login" {
                input type="hidden" name="csrf" value=(token);
                div.field {
                    label for="username" { "User name" }
                    input #username type="text" name="username" value=(username) autocomplete="username" required autofocus;
                }
                div.field {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
        },
    );
    with_cookie(res, state, headers, LOGIN_CSRF_COOKIE, &token, 3600)
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Already signed in: straight to the dashboard.
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        if let Ok(Some(_)) = state.svc.signed_in(&t).await {
            return see_other("/dashboard/keys");
        }
    }
    login_page(&state, &headers, StatusCode::OK, None, "")
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Peer(peer): Peer,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf_against(&cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default())?;
    let username = form.text("username").to_string();
    let password = SecretString::new(form.get("password").unwrap_or_default().to_string());
    let client = peer.map(|p| p.ip());
    match state.svc.sign_in(&username, &password, client).await {
        Ok((token, _)) => Ok(with_cookie(
            see_other("/dashboard/keys"),
            &state,
            &headers,
            SESSION_COOKIE,
            token.expose(),
            SESSION_MS / 1000,
        )),
        Err(SignInError::Wrong) => Ok(login_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Wrong user name or password."),
            &username,
        )),
        Err(SignInError::Locked { until }) => {
            let wait = ((until - state.svc.now_ms()).max(0) as u64)
                .div_ceil(1000)
                .max(1);
            let res = login_page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed sign-ins: this user name is locked for your address for {}.",
                    how_long(wait)
                )),
                &username,
            );
            Ok(retry_after(res, wait))
        }
        Err(SignInError::Busy { retry_after: secs }) => {
            let res = login_page(
                &state,
                &headers,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("The server is busy checking other sign-ins. Try again in a moment."),
                &username,
            );
            Ok(retry_after(res, u64::from(secs)))
        }
        Err(SignInError::Store(e)) => Err(ApiError::from(e)),
    }
}

fn retry_after(mut res: Response, secs: u64) -> Response {
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// "3 seconds", "2 minutes".
fn how_long(secs: u64) -> String {
    match secs {
        1 => "1 second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    state.svc.sign_out(&who).await?;
    Ok(with_cookie(
        see_other("/dashboard/login"),
        &state,
        &headers,
        SESSION_COOKIE,
        "",
        0,
    ))
}

pub async fn environment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let env = Environment::parse(form.text("environment")).map_err(ApiError::from)?;
    state.svc.switch_environment(&who, env).await?;
    // Back to the page the switch was on.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/dashboard/").map(|i| r[i..].to_string()))
        .filter(|p| !p.contains("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/dashboard/keys".into());
    Ok(see_other(&back).into_response())
}
