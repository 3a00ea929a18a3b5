//! Brightcove Live jobs of the environment on show: their state as the media server's hooks
//! moved it, where encoders publish (never the stream name: it is the encoder's secret, shown by
//! `GET /v1/jobs/{id}` to an API key), the credentials they name, and a way to cancel one.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::layout::{csrf, notice, shell, when};
use super::{parse_uuid, see_other, DashResult, Done, Form, Who};
use crate::AppState;
use domain::live_job::JobState;

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    let jobs = state.svc.list_live_jobs(&who.actor(), None, 0, 200).await?;
    let app = &state.svc.settings.jobs.app;
    let body = html! {
        (notice(q.done.as_deref()))
        p.muted {
            "Brightcove Live jobs: encoders publish to the " code { (app) } " application under the job's stream name "
            "(with the job's rtmp credential as " code { "?user=…&pass=…" } " when it names one). "
            "Create them with " code { "POST /v1/jobs" } "; clips come from " code { "POST /v1/vods" } "."
        }
        div.table-wrap {
            @if jobs.is_empty() {
                p.empty { "No live jobs yet." }
            } @else {
                table {
                    thead { tr { th { "Job" } th { "State" } th.hide-narrow { "Region" } th { "RTMP credential" } th.hide-narrow { "Notifications" } th.hide-narrow { "Updated" } th {} } }
                    tbody {
                        @for j in &jobs {
                            tr {
                                td { code { (j.id.simple()) } }
                                td { span.badge { (j.state.as_str()) } }
                                td.hide-narrow { (j.region) }
                                td { @match &j.rtmp_credential { Some(l) => (l), None => span.muted { "none" } } }
                                td.hide-narrow { (j.notifications.len()) }
                                td.hide-narrow { (when(Some(j.updated_at))) }
                                td.actions {
                                    @if !j.state.is_over() {
                                        form method="post" action={ "/dashboard/jobs/" (j.id.simple()) "/cancel" }
                                            data-confirm={ "Cancel the job " (j.id.simple()) "?" } {
                                            (csrf(&who))
                                            button.danger.small type="submit" { "Cancel" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(&who, "jobs", "Live jobs", body))
}

pub async fn cancel(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    state
        .svc
        .end_live_job(
            &who.actor(),
            parse_uuid(&id, "live job")?,
            JobState::Cancelled,
        )
        .await?;
    Ok(see_other("/dashboard/jobs?done=Cancelled"))
}
