//! The page shell: header with navigation, environment switch and sign-out; the CSS and JS.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use domain::clock::rfc3339;
use domain::{Environment, Role};
use service::dashboard::SignedIn;

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

pub async fn css() -> Response {
    static_asset("text/css; charset=utf-8", CSS)
}

pub async fn js() -> Response {
    static_asset("text/javascript; charset=utf-8", JS)
}

fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · streamgate" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href="/dashboard/static/app.css";
            script src="/dashboard/static/app.js" defer {}
        }
    }
}

const NAV: [(&str, &str); 8] = [
    ("keys", "API keys"),
    ("streams", "Streams"),
    ("signing-keys", "Signing keys"),
    ("stream-keys", "Stream keys"),
    ("credentials", "Credentials"),
    ("jobs", "Live jobs"),
    ("usage", "Usage"),
    ("audit", "Audit"),
];

/// A full page for a signed-in user. `active` names the navigation entry.
pub fn shell(who: &SignedIn, active: &str, title: &str, body: Markup) -> Response {
    let env = who.session.environment;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/dashboard/keys" { "streamgate" }
                    nav {
                        @for (slug, label) in NAV {
                            a href={ "/dashboard/" (slug) } class=[(slug == active).then_some("active")] { (label) }
                        }
                        @if who.user.role == Role::Admin {
                            a href="/dashboard/users" class=[("users" == active).then_some("active")] { "Users" }
                        }
                    }
                    div.session {
                        form.env method="post" action="/dashboard/environment" {
                            input type="hidden" name="csrf" value=(who.session.csrf);
                            label.sr for="env-switch" { "Environment" }
                            select #env-switch name="environment" data-autosubmit {
                                @for e in [Environment::Production, Environment::Sandbox] {
                                    option value=(e.as_str()) selected[e == env] { (env_label(e)) }
                                }
                            }
                            noscript { button type="submit" { "Switch" } }
                        }
                        a.user href="/dashboard/account" title={ "Signed in as " (who.user.username) } { (who.user.username) }
                        form method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(who.session.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A bare page (sign-in, errors).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main.narrow {
                    p.brand { "streamgate" }
                    (body)
                }
            }
        }
    };
    html_response(status, markup)
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    bare(
        status,
        status.canonical_reason().unwrap_or("Error"),
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (message) }
            p { a href="/dashboard/keys" { "Back to the dashboard" } }
        },
    )
}

pub fn env_label(e: Environment) -> &'static str {
    match e {
        Environment::Production => "Production",
        Environment::Sandbox => "Sandbox",
    }
}

/// A time for people: `2026-11-25 10:04 UTC`, or a dash.
pub fn when(ms: Option<i64>) -> Markup {
    match ms {
        Some(ms) => {
            let s = rfc3339(ms);
            // A time out of RFC 3339's range renders as "" (never sliced past its end).
            let short = match (s.get(..10), s.get(11..16)) {
                (Some(day), Some(minute)) => format!("{day} {minute} UTC"),
                _ => format!("{ms} ms"),
            };
            html! { time datetime=(s) { (short) } }
        }
        None => html! { span.muted { "—" } },
    }
}

/// Hidden CSRF field for a form.
pub fn csrf(who: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.session.csrf); }
}

/// A one-line notice at the top of a page (`?done=…`).
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(t) = text {
            p.notice role="status" { (t) }
        }
    }
}

/// A button that copies `text` to the clipboard.
pub fn copy_button(target_id: &str) -> Markup {
    html! { button.secondary type="button" data-copy=(target_id) { "Copy" } }
}
