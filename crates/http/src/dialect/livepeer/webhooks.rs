//! `/api/webhook…`: Livepeer's webhooks (`{name, url, events, sharedSecret?, streamId?}`), the
//! caller's Livepeer-flavored ones only (api.video's `/webhooks` are not found here; see
//! `service::webhooks`). Their events are Livepeer's and each delivery is signed
//! `Livepeer-Signature` (see `service::livepeer_events`).
//!
//! The signing secret (`sharedSecret`, the caller's or, when it gives none, a generated one — a
//! delivery is always signed) is write-only, as in Livepeer's schema: it is in the create answer
//! and nowhere else. Statuses, by what Livepeer's clients read (Studio's
//! `packages/api/src/controllers/webhook.ts`; the generated SDKs, npm `livepeer` 3.5 and PyPI
//! `livepeer` 0.3, accept only a 200 with the webhook for create, update and delete, and fail on
//! anything else — an empty 204 included):
//! - create: 201 as Studio, 200 to the generated SDKs (`created_status`);
//! - update (`PUT`, a whole replacement): 200 with the webhook, to everyone. Studio answers 200
//!   `{id}`, which the SDKs cannot read (their `Webhook` needs `name` and `url`); the webhook is
//!   a superset of it. A `PUT` without `sharedSecret` keeps the secret it has (Studio's would
//!   drop it and stop signing);
//! - delete: 204 as Studio, 200 with the deleted webhook to the generated SDKs.
//!
//! Departures: `events` is required as in Studio (its SDKs mark it optional; Studio answers
//! `must provide "events"`), and a refused body is a 400 like the rest of this dialect (Studio:
//! 422). `projectId` is accepted and ignored (streamgate has no projects). `status` (last
//! delivery and failure) is not kept, and is left out (it is optional in the model).

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::streams::{bad_query, limit_param, link_to_next};
use super::{created_status, generated_sdk, parse_id, Livepeer, Lp, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::webhook::Flavor;
use domain::{Error, SecretString, Webhook};
use service::webhooks::NewWebhook;

/// Livepeer's `webhook` input, for create and update alike.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerWebhook)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookBody {
    name: String,
    url: String,
    events: Option<Vec<String>>,
    /// The key of each delivery's `Livepeer-Signature` (HMAC-SHA256); generated when not given.
    shared_secret: Option<String>,
    /// Only this stream's events.
    stream_id: Option<String>,
    /// Accepted and ignored: streamgate has no projects.
    #[allow(dead_code)]
    project_id: Option<String>,
}

impl WebhookBody {
    fn into_new(self) -> LpResult<NewWebhook> {
        let events = self.events.ok_or_else(|| {
            Error::Invalid("must provide \"events\" field with subscriptions".into())
        })?;
        let stream_id = match self.stream_id.filter(|s| !s.is_empty()) {
            Some(s) => Some(uuid::Uuid::parse_str(&s).map_err(|_| {
                Error::Invalid(format!(
                    "streamId {:?} is not one of your streams",
                    domain::text::cap(&s, 64)
                ))
            })?),
            None => None,
        };
        Ok(NewWebhook {
            flavor: Flavor::Livepeer,
            name: Some(self.name),
            url: self.url,
            events,
            shared_secret: self.shared_secret.map(SecretString::new),
            stream_id,
        })
    }
}

/// Livepeer's `webhook`, without its secret.
fn render(w: &Webhook) -> Value {
    let mut v = json!({
        "id": w.id.to_string(),
        "name": w.name.as_deref().unwrap_or_default(),
        "kind": "webhook",
        "userId": w.account_id.to_string(),
        "createdAt": w.created_at,
        "events": w.events,
        "url": w.url,
    });
    // Optional fields are left out rather than null: the JavaScript SDK's schema takes a string
    // or nothing.
    if let Some(s) = w.stream_id {
        v["streamId"] = json!(s.to_string());
    }
    v
}

pub async fn create(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Json(body, ..): Json<Livepeer, WebhookBody>,
) -> LpResult<Response> {
    let (w, secret) = state.svc.create_webhook(&actor, body.into_new()?).await?;
    let mut v = render(&w);
    v["sharedSecret"] = json!(secret.expose());
    Ok((created_status(&headers), axum::Json(v)).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let w = state
        .svc
        .get_webhook(&actor, Flavor::Livepeer, parse_id(&id, "webhook")?)
        .await?;
    Ok(axum::Json(render(&w)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Json(body, ..): Json<Livepeer, WebhookBody>,
) -> LpResult<Response> {
    let id = parse_id(&id, "webhook")?;
    let w = state
        .svc
        .update_webhook(&actor, id, body.into_new()?)
        .await?;
    Ok(axum::Json(render(&w)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let w = state
        .svc
        .delete_webhook(&actor, Flavor::Livepeer, parse_id(&id, "webhook")?)
        .await?;
    Ok(if generated_sdk(&headers) {
        axum::Json(render(&w)).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// Where a page starts: Studio's `skip<N>` cursors (none: the first page).
fn offset_param(q: &HashMap<String, String>) -> LpResult<i64> {
    match q.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => c
            .strip_prefix("skip")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad_query("invalid cursor")),
        None => Ok(0),
    }
}

/// `GET /api/webhook?limit=N&cursor=C`: a bare array of the caller's webhooks, oldest first; the
/// next page is announced in `Link: <…>; rel="next"`, as Studio does.
pub async fn list(
    State(state): State<AppState>,
    Lp(actor): Lp,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> LpResult<Response> {
    let (limit, offset) = (limit_param(&q)?, offset_param(&q)?);
    let (items, total) = state
        .svc
        .list_webhooks(&actor, Flavor::Livepeer, None, offset, limit)
        .await?;
    let next = offset + items.len() as i64;
    let body: Vec<Value> = items.iter().map(render).collect();
    let mut res = axum::Json(body).into_response();
    if next < total {
        if let Some(link) = link_to_next(&headers, &uri, limit, &format!("skip{next}")) {
            res.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_livepeer_webhook_inputs() {
        let ok: WebhookBody = serde_json::from_str(
            r#"{"name":"n","url":"https://h.example/x","events":["stream.started"],"sharedSecret":"s","streamId":"0190b0c4-0000-7000-8000-000000000001","projectId":"p"}"#,
        )
        .unwrap();
        let new = ok.into_new().unwrap();
        assert_eq!(new.flavor, Flavor::Livepeer);
        assert_eq!(new.shared_secret.unwrap().expose(), "s");
        assert!(new.stream_id.is_some());
        let no_events: WebhookBody =
            serde_json::from_str(r#"{"name":"n","url":"https://h.example/x"}"#).unwrap();
        assert!(no_events.into_new().is_err());
        let bad_stream: WebhookBody = serde_json::from_str(
            r#"{"name":"n","url":"https://h.example/x","events":[],"streamId":"nope"}"#,
        )
        .unwrap();
        assert!(bad_stream.into_new().is_err());
        assert!(serde_json::from_str::<WebhookBody>(
            r#"{"name":"n","url":"https://h.example/x","events":[],"bogus":1}"#
        )
        .is_err());
    }

    #[test]
    fn cursors_are_studios_skips() {
        let q = |c: &str| HashMap::from([("cursor".to_string(), c.to_string())]);
        assert_eq!(offset_param(&HashMap::new()).unwrap(), 0);
        assert_eq!(offset_param(&q("skip40")).unwrap(), 40);
        assert!(offset_param(&q("skip-1")).is_err());
        assert!(offset_param(&q("40")).is_err());
    }
}
