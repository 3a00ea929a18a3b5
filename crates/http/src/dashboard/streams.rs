//! Streams of the environment on show: create, list, live status, suspend, delete; a stream's
//! page with its nginx-rtmp publish URL, its key (revealed on demand) and recent sessions.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{Map, Value};

use super::layout::{copy_button, csrf, env_label, notice, shell, when};
use super::{parse_uuid, see_other, urlencode, DashResult, Done, Form, Who};
use crate::playback_url::{hls_url, playback_base};
use crate::AppState;
use domain::playback::{is_private, PlaybackPolicy};
use domain::Stream;
use service::dashboard::SignedIn;
use service::playback::private_token;
use service::streams::{NewStream, StreamPatch};

fn state_badge(s: &Stream) -> Markup {
    if s.suspended {
        html! { span.badge.bad { "Suspended" } }
    } else if s.is_active {
        html! { span.badge.live { "● Live" } }
    } else {
        html! { span.badge { "Idle" } }
    }
}

pub async fn page_fn(
    state: &AppState,
    who: &SignedIn,
    message: Option<&str>,
) -> DashResult<Response> {
    let streams = state.svc.list_streams(&who.actor(), None, 200).await?.items;
    let recent = state.svc.recent_sessions(&who.actor(), 0, 10).await?;
    let name_of = |id: uuid::Uuid| {
        streams
            .iter()
            .find(|s| s.id == id)
            .map_or("(deleted stream)", |s| s.name.as_str())
    };
    let body = html! {
        (notice(message))
        div.panel {
            form.row method="post" action="/dashboard/streams" {
                (csrf(who))
                div.field {
                    label for="stream-name" { "New stream" }
                    input #stream-name type="text" name="name" required maxlength="200" placeholder="Stream name";
                }
                div.field { label.sr { "Create" } div { button type="submit" { "Create stream" } } }
            }
        }
        h2 { (env_label(who.session.environment)) " streams" }
        div.table-wrap {
            @if streams.is_empty() {
                p.empty { "No streams yet." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Status" } th.hide-narrow { "Playback id" } th.hide-narrow { "Created" } th { "Last live" } th {} } }
                    tbody {
                        @for s in &streams {
                            tr {
                                td { a href={ "/dashboard/streams/" (s.id) } { (s.name) } }
                                td { (state_badge(s)) }
                                td.hide-narrow { code { (s.playback_id) } }
                                td.hide-narrow { (when(Some(s.created_at))) }
                                td { (when(s.last_seen_at)) }
                                td.actions { a.button.small href={ "/dashboard/streams/" (s.id) } { "Open" } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Recent sessions" }
        div.table-wrap {
            @if recent.is_empty() {
                p.empty { "No stream has been published to yet." }
            } @else {
                table {
                    thead { tr { th { "Stream" } th { "Started" } th { "Ended" } th.hide-narrow { "Ingest" } th { "Client" } } }
                    tbody {
                        @for x in &recent {
                            tr {
                                td { a href={ "/dashboard/streams/" (x.stream_id) } { (name_of(x.stream_id)) } }
                                td { (when(Some(x.started_at))) }
                                td { @if x.ended_at.is_some() { (when(x.ended_at)) } @else { span.badge.live { "● Live" } } }
                                td.hide-narrow { (x.ingest) }
                                td { (x.client_addr.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(who, "streams", "Streams", body))
}

pub async fn page(
    State(state): State<AppState>,
    Who(who): Who,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    page_fn(&state, &who, q.done.as_deref()).await
}

pub async fn create(
    State(state): State<AppState>,
    Who(who): Who,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let s = state
        .svc
        .create_stream(
            &who.actor(),
            NewStream {
                name: form.text("name").to_string(),
                record: false,
                restreams: vec![],
                settings: Map::new(),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "/dashboard/streams/{}?done=Created",
        s.id
    )))
}

/// Where encoders publish through nginx-rtmp: the `rtmp_url` setting, else port 1935 of the host
/// the dashboard was reached at, application `live`.
fn rtmp_base(state: &AppState, headers: &HeaderMap) -> String {
    match &state.settings.rtmp_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "{}/live",
            crate::playback_url::rtmp_server(&state.settings, headers)
        ),
    }
}

/// The stream's playback policy, whether it is private, and where viewers fetch it. The URL
/// carries the playback id (and a private stream's token), never the stream key.
fn playback_facts(state: &AppState, headers: &HeaderMap, s: &Stream) -> Markup {
    let kind = s
        .settings
        .get("playbackPolicy")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("public");
    let origins = PlaybackPolicy::of_settings(&s.settings).allowed_origins;
    let private = is_private(&s.settings);
    let mut url = hls_url(&playback_base(&state.settings, headers), &s.playback_id);
    if private {
        url = format!("{url}?token={}", private_token(s));
    }
    html! {
        dt { "Playback policy" } dd {
            code { (kind) }
            @if !origins.is_empty() {
                " " span.hint { "allowed origins:" }
                span.origin-list { @for o in &origins { code { (o) } } }
            }
        }
        dt { "Private" } dd {
            @if private {
                "Yes " span.hint { "(viewers need the token in the playback URL)" }
            } @else {
                span.muted { "No" }
            }
        }
        dt { "Playback URL" } dd {
            code #playback-url { (url) }
            " " (copy_button("playback-url"))
        }
    }
}

async fn detail_fn(
    state: &AppState,
    who: &SignedIn,
    headers: &HeaderMap,
    id: &str,
    reveal: bool,
    message: Option<&str>,
) -> DashResult<Response> {
    let id = parse_uuid(id, "stream")?;
    let actor = who.actor();
    let s = state.svc.get_stream(&actor, id).await?;
    let sessions = state.svc.list_sessions(&actor, id, None).await?;
    let base = rtmp_base(state, headers);
    let body = html! {
        (notice(message))
        div.panel {
            dl.facts {
                dt { "Status" } dd { (state_badge(&s)) }
                dt { "Stream id" } dd { code { (s.id) } }
                dt { "Playback id" } dd { code { (s.playback_id) } }
                dt { "Environment" } dd { (env_label(s.environment)) }
                dt { "Created" } dd { (when(Some(s.created_at))) }
                (playback_facts(state, headers, &s))
                dt { "Publish URL" } dd {
                    @if reveal {
                        div.secret {
                            code #publish-url { (base) "/" (s.stream_key.expose()) }
                            (copy_button("publish-url"))
                        }
                    } @else {
                        code { (base) "/" span.muted { "<stream key>" } }
                    }
                }
                dt { "Stream key" } dd {
                    @if reveal {
                        div.secret {
                            code #stream-key { (s.stream_key.expose()) }
                            (copy_button("stream-key"))
                        }
                    } @else {
                        form method="post" action={ "/dashboard/streams/" (s.id) "/reveal" } {
                            (csrf(who))
                            code.muted { "••••-••••-••••-••••" } " "
                            button.secondary.small type="submit" { "Reveal key" }
                        }
                    }
                }
            }
        }
        div.toolbar {
            div {}
            div.buttons {
                form method="post" action={ "/dashboard/streams/" (s.id) "/suspend" } {
                    (csrf(who))
                    @if s.suspended {
                        button.secondary type="submit" { "Resume" }
                    } @else {
                        button.secondary type="submit" { "Suspend" }
                    }
                }
                form method="post" action={ "/dashboard/streams/" (s.id) "/delete" }
                    data-confirm={ "Delete the stream “" (s.name) "”? Its key stops working at once." } {
                    (csrf(who))
                    button.danger type="submit" { "Delete" }
                }
            }
        }
        h2 { "Recent sessions" }
        div.table-wrap {
            @if sessions.is_empty() {
                p.empty { "Nothing has been published to this stream yet." }
            } @else {
                table {
                    thead { tr { th { "Started" } th { "Ended" } th { "Ingest" } th { "Client" } } }
                    tbody {
                        @for x in sessions.iter().take(20) {
                            tr {
                                td { (when(Some(x.started_at))) }
                                td { @if x.ended_at.is_some() { (when(x.ended_at)) } @else { span.badge.live { "● Live" } } }
                                td { (x.ingest) }
                                td { (x.client_addr.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/dashboard/streams" { "← All streams" } }
    };
    if reveal {
        state
            .svc
            .audit_by(&actor, "stream.key_reveal", format!("stream:{}", s.id))
            .await;
    }
    Ok(shell(who, "streams", &s.name, body))
}

pub async fn detail(
    State(state): State<AppState>,
    Who(who): Who,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> DashResult<Response> {
    detail_fn(&state, &who, &headers, &id, false, q.done.as_deref()).await
}

pub async fn reveal(
    State(state): State<AppState>,
    Who(who): Who,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    detail_fn(&state, &who, &headers, &id, true, None).await
}

pub async fn suspend(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "stream")?;
    let actor = who.actor();
    let s = state.svc.get_stream(&actor, id).await?;
    let s = state
        .svc
        .update_stream(
            &actor,
            id,
            StreamPatch {
                suspended: Some(!s.suspended),
                ..StreamPatch::default()
            },
        )
        .await?;
    let done = if s.suspended { "Suspended" } else { "Resumed" };
    Ok(see_other(&format!("/dashboard/streams/{id}?done={done}")))
}

pub async fn delete(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    form: Form,
) -> DashResult<Response> {
    form.check_csrf(&who)?;
    let id = parse_uuid(&id, "stream")?;
    let actor = who.actor();
    let s = state.svc.get_stream(&actor, id).await?;
    state.svc.delete_stream(&actor, id).await?;
    Ok(see_other(&format!(
        "/dashboard/streams?done=Deleted+{}",
        urlencode(&s.name)
    )))
}
