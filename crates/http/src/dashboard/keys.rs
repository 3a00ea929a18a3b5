//! API keys: sandbox and production apart, the "Create API key" dialog of Livepeer's docs (name,
//! "Allow CORS access" with its origins, "Full API access" with its warning), the secret shown
//! once with a copy button, revoke with confirmation; each key's permissions, rate limit and
//! credits, edited in place, and reroll with a grace period to choose.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};

use super::layout::{copy_button, csrf, env_label, notice, shell, when};
use super::{parse_uuid, see_other, urlencode, DashResult, Done, Form, Who};
use crate::error::ApiError;
use crate::AppState;
use domain::{ApiKey, Credits, Environment, RateLimit, VerifyCode};
use service::dashboard::SignedIn;
use service::{CreatedKey, KeyChange, NewKey};

pub async fn page_with(
    state: &AppState,
    who: &SignedIn,
    created: Option<&CreatedKey>,
    message: Option<&str>,
) -> DashResult<Response> {
    let keys = state.svc.list_keys(&who.actor(), true).await?;
    let now = state.svc.now_ms();
    let body = html! {
        (notice(message))
        @if let Some(c) = created {
            div.panel role="status" {
                p { strong { "Your new API key “" (c.key.name) "”" } " — copy it now: it is shown only this once." }
                div.secret {
                    code #new-secret { (c.secret.expose()) }
                    (copy_button("new-secret"))
                }
            }
        }
        div.toolbar {
            p.muted { "Keys authenticate calls to every API streamgate speaks. Sandbox and production keys never see each other's objects." }
            button type="button" data-open="create-key" { "Create API key" }
        }
        @for env in [Environment::Production, Environment::Sandbox] {
            h2 { (env_label(env)) " keys" }
            (key_table(who, keys.iter().filter(|k| k.environment == env), now))
        }
        (create_dialog(who))
    };
    Ok(shell(who, "keys", "API keys", body))
}

