//! Brightcove Live's jobs and VOD clips: `POST/GET /v1/jobs`, `GET /v1/jobs/{id}`,
//! `PUT /v1/jobs/{id}/cancel` (and `/stop`), `POST /v1/vods`, `GET /v1/vods/{id}`. A job is an
//! ingest point on this deployment's media server (`stream_url` + `stream_name`); clips go to
//! `s3://` and `ftp://` destinations with credentials named by label. Ids are 32 hex digits and
//! times milliseconds since the epoch, as Brightcove's are. Errors: `{"error":"…"}` (the
//! dialect's).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{json, Value};

use super::brightcove::Brightcove;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::json::Json;
use crate::routes::{Body, Routes};
use crate::{perm, AppState};
use domain::live_job::{ClipOutput, JobState, LiveJob};
use domain::Error;
use service::clips::NewClipOutput;
use service::live_jobs::{NewJob, NotificationSpec};

type BcError = ApiError<Brightcove>;
type BcResult<T> = Result<T, BcError>;
type Bc = Authed<Brightcove>;

/// A notification endpoint: a URL, or `{url, credentials, event, method}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NotificationBody {
    Url(String),
    Endpoint(NotificationObject),
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationObject {
    url: String,
    #[serde(default)]
    credentials: Option<String>,
    /// Only `state_changed` is sent.
    #[serde(default)]
    event: Option<String>,
    /// Only `POST`.
    #[serde(default)]
    method: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = BrightcoveJob)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    /// Must be true when given: every job here is a live stream.
    #[serde(default)]
    live_stream: Option<bool>,
    #[serde(default)]
    region: Option<String>,
    /// Seconds a disconnected encoder has to come back before the job finishes (1-1800).
    #[serde(default)]
    reconnect_time: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    outputs: Option<Value>,
    #[serde(default)]
    notifications: Vec<NotificationBody>,
    /// The label of the `rtmp` credential the encoder must present (`?user=…&pass=…`).
    #[serde(default)]
    rtmp_credentials: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VodOutputBody {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    credentials: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    start_time: Option<f64>,
    #[serde(default)]
    end_time: Option<f64>,
    /// A Video Cloud destination: refused (not reachable from a self-hosted deployment).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    videocloud: Option<Value>,
    /// Told when this output is delivered or given up.
    #[serde(default)]
    notifications: Vec<NotificationBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = BrightcoveVod)]
#[serde(deny_unknown_fields)]
pub struct VodBody {
    live_job_id: String,
    outputs: Vec<VodOutputBody>,
}

fn parse_id(id: &str, what: &'static str) -> BcResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::NotFound(what).into())
}

/// An id given in a body: malformed is the caller's mistake (400), not a missing object.
fn body_id(id: &str, field: &str) -> BcResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| Error::Invalid(format!("{field} must be a job id (32 hex digits)")).into())
}

pub fn routes() -> Routes {
    Routes::of::<Brightcove>(Body::json::<JobBody>())
        .route(
            "/v1/jobs",
            get(list).post(create),
            &[
                (Method::GET, perm!(Jobs: List)),
                (Method::POST, perm!(Jobs: Create)),
            ],
        )
        .query(Method::GET, &["state", "page_size", "start_token"])
        .route(
            "/v1/jobs/{id}",
            get(get_one),
            &[(Method::GET, perm!(Jobs: Read))],
        )
        .route(
            "/v1/jobs/{id}/cancel",
            put(cancel),
            &[(Method::PUT, perm!(Jobs: Update))],
        )
        .body(Method::PUT, Body::None)
        .route(
            "/v1/jobs/{id}/stop",
            put(stop),
            &[(Method::PUT, perm!(Jobs: Update))],
        )
        .body(Method::PUT, Body::None)
        .route(
            "/v1/vods",
            post(create_vod),
            &[(Method::POST, perm!(Jobs: Create))],
        )
        .body(Method::POST, Body::json::<VodBody>())
        .route(
            "/v1/vods/{id}",
            get(get_vod),
            &[(Method::GET, perm!(Jobs: Read))],
        )
}

/// Where encoders publish a job: the `rtmp_url` setting's server, else port 1935 of the host the
/// API was reached at; the jobs application.
fn stream_url(state: &AppState, headers: &HeaderMap) -> String {
    format!(
        "{}/{}",
        crate::playback_url::rtmp_server(&state.settings, headers),
        state.svc.settings.jobs.app
    )
}

/// A job as the API shows it; with its stream name only where `name` is given (never in lists).
fn render(state: &AppState, headers: &HeaderMap, j: &LiveJob, name: Option<&str>) -> Value {
    let mut v = json!({
        "id": j.id.simple().to_string(),
        "state": j.state.as_str(),
        "live_stream": true,
        "region": j.region,
        "reconnect_time": j.reconnect_time,
        "created_at": j.created_at,
        "updated_at": j.updated_at,
        "stream_url": stream_url(state, headers),
        "outputs": j.outputs,
        "notifications": j.notifications.iter().map(|n| json!({
            "url": n.url,
            "credentials": n.credentials,
            "event": service::live_jobs::STATE_CHANGED,
        })).collect::<Vec<_>>(),
        "rtmp_credentials": j.rtmp_credential,
    });
    if let Some(name) = name {
        v["stream_name"] = json!(name);
    }
    v
}

