//! Edgecast stream keys of the environment on show: DirPath + key (generated when left empty,
//! shown once), and the account's global key. Stored keys are shown masked.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::{copy_button, csrf, notice, shell};
use super::{see_other, DashResult, Done, Form, Who};
use crate::error::ApiError;
use crate::AppState;
use domain::credential::mask;
use domain::Error;
use domain::{random_base62, SecretString};
use service::dashboard::SignedIn;

async fn page_fn(
    state: &AppState,
    who: &SignedIn,
    message: Option<&str>,
    created: Option<(&str, &SecretString)>,
) -> DashResult<Response> {
    let actor = who.actor();
    let keys = state.svc.list_stream_keys(&actor).await?;
    let global = state.svc.global_key(&actor).await?;
    let body = html! {
        (notice(message))
        @if let Some((what, key)) = created {
            div.panel role="status" {
                p { strong { (what) } " — copy the key now: it is shown in full only this once." }
                div.secret { code #new-key { (key.expose()) } (copy_button("new-key")) }
            }
        }
        p.muted { "An encoder publishes to " code { "rtmp://…/<instance>/<stream>?<key>" } ". A DirPath ending in " code { "*" } " covers every stream that starts with it." }
        div.panel {
            form.row method="post" action="/dashboard/stream-keys" {
                (csrf(who))
                div.field {
                    label for="dir-path" { "DirPath" }
                    input #dir-path type="text" name="dir_path" required placeholder="800001/live*";
                }
                div.field {
                    label for="sk-key" { "Key " span.hint { "(empty: generate one)" } }
                    input #sk-key type="password" name="key" autocomplete="off" placeholder="letters and digits";
                }
                div.field { label.sr { "Add" } div { button type="submit" { "Add stream key" } } }
            }
        }
        div.table-wrap {
            @if keys.is_empty() {
                p.empty { "No stream keys yet." }
            } @else {
                table {
                    thead { tr { th { "Id" } th { "DirPath" } th { "Key" } th {} } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td { code { (k.id) } }
                                td { code { (k.dir_path) } }
                                td { code { (mask(k.key.expose())) } }
                                td.actions {
                                    form method="post" action={ "/dashboard/stream-keys/" (k.id) "/delete" }
                                        data-confirm={ "Delete the stream key for " (k.dir_path) "?" } {
                                        (csrf(who))
                                        button.danger.small type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Global key" }
        div.panel {
            p { "Accepted for every DirPath of this account. "
                @match &global { Some(g) => { "Current: " code { (mask(g.expose())) } }, None => { span.muted { "None set." } } } }
            form.row method="post" action="/dashboard/stream-keys/global" {
                (csrf(who))
                div.field {
                    label for="global-key" { "New global key " span.hint { "(empty: generate one)" } }
                    input #global-key type="password" name="key" autocomplete="off";
                }
                div.field { label.sr { "Set" } div { button.secondary type="submit" { "Set global key" } } }
            }
        }
    };
    Ok(shell(who, "stream-keys", "Stream keys", body))
}

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    page_fn(&state, &who, q.done.as_deref(), None).await
}

fn key_or_generated(form: &Form) -> SecretString {
    match form.text("key") {
        "" => SecretString::new(random_base62(24)),
        k => SecretString::new(k.to_string()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let key = key_or_generated(&form);
    let k = state
        .svc
        .create_stream_key(&who.actor(), form.text("dir_path"), key.clone())
        .await?;
    let what = format!("Stream key {} for {}", k.id, k.dir_path);
    page_fn(&state, &who, None, Some((&what, &key))).await
}

pub async fn global(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let key = key_or_generated(&form);
    state.svc.set_global_key(&who.actor(), key.clone()).await?;
    page_fn(&state, &who, None, Some(("Global key", &key))).await
}

pub async fn delete(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(Error::NotFound("stream key")))?;
    state.svc.delete_stream_key(&who.actor(), id).await?;
    Ok(see_other("/dashboard/stream-keys?done=Deleted"))
}
