//! Users (admins only): everyone who can sign in, and a form to add one to any account.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::{csrf, notice, shell, when};
use super::{parse_uuid, see_other, urlencode, DashResult, Done, Form, Who};
use crate::error::ApiError;
use crate::AppState;
use domain::SecretString;
use domain::{Error, Role};

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    let users = state.svc.list_users(&who).await?;
    let accounts = state.svc.list_accounts(&who.actor()).await?;
    let account_name = |id: uuid::Uuid| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!("{} ({})", a.name, a.number.as_str()))
            .unwrap_or_default()
    };
    let body = html! {
        (notice(q.done.as_deref()))
        div.panel {
            form.stack method="post" action="/dashboard/users" {
                (csrf(&who))
                div.row {
                    div.field {
                        label for="u-name" { "User name" }
                        input #u-name type="text" name="username" required maxlength="200" autocomplete="off";
                    }
                    div.field {
                        label for="u-pass" { "Password " span.hint { "(12 characters or more)" } }
                        input #u-pass type="password" name="password" required minlength="12" autocomplete="new-password";
                    }
                    div.field {
                        label for="u-account" { "Account" }
                        select #u-account name="account" {
                            @for a in &accounts {
                                option value=(a.id) selected[a.id == who.user.account_id] { (a.name) " (" (a.number.as_str()) ")" }
                            }
                        }
                    }
                    div.field {
                        label for="u-role" { "Role" }
                        select #u-role name="role" {
                            option value="member" { "Member — manages its account's keys, streams and credentials" }
                            option value="admin" { "Admin — also manages users" }
                        }
                    }
                }
                div { button type="submit" { "Add user" } }
            }
        }
        div.table-wrap {
            table {
                thead { tr { th { "User" } th { "Account" } th { "Role" } th.hide-narrow { "Created" } th {} } }
                tbody {
                    @for u in &users {
                        tr {
                            td { (u.username) }
                            td { (account_name(u.account_id)) }
                            td { (u.role.as_str()) }
                            td.hide-narrow { (when(Some(u.created_at))) }
                            td.actions {
                                @if u.id != who.user.id {
                                    form method="post" action={ "/dashboard/users/" (u.id) "/delete" }
                                        data-confirm={ "Remove the user “" (u.username) "”? They are signed out at once." } {
                                        (csrf(&who))
                                        button.danger.small type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(&who, "users", "Users", body))
}

pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let role = Role::parse(form.text("role"))
        .ok_or_else(|| ApiError::from(Error::Invalid("role must be admin or member".into())))?;
    let u = state
        .svc
        .admin_create_user(
            &who,
            form.text("account"),
            form.text("username"),
            &SecretString::new(form.get("password").unwrap_or_default().to_string()),
            role,
        )
        .await?;
    Ok(see_other(&format!(
        "/dashboard/users?done=Added+{}",
        urlencode(&u.username)
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let u = state
        .svc
        .admin_delete_user(&who, parse_uuid(&id, "user")?)
        .await?;
    Ok(see_other(&format!(
        "/dashboard/users?done=Removed+{}",
        urlencode(&u.username)
    )))
}
