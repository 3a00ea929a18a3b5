//! Playback signing keys (Livepeer's access-control keys) of the environment on show: made here,
//! the private half shown once on the page that made it (streamgate keeps only the public
//! half), then listed by name, id and a fingerprint of the public half; disabled, enabled and
//! deleted with a button each.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};

use super::layout::{copy_button, csrf, env_label, notice, shell, when};
use super::{parse_uuid, see_other, urlencode, DashResult, Done, Form, Who};
use crate::AppState;
use domain::playback::MAX_KEY_NAME;
use domain::PlaybackKey;
use service::dashboard::SignedIn;
use service::playback_keys::{fingerprint, CreatedPlaybackKey};

async fn page_fn(
    state: &AppState,
    who: &SignedIn,
    message: Option<&str>,
    created: Option<&CreatedPlaybackKey>,
) -> DashResult<Response> {
    let keys = state.svc.list_playback_keys(&who.actor()).await?;
    let body = html! {
        (notice(message))
        @if let Some(c) = created {
            (created_panel(c))
        }
        p.muted { "Signing keys sign the JWTs viewers present to watch streams whose playback policy is "
            code { "jwt" } ". Sign with the private key; the JWT's " code { "pub" } " claim names the public key." }
        div.panel {
            form.row method="post" action="/dashboard/signing-keys" {
                (csrf(who))
                div.field {
                    label for="signing-key-name" { "Name " span.hint { "(optional)" } }
                    input #signing-key-name type="text" name="name" maxlength=(MAX_KEY_NAME) placeholder="Signing Key 1";
                }
                div.field { label.sr { "Create" } div { button type="submit" { "Create signing key" } } }
            }
        }
        h2 { (env_label(who.session.environment)) " signing keys" }
        (key_table(who, &keys))
    };
    Ok(shell(who, "signing-keys", "Signing keys", body))
}

/// The key just made, with its private half: the only time it is ever shown.
fn created_panel(c: &CreatedPlaybackKey) -> Markup {
    html! {
        div.panel role="status" {
            p { strong { "Your new signing key “" (c.key.name) "”" }
                " — copy the private key now: streamgate does not store it, and it cannot be shown again." }
            div.field {
                label for="new-private-key" { "Private key " span.hint { "(base64 of a PKCS#8 PEM)" } }
                div.secret { code #new-private-key { (c.private_key.expose()) } (copy_button("new-private-key")) }
            }
            div.field {
                label for="new-public-key" { "Public key" }
                div.secret { code #new-public-key { (c.key.public_key) } (copy_button("new-public-key")) }
            }
        }
    }
}

fn key_table(who: &SignedIn, keys: &[PlaybackKey]) -> Markup {
    html! {
        div.table-wrap {
            @if keys.is_empty() {
                p.empty { "No signing keys yet." }
            } @else {
                table {
                    thead { tr {
                        th { "Name" } th { "Id" } th { "Fingerprint" } th.hide-narrow { "Created" }
                        th { "Status" } th {}
                    } }
                    tbody {
                        @for k in keys {
                            tr data-signing-key=(k.id) {
                                td { (k.name) }
                                td { code { (k.id) } }
                                td { code title="SHA-256 of the public key" { (fingerprint(&k.public_key)) } }
                                td.hide-narrow { (when(Some(k.created_at))) }
                                td {
                                    @if k.disabled {
                                        span.badge.bad { "Disabled" }
                                    } @else {
                                        span.badge.ok { "Enabled" }
                                    }
                                }
                                td.actions { (actions(who, k)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn actions(who: &SignedIn, k: &PlaybackKey) -> Markup {
    let (verb, label) = if k.disabled {
        ("enable", "Enable")
    } else {
        ("disable", "Disable")
    };
    html! {
        form method="post" action={ "/dashboard/signing-keys/" (k.id) "/" (verb) } {
            (csrf(who))
            button.secondary.small type="submit" { (label) }
        }
        " "
        form method="post" action={ "/dashboard/signing-keys/" (k.id) "/delete" }
            data-confirm={ "Delete the signing key “" (k.name) "”? JWTs it signed stop working at once." } {
            (csrf(who))
            button.danger.small type="submit" { "Delete" }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    page_fn(&state, &who, q.done.as_deref(), None).await
}

/// Makes a key and answers with the page itself (not a redirect): the private key is in this
/// one response and nowhere else.
pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let name = Some(form.text("name")).filter(|n| !n.is_empty());
    let created = state.svc.create_playback_key(&who.actor(), name).await?;
    page_fn(&state, &who, None, Some(&created)).await
}

async fn set_disabled(
    state: &AppState,
    who: &SignedIn,
    id: &str,
    form: &Form,
    disabled: bool,
) -> DashResult<Response> {
    form.check_csrf(who)?;
    let id = parse_uuid(id, "signing key")?;
    let k = state
        .svc
        .update_playback_key(&who.actor(), id, None, Some(disabled))
        .await?;
    let done = if disabled { "Disabled" } else { "Enabled" };
    Ok(see_other(&format!(
        "/dashboard/signing-keys?done={done}+{}",
        urlencode(&k.name)
    )))
}

pub async fn disable(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    set_disabled(&state, &who, &id, &form, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    set_disabled(&state, &who, &id, &form, false).await
}

pub async fn delete(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "signing key")?;
    state.svc.delete_playback_key(&who.actor(), id).await?;
    Ok(see_other("/dashboard/signing-keys?done=Deleted"))
}
