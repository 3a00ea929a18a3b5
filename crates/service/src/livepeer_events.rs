//! Livepeer's webhook events, as Livepeer Studio sends them (`packages/api/src/webhooks/
//! cannon.ts`): a POST of
//! `{id, webhookId, createdAt, timestamp, event, stream?, payload?}` — `id` the event's (the same
//! for every webhook it goes to, so a receiver can tell a retry), `createdAt` when the event
//! happened and `timestamp` when this attempt was sent (both ms), `stream` the stream it is about
//! as the API renders it without its key, `payload` what the event adds (none for
//! `stream.started`/`stream.idle`) — signed
//! `Livepeer-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of the raw body, keyed with the
//! webhook's secret>`. Studio signs the body alone (its docs: "the signed_payload is the raw
//! request payload"); the body carries the same `timestamp` as `t`, so a receiver checking the
//! signature also bounds the replay window. Each attempt is stamped anew, as Studio's are. (The
//! signing and stamping are the delivery's: `deliveries::livepeer_signature`, `stamped`.)
//!
//! The rows go to the same durable outbox as api.video's events, queued in the transaction of
//! the change where the caller has one.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::Services;
use domain::webhook::{Flavor, LIVEPEER_EVENTS};
use domain::{Error, Stream, Webhook};
use store::{DeliveryRecord, Scope};

pub const STREAM_STARTED: &str = "stream.started";
pub const STREAM_IDLE: &str = "stream.idle";

/// How many of a scope's webhooks an event is matched against (as for api.video's events).
const MAX_HOOKS: i64 = 1000;

/// A stream as Livepeer's API renders it, without its stream key (the key is a credential: the
/// Livepeer dialect adds it to its own answers, and events never carry it).
pub fn stream_json(s: &Stream) -> Value {
    let mut v = json!({
        "id": s.id.to_string(),
        "kind": "stream",
        "name": s.name,
        "userId": s.account_id.to_string(),
        "createdAt": s.created_at,
        "lastSeen": s.last_seen_at.unwrap_or(0),
        "isActive": s.is_active,
        "isHealthy": Value::Null,
        "issues": Value::Null,
        "playbackId": s.playback_id,
        "record": s.record,
        "suspended": s.suspended,
        "createdByTokenName": s.created_by,
        "sourceSegments": 0,
        "transcodedSegments": 0,
        "sourceSegmentsDuration": 0,
        "transcodedSegmentsDuration": 0,
        "sourceBytes": 0,
        "transcodedBytes": 0,
        "ingestRate": 0,
        "outgoingRate": 0,
        "profiles": [],
        "multistream": {"targets": []},
        "userTags": {},
        "playbackPolicy": {"type": "public"},
    });
    if let Value::Object(m) = &mut v {
        // The settings the API round-trips (profiles, multistream target references, userTags,
        // playbackPolicy, …); none is a secret (target URLs and restream keys are kept apart).
        for (k, val) in &s.settings {
            m.insert(k.clone(), val.clone());
        }
    }
    v
}

/// Does this webhook take `event` about `stream`? A Livepeer webhook subscribed to it, and, when
/// it names a stream, about that stream only.
fn takes(w: &Webhook, event: &str, stream: Option<Uuid>) -> bool {
    w.flavor == Flavor::Livepeer
        && w.events.iter().any(|e| e == event)
        && w.stream_id.is_none_or(|s| Some(s) == stream)
}

impl Services {
    /// The outbox rows announcing Livepeer's `event` to each of the scope's Livepeer webhooks
    /// subscribed to it (and, for one that names a stream, only when `stream_id` is that stream).
    /// `stream_id` names the stream the event is about: it goes in the body as `stream` (without
    /// its key) when the scope still has it. `payload` is the event's `payload` (`Value::Null`:
    /// none, as for the stream events). Insert the rows in the transaction of the change the
    /// event announces where there is one (as the publish hooks do, `GroupWrite`), else with
    /// `queue_livepeer_event`.
    pub async fn livepeer_event_deliveries(
        &self,
        scope: Scope,
        event: &str,
        stream_id: Option<Uuid>,
        payload: Value,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        if !LIVEPEER_EVENTS.contains(&event) {
            return Err(Error::Internal(format!("no Livepeer event {event:?}")));
        }
        let hooks: Vec<Webhook> = self
            .store
            .scope_webhooks(scope, MAX_HOOKS)
            .await?
            .into_iter()
            .filter(|w| takes(w, event, stream_id))
            .collect();
        if hooks.is_empty() {
            return Ok(vec![]);
        }
        let stream = match stream_id {
            Some(id) => match self.store.stream(scope, id).await? {
                Some(rec) => self.stream_body(&rec, None),
                None => None,
            },
            None => None,
        };
        Ok(self.livepeer_rows(&hooks, scope, event, stream, payload))
    }

