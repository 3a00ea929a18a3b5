//! The signed-in user's own page: who they are, and a password change (which signs out every
//! other session).

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;

use super::layout::{csrf, notice, shell};
use super::{see_other, DashResult, Done, Form, Who};
use crate::error::ApiError;
use crate::AppState;
use domain::Error;
use domain::SecretString;

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    let account = Some(state.svc.own_account(&who.actor()).await?);
    let body = html! {
        (notice(q.done.as_deref()))
        div.panel {
            dl.facts {
                dt { "User" } dd { (who.user.username) }
                dt { "Role" } dd { (who.user.role.as_str()) }
                @if let Some(a) = &account {
                    dt { "Account" } dd { (a.name) " (" code { (a.number.as_str()) } ")" }
                }
            }
        }
        h2 { "Change password" }
        div.panel {
            form.stack method="post" action="/dashboard/account/password" {
                (csrf(&who))
                div.row {
                    div.field {
                        label for="pw-current" { "Current password" }
                        input #pw-current type="password" name="current" autocomplete="current-password" required;
                    }
                    div.field {
                        label for="pw-new" { "New password " span.hint { "(12 characters or more)" } }
                        input #pw-new type="password" name="new" autocomplete="new-password" minlength="12" required;
                    }
                    div.field {
                        label for="pw-repeat" { "New password, again" }
                        input #pw-repeat type="password" name="repeat" autocomplete="new-password" minlength="12" required;
                    }
                }
                p.hint { "Every other browser signed in as you is signed out." }
                div { button type="submit" { "Change password" } }
            }
        }
    };
    Ok(shell(&who, "account", "Your account", body))
}

pub async fn password(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let new = form.get("new").unwrap_or_default();
    if new != form.get("repeat").unwrap_or_default() {
        return Err(ApiError::from(Error::Invalid(
            "the two new passwords differ".into(),
        )));
    }
    state
        .svc
        .change_password(
            &who,
            &SecretString::new(form.get("current").unwrap_or_default().to_string()),
            &SecretString::new(new.to_string()),
        )
        .await?;
    Ok(see_other("/dashboard/account?done=Password+changed"))
}