/// The endpoints a job or a clip output notifies: URLs, or objects whose `event` and `method`
/// (when given) are the only ones sent.
fn notification_specs(list: Vec<NotificationBody>) -> BcResult<Vec<NotificationSpec>> {
    let mut out = Vec::new();
    for n in list {
        out.push(match n {
            NotificationBody::Url(url) => NotificationSpec {
                url,
                credentials: None,
            },
            NotificationBody::Endpoint(o) => {
                if o.event.as_deref().is_some_and(|e| e != "state_changed") {
                    return Err(Error::Invalid(
                        "notifications[].event: only state_changed is sent".into(),
                    )
                    .into());
                }
                if o.method.as_deref().is_some_and(|m| m != "POST") {
                    return Err(Error::Invalid(
                        "notifications[].method: notifications are sent with POST".into(),
                    )
                    .into());
                }
                NotificationSpec {
                    url: o.url,
                    credentials: o.credentials,
                }
            }
        });
    }
    Ok(out)
}

fn render_output(o: &ClipOutput) -> Value {
    let mut v = json!({
        "jvod_id": o.id.simple().to_string(),
        "label": o.label,
        "url": o.url,
        "credentials": o.credential_label,
        "state": o.state.as_str(),
        "error": o.error,
        "attempts": o.attempts,
        "bytes": o.bytes,
        "notifications": o.notifications.iter().map(|n| json!({
            "url": n.url,
            "credentials": n.credentials,
            "event": service::live_jobs::STATE_CHANGED,
        })).collect::<Vec<_>>(),
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    });
    if let (Some(obj), Value::Object(w)) = (v.as_object_mut(), o.window.to_json()) {
        obj.extend(w);
    }
    v
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed(actor, ..): Bc,
    Json(body, ..): Json<Brightcove, JobBody>,
) -> BcResult<axum::Json<Value>> {
    if body.live_stream == Some(false) {
        return Err(Error::Invalid(
            "live_stream must be true: this server runs live jobs (clips come from /v1/vods)"
                .into(),
        )
        .into());
    }
    let notifications = notification_specs(body.notifications)?;
    let (job, name) = state
        .svc
        .create_live_job(
            &actor,
            NewJob {
                region: body.region,
                reconnect_time: body.reconnect_time,
                outputs: body.outputs,
                notifications,
                rtmp_credentials: body.rtmp_credentials,
            },
        )
        .await?;
    Ok(axum::Json(render(
        &state,
        &headers,
        &job,
        Some(name.expose()),
    )))
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed(actor, ..): Bc,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> BcResult<axum::Json<Value>> {
    let number = |name: &str, default: i64, max: i64| -> BcResult<i64> {
        match q.get(name).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    Error::Invalid(format!("{name} must be an integer from 0 to {max}")).into()
                }),
        }
    };
    let size = number("page_size", 100, 1000)?.max(1);
    // Brightcove's paging: an opaque `start_token` from the last page's `next_token`.
    let start = number("start_token", 0, i64::MAX)?;
    let filter = match q.get("state").filter(|s| !s.is_empty()) {
        Some(s) => Some(JobState::parse(s)?),
        None => None,
    };
    let jobs = state
        .svc
        .list_live_jobs(&actor, filter, start, size)
        .await?;
    let mut body = json!({
        "jobs": jobs.iter().map(|j| render(&state, &headers, j, None)).collect::<Vec<_>>(),
    });
    if jobs.len() as i64 == size {
        body["next_token"] = json!((start + size).to_string());
    }
    Ok(axum::Json(body))
}

async fn get_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<axum::Json<Value>> {
    let job = state
        .svc
        .live_job(&actor, parse_id(&id, "live job")?)
        .await?;
    let name = state.svc.live_job_stream_name(&job)?;
    Ok(axum::Json(json!({
        "job": render(&state, &headers, &job, Some(name.expose())),
    })))
}

async fn end(state: &AppState, actor: &domain::Actor, id: &str, to: JobState) -> BcResult<Value> {
    let job = state
        .svc
        .end_live_job(actor, parse_id(id, "live job")?, to)
        .await?;
    Ok(json!({ "id": job.id.simple().to_string(), "state": job.state.as_str() }))
}

async fn cancel(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<axum::Json<Value>> {
    Ok(axum::Json(
        end(&state, &actor, &id, JobState::Cancelled).await?,
    ))
}

async fn stop(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<axum::Json<Value>> {
    Ok(axum::Json(
        end(&state, &actor, &id, JobState::Finished).await?,
    ))
}

async fn create_vod(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Json(body, ..): Json<Brightcove, VodBody>,
) -> BcResult<axum::Json<Value>> {
    let job_id = body_id(&body.live_job_id, "live_job_id")?;
    let mut outputs = Vec::new();
    for o in body.outputs {
        outputs.push(NewClipOutput {
            label: o.label,
            url: o.url,
            credentials: o.credentials,
            duration: o.duration,
            start_time: o.start_time,
            end_time: o.end_time,
            videocloud: o.videocloud.is_some(),
            notifications: notification_specs(o.notifications)?,
        });
    }
    let (vod_id, outputs) = state.svc.create_clips(&actor, job_id, outputs).await?;
    Ok(axum::Json(json!({
        "id": vod_id.simple().to_string(),
        "live_job_id": job_id.simple().to_string(),
        "vod_jobs": outputs.iter().map(|o| json!({
            "jvod_id": o.id.simple().to_string(),
            "label": o.label,
        })).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(render_output).collect::<Vec<_>>(),
    })))
}

async fn get_vod(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<axum::Json<Value>> {
    let outputs = state.svc.clips(&actor, parse_id(&id, "vod")?).await?;
    let first = outputs.first();
    Ok(axum::Json(json!({
        "id": first.map(|o| o.vod_id.simple().to_string()),
        "live_job_id": first.map(|o| o.job_id.simple().to_string()),
        "outputs": outputs.iter().map(render_output).collect::<Vec<_>>(),
    })))
}