fn key_table<'a>(who: &SignedIn, keys: impl Iterator<Item = &'a ApiKey>, now: i64) -> Markup {
    let keys: Vec<&ApiKey> = keys.collect();
    html! {
        div.table-wrap {
            @if keys.is_empty() {
                p.empty { "No keys yet." }
            } @else {
                table {
                    thead { tr {
                        th { "Name" } th { "Key" } th { "CORS origins" } th { "Full access" }
                        th { "Permissions" } th { "Limits" }
                        th.hide-narrow { "Created" } th { "Last used" } th { "Status" } th {}
                    } }
                    tbody {
                        @for k in keys {
                            @let status = k.status(now);
                            tr data-key=(k.id) {
                                td { (k.name) }
                                td { code.nowrap { (k.prefix) "…" } }
                                td {
                                    @if k.cors.allowed_origins.is_empty() {
                                        span.muted { "Backend only" }
                                    } @else {
                                        span.origin-list { @for o in &k.cors.allowed_origins { code { (o) } } }
                                    }
                                }
                                td { @if k.cors.full_access { "Yes" } @else { span.muted { "No" } } }
                                td.permissions {
                                    @match k.policy.permissions {
                                        None if k.cors.is_restricted() => { "Browser allowlist" br; span.hint { "preset" } }
                                        None => { "Everything" br; span.hint { "preset" } }
                                        Some(p) => { @for s in p.to_strings() { code { (s) } } }
                                    }
                                }
                                td.limits {
                                    @match k.policy.ratelimit {
                                        Some(r) => { (r.limit) " / " (r.duration_ms / 1000) " s" }
                                        None => { span.muted { "default rate" } }
                                    }
                                    br;
                                    @match k.policy.credits {
                                        Some(c) => {
                                            (c.remaining) " credits"
                                            @if let Some(r) = c.refill { span.hint { " (" (r.amount) " " (r.interval.as_str()) ")" } }
                                        }
                                        None => { span.muted { "unlimited" } }
                                    }
                                }
                                td.hide-narrow { (when(Some(k.created_at))) }
                                td { (when(k.last_used_at)) }
                                td {
                                    (status_badge(status))
                                    @if let (Some(at), VerifyCode::Valid) = (k.expires_at, status) {
                                        br; span.hint { "expires " (when(Some(at))) }
                                    }
                                }
                                td.actions {
                                    @if status == VerifyCode::Valid {
                                        (edit_form(who, k))
                                        (reroll_form(who, k))
                                        form method="post" action={ "/dashboard/keys/" (k.id) "/revoke" }
                                            data-confirm={ "Revoke the key “" (k.name) "”? Every call made with it will be refused at once." } {
                                            (csrf(who))
                                            button.danger.small type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Edit a key's name, permissions, rate limit and credits in place.
fn edit_form(who: &SignedIn, k: &ApiKey) -> Markup {
    let perms = k
        .policy
        .permissions
        .map(|p| p.to_strings().join(" "))
        .unwrap_or_default();
    html! {
        details.inline {
            summary.small { "Edit" }
            form.stack method="post" action={ "/dashboard/keys/" (k.id) "/edit" } {
                (csrf(who))
                div.field {
                    label for={ "name-" (k.id) } { "Name" }
                    input id={ "name-" (k.id) } type="text" name="name" value=(k.name) required maxlength="200";
                }
                div.field {
                    label for={ "perms-" (k.id) } { "Permissions" span.hint { " — resource:action, resource:* or *, separated by spaces; empty: the preset of its CORS settings" } }
                    input id={ "perms-" (k.id) } type="text" name="permissions" value=(perms) placeholder="streams:read streams:list";
                }
                div.row {
                    div.field {
                        label for={ "limit-" (k.id) } { "Rate limit" span.hint { " (empty: default)" } }
                        input id={ "limit-" (k.id) } type="number" min="1" name="limit" value=[k.policy.ratelimit.map(|r| r.limit)];
                    }
                    div.field {
                        label for={ "per-" (k.id) } { "per seconds" }
                        input id={ "per-" (k.id) } type="number" min="1" name="per" value=[k.policy.ratelimit.map(|r| r.duration_ms / 1000)];
                    }
                    div.field {
                        label for={ "credits-" (k.id) } { "Credits" span.hint { " (empty: unlimited)" } }
                        input id={ "credits-" (k.id) } type="number" min="0" name="credits" value=[k.policy.credits.map(|c| c.remaining)];
                    }
                }
                button.small type="submit" { "Save" }
            }
        }
    }
}

/// A new secret with the same settings; the old one keeps working for the chosen grace period.
fn reroll_form(who: &SignedIn, k: &ApiKey) -> Markup {
    html! {
        details.inline {
            summary.small { "Reroll" }
            form.stack method="post" action={ "/dashboard/keys/" (k.id) "/reroll" } {
                (csrf(who))
                div.field {
                    label for={ "grace-" (k.id) } { "The old key keeps working" }
                    select id={ "grace-" (k.id) } name="grace" {
                        option value="0" { "Not at all (revoke it now)" }
                        option value="60" { "For 1 minute" }
                        option value="3600" selected { "For 1 hour" }
                        option value="86400" { "For 1 day" }
                        option value="604800" { "For 7 days" }
                    }
                }
                button.small type="submit" { "Reroll" }
            }
        }
    }
}

fn status_badge(s: VerifyCode) -> Markup {
    match s {
        VerifyCode::Valid => html! { span.badge.ok { "Active" } },
        VerifyCode::Revoked => html! { span.badge.bad { "Revoked" } },
        VerifyCode::Expired => html! { span.badge.bad { "Expired" } },
        _ => html! { span.badge { "—" } },
    }
}

fn create_dialog(who: &SignedIn) -> Markup {
    html! {
        dialog #create-key aria-labelledby="create-key-title" {
            form.stack method="post" action="/dashboard/keys" {
                h2 #create-key-title { "Create API key" }
                (csrf(who))
                div.field {
                    label for="key-name" { "Name" }
                    input #key-name type="text" name="name" required maxlength="200" placeholder="My web app";
                }
                div.field {
                    label for="key-env" { "Environment" }
                    select #key-env name="environment" {
                        option value="production" selected[who.session.environment == Environment::Production] { "Production" }
                        option value="sandbox" selected[who.session.environment == Environment::Sandbox] { "Sandbox" }
                    }
                }
                div.field {
                    label for="key-expiry" { "Expires" }
                    select #key-expiry name="expires" {
                        option value="" selected { "Never" }
                        option value="30d" { "In 30 days" }
                        option value="90d" { "In 90 days" }
                        option value="365d" { "In a year" }
                    }
                }
                label.check {
                    input #allow-cors type="checkbox" name="cors" data-reveals="cors-settings";
                    span { "Allow CORS access" br; span.hint { "By default, API keys can only be used from a backend server. Tick this to use the key from web pages of the origins below." } }
                }
                div #cors-settings.stack {
                    div.field {
                        label for="origin-0" { "Allowed origins" span.hint { " — scheme, host and port, e.g. " code { "https://my.app.io" } " or " code { "http://localhost:8080" } "; " code { "*" } " allows any origin" } }
                        div #origins.origins {
                            input #origin-0 type="text" name="origin" placeholder="https://my.app.io";
                        }
                        div { button.secondary.small type="button" data-add-origin="origins" { "Add origin" } }
                    }
                    label.check {
                        input #full-access type="checkbox" name="full_access";
                        span { "Full API access" }
                    }
                    p.warning {
                        "CORS-enabled keys may only call a few endpoints by default. An API key with Full API access "
                        "will be able to access and manage every information in your account — list and delete all "
                        "your streams and everything stored in it. Anyone who reads the key from your web page can do the same. "
                        "Prefer a backend that keeps the key private."
                    }
                }
                div.buttons {
                    button.secondary type="button" data-close { "Cancel" }
                    button type="submit" { "Create" }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    page_with(&state, &who, None, q.done.as_deref()).await
}

pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let environment = Environment::parse(form.text("environment")).map_err(ApiError::from)?;
    let cors = form.checked("cors");
    let allowed_origins: Vec<String> = if cors {
        form.all("origin").map(str::to_string).collect()
    } else {
        vec![]
    };
    if cors && allowed_origins.is_empty() {
        return Err(ApiError::from(domain::Error::Invalid(
            "Allow CORS access needs at least one origin (or * for any origin).".into(),
        )));
    }
    let expires_in_ms = match form.text("expires") {
        "" => None,
        e => Some(domain::clock::parse_duration_ms(e).ok_or_else(|| {
            ApiError::from(domain::Error::Invalid(format!(
                "expiry must look like 30d, not {e:?}"
            )))
        })?),
    };
    let created = state
        .svc
        .create_key(
            &who.actor(),
            NewKey {
                name: form.text("name").to_string(),
                environment,
                allowed_origins,
                full_access: cors && form.checked("full_access"),
                expires_in_ms,
                policy: Default::default(),
            },
        )
        .await?;
    page_with(&state, &who, Some(&created), None).await
}

pub async fn edit(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "key")?;
    let number = |name: &str| -> DashResult<Option<i64>> {
        match form.text(name).trim() {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(|_| {
                ApiError::from(domain::Error::Invalid(format!(
                    "{name} must be a number, not {v:?}"
                )))
            }),
        }
    };
    let permissions: Vec<String> = form
        .text("permissions")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let ratelimit = match (number("limit")?, number("per")?) {
        (Some(l), Some(p)) => Some(RateLimit::new(l, p)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::from(domain::Error::Invalid(
                "a rate limit needs both a limit and its seconds".into(),
            )))
        }
    };
    let change = KeyChange {
        name: Some(form.text("name").to_string()),
        permissions: Some((!permissions.is_empty()).then_some(permissions)),
        ratelimit: Some(ratelimit),
        credits: Some(number("credits")?.map(|remaining| Credits {
            remaining,
            refill: None,
        })),
        ..Default::default()
    };
    let key = state.svc.update_key(&who.actor(), id, change).await?;
    Ok(see_other(&format!(
        "/dashboard/keys?done=Saved+{}",
        urlencode(&key.name)
    )))
}

pub async fn reroll(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "key")?;
    let grace: i64 = form.text("grace").parse().unwrap_or(0);
    let created = state
        .svc
        .reroll_key(&who.actor(), id, grace.saturating_mul(1000))
        .await?;
    page_with(&state, &who, Some(&created), None).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "key")?;
    let key = state.svc.revoke_key(&who.actor(), id).await?;
    Ok(see_other(&format!(
        "/dashboard/keys?done=Revoked+{}",
        urlencode(&key.name)
    )))
}
