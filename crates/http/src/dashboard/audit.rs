//! The account's audit log, newest first.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::layout::{shell, when};
use super::{DashResult, Who};
use crate::AppState;

/// Green for done, red for refused, grey for what is neither (a publish ending, say).
fn outcome_badge(outcome: &str) -> maud::Markup {
    match outcome {
        "ok" | "allowed" => html! { span.badge.ok { (outcome) } },
        "publish_done" | "unpublish" | "closed" => html! { span.badge { (outcome) } },
        _ => html! { span.badge.bad { (outcome) } },
    }
}

pub async fn page(State(state): State<AppState>, Who(who): Who) -> DashResult<Response> {
    let events = state.svc.query_audit(&who.actor(), None, 0, 200).await?;
    let body = html! {
        p.muted { "The latest 200 changes and refusals in this account, newest first. Secrets never appear here." }
        div.table-wrap {
            @if events.is_empty() {
                p.empty { "Nothing yet." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Object" } th { "Outcome" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (when(Some(e.at))) }
                                td { code { (e.actor) } }
                                td { (e.action) }
                                td { code { (e.object) } }
                                td { (outcome_badge(&e.outcome)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(&who, "audit", "Audit log", body))
}
