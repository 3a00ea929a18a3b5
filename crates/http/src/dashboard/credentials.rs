//! Brightcove credentials of the environment on show: the seven types, the private value
//! write-only (a password field, never echoed) and shown masked.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::{csrf, notice, shell, when};
use super::{parse_uuid, see_other, urlencode, DashResult, Done, Form, Who};
use crate::error::ApiError;
use crate::AppState;
use domain::credential::{mask, CredentialType};
use domain::SecretString;
use service::credentials::CredentialInput;

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    let creds = state.svc.list_credentials(&who.actor()).await?;
    let body = html! {
        (notice(q.done.as_deref()))
        p.muted { "Secrets that features refer to by label: RTMP publishing (" code { "user" } "/" code { "pass" } "), notification endpoints (http, oauth), storage and platform accounts." }
        div.panel {
            form.stack method="post" action="/dashboard/credentials" {
                (csrf(&who))
                div.row {
                    div.field {
                        label for="cred-label" { "Label" }
                        input #cred-label type="text" name="label" required maxlength="200" placeholder="hooks";
                    }
                    div.field {
                        label for="cred-type" { "Type" }
                        select #cred-type name="type" {
                            @for t in CredentialType::ALL { option value=(t.as_str()) { (t.as_str()) } }
                        }
                    }
                    div.field {
                        label for="cred-public" { "Public value " span.hint { "(user name, client id, access key…)" } }
                        input #cred-public type="text" name="public" autocomplete="off";
                    }
                    div.field {
                        label for="cred-private" { "Private value " span.hint { "(write-only)" } }
                        input #cred-private type="password" name="private" autocomplete="new-password" required;
                    }
                    div.field {
                        label for="cred-token-url" { "Token URL " span.hint { "(oauth only)" } }
                        input #cred-token-url type="url" name="token_url" placeholder="https://auth.example.com/token";
                    }
                }
                label.check { input type="checkbox" name="default"; span { "Default for its type" } }
                div { button type="submit" { "Add credential" } }
            }
        }
        div.table-wrap {
            @if creds.is_empty() {
                p.empty { "No credentials yet." }
            } @else {
                table {
                    thead { tr { th { "Label" } th { "Type" } th { "Public" } th { "Private" } th.hide-narrow { "Updated" } th {} } }
                    tbody {
                        @for c in &creds {
                            tr {
                                td { (c.label) @if c.default_for_type { " " span.badge { "default" } } }
                                td { (c.kind.as_str()) }
                                td { code { (c.public) } }
                                td { code { (mask(c.private.expose())) } }
                                td.hide-narrow { (when(Some(c.updated_at))) }
                                td.actions {
                                    form method="post" action={ "/dashboard/credentials/" (c.id) "/delete" }
                                        data-confirm={ "Delete the credential “" (c.label) "”?" } {
                                        (csrf(&who))
                                        button.danger.small type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(&who, "credentials", "Credentials", body))
}

pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let kind = CredentialType::parse(form.text("type")).map_err(ApiError::from)?;
    let c = state
        .svc
        .create_credential(
            &who.actor(),
            CredentialInput {
                user_id: None,
                label: form.text("label").to_string(),
                kind,
                public: form.text("public").to_string(),
                private: Some(SecretString::new(
                    form.get("private").unwrap_or_default().to_string(),
                )),
                default_for_type: form.checked("default"),
                token_url: Some(form.text("token_url").to_string()).filter(|u| !u.is_empty()),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "/dashboard/credentials?done=Added+{}",
        urlencode(&c.label)
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    state
        .svc
        .delete_credential(&who.actor(), parse_uuid(&id, "credential")?)
        .await?;
    Ok(see_other("/dashboard/credentials?done=Deleted"))
}