    /// Queues Livepeer's `event` now, in a transaction of its own (see
    /// `livepeer_event_deliveries`); how many deliveries it queued.
    pub async fn queue_livepeer_event(
        &self,
        scope: Scope,
        event: &str,
        stream_id: Option<Uuid>,
        payload: Value,
    ) -> Result<usize, Error> {
        let rows = self
            .livepeer_event_deliveries(scope, event, stream_id, payload)
            .await?;
        self.store.queue_deliveries(&rows).await?;
        Ok(rows.len())
    }

    /// `stream.started`/`stream.idle` for the stream that goes live or idle, among `hooks` (the
    /// scope's, already read for api.video's events). `active`: the stream as it is after the
    /// change. A stream whose record cannot be opened is announced without its body (the publish
    /// is not held up by it).
    pub(crate) fn livepeer_stream_rows(
        &self,
        hooks: &[Webhook],
        rec: &store::StreamRecord,
        active: bool,
    ) -> Vec<DeliveryRecord> {
        let event = if active { STREAM_STARTED } else { STREAM_IDLE };
        let hooks: Vec<Webhook> = hooks
            .iter()
            .filter(|w| takes(w, event, Some(rec.id)))
            .cloned()
            .collect();
        if hooks.is_empty() {
            return vec![];
        }
        let stream = self.stream_body(rec, Some(active));
        let scope = Scope {
            account_id: rec.account_id,
            environment: rec.environment,
        };
        self.livepeer_rows(&hooks, scope, event, stream, Value::Null)
    }

    /// The event's `stream`: the stream without its key (as `active`, when it is changing). A
    /// record that cannot be opened leaves it out: the event is not held up by it.
    fn stream_body(&self, rec: &store::StreamRecord, active: Option<bool>) -> Option<Value> {
        match self.open_stream(rec.clone()) {
            Ok(mut s) => {
                if let Some(active) = active {
                    s.is_active = active;
                }
                Some(stream_json(&s))
            }
            Err(e) => {
                tracing::warn!(stream = %rec.id, error = %e, "an event goes without its stream");
                None
            }
        }
    }

    fn livepeer_rows(
        &self,
        hooks: &[Webhook],
        scope: Scope,
        event: &str,
        stream: Option<Value>,
        payload: Value,
    ) -> Vec<DeliveryRecord> {
        let now = self.now_ms();
        let event_id = Uuid::now_v7();
        hooks
            .iter()
            .map(|w| {
                let mut body = Map::new();
                body.insert("id".into(), json!(event_id.to_string()));
                body.insert("webhookId".into(), json!(w.id.to_string()));
                body.insert("createdAt".into(), json!(now));
                // Stamped again at each attempt (`stamped`).
                body.insert("timestamp".into(), json!(now));
                body.insert("event".into(), json!(event));
                if let Some(s) = &stream {
                    body.insert("stream".into(), s.clone());
                }
                if !payload.is_null() {
                    body.insert("payload".into(), payload.clone());
                }
                DeliveryRecord {
                    id: Uuid::now_v7(),
                    account_id: scope.account_id,
                    webhook_id: w.id,
                    event: event.into(),
                    body: Value::Object(body).to_string(),
                    attempts: 0,
                    next_attempt_at: now,
                    delivered_at: None,
                    failed_at: None,
                    last_error: None,
                    created_at: now,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_takes_its_flavor_events_and_stream() {
        let w = |events: &[&str], stream_id: Option<Uuid>, flavor| Webhook {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            environment: domain::Environment::Production,
            url: "https://example.com/".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret_sealed: String::new(),
            created_at: 0,
            credential_label: None,
            flavor,
            name: Some("n".into()),
            stream_id,
        };
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(takes(
            &w(&[STREAM_STARTED], None, Flavor::Livepeer),
            STREAM_STARTED,
            Some(a)
        ));
        assert!(takes(
            &w(&["asset.ready"], None, Flavor::Livepeer),
            "asset.ready",
            None
        ));
        assert!(!takes(
            &w(&[STREAM_IDLE], None, Flavor::Livepeer),
            STREAM_STARTED,
            Some(a)
        ));
        assert!(takes(
            &w(&[STREAM_STARTED], Some(a), Flavor::Livepeer),
            STREAM_STARTED,
            Some(a)
        ));
        assert!(!takes(
            &w(&[STREAM_STARTED], Some(a), Flavor::Livepeer),
            STREAM_STARTED,
            Some(b)
        ));
        assert!(!takes(
            &w(&[STREAM_STARTED], Some(a), Flavor::Livepeer),
            "asset.ready",
            None
        ));
        assert!(!takes(
            &w(&[STREAM_STARTED], None, Flavor::ApiVideo),
            STREAM_STARTED,
            Some(a)
        ));
    }
}
