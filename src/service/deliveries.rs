//! Broadcast webhooks: when a stream goes live or idle, an api.video-style event is queued in the
//! outbox (in the same transaction as the change) for each of the account's webhooks that
//! subscribed to it; a worker delivers the outbox, signed, with retries and backoff.

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::Services;
use crate::clock::rfc3339;
use crate::domain::{public_ids, webhook, Error};
use crate::store::{DeliveryRecord, Scope, StreamRecord};

pub const EVENT_STARTED: &str = "live-stream.broadcast.started";
pub const EVENT_ENDED: &str = "live-stream.broadcast.ended";
/// The header carrying the hex HMAC-SHA256 of the body, keyed with the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Api-Video-Signature";
/// After this many failed attempts a delivery is given up (`failed_at`).
pub const MAX_ATTEMPTS: i64 = 12;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Hex HMAC-SHA256 of `body` with `secret`.
pub fn signature(secret: &str, body: &str) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seconds to wait before attempt `n + 1`: 2, 4, 8, … capped at an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    2_i64.saturating_pow(attempts.clamp(1, 12) as u32).min(3600)
}

impl Services {
    /// The outbox rows announcing `event` for this stream to every subscribed webhook.
    pub(crate) async fn broadcast_deliveries(
        &self,
        stream: &StreamRecord,
        event: &str,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        let scope = Scope {
            account_id: stream.account_id,
            environment: stream.environment,
        };
        let (hooks, _) = self.store.list_webhooks(scope, 0, 1000).await?;
        let now = self.now_ms();
        let body = serde_json::json!({
            "type": event,
            "emittedAt": rfc3339(now),
            "liveStreamId": public_ids::encode("li", stream.id),
        })
        .to_string();
        Ok(hooks
            .into_iter()
            .filter(|w| w.events.iter().any(|e| e == event))
            .map(|w| DeliveryRecord {
                id: Uuid::now_v7(),
                account_id: stream.account_id,
                webhook_id: w.id,
                event: event.into(),
                body: body.clone(),
                attempts: 0,
                next_attempt_at: now,
                delivered_at: None,
                failed_at: None,
                last_error: None,
                created_at: now,
            })
            .collect())
    }

    /// Delivers what is due; returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize, Error> {
        let now = self.now_ms();
        let mut delivered = 0;
        for d in self.store.due_deliveries(now, 50).await? {
            match self.deliver(&d).await {
                Ok(()) => {
                    self.store.mark_delivered(d.id, self.now_ms()).await?;
                    delivered += 1;
                }
                Err((error, retry)) => {
                    let attempts = d.attempts + 1;
                    let next = (retry && attempts < MAX_ATTEMPTS)
                        .then(|| self.now_ms() + backoff_secs(attempts) * 1000);
                    tracing::warn!(delivery = %d.id, attempts, error = %error, "webhook delivery failed");
                    self.store
                        .mark_attempt_failed(d.id, self.now_ms(), &error, next)
                        .await?;
                }
            }
        }
        Ok(delivered)
    }

    /// One attempt. Err((why, worth retrying)).
    async fn deliver(&self, d: &DeliveryRecord) -> Result<(), (String, bool)> {
        let hook = match self.store.webhook_by_id(d.webhook_id).await {
            Ok(Some(h)) => h,
            Ok(None) => return Err(("the webhook is gone".into(), false)),
            Err(e) => return Err((e.to_string(), true)),
        };
        let secret = self
            .webhook_secret(&hook)
            .map_err(|e| (e.to_string(), false))?;
        let url = reqwest::Url::parse(&hook.url).map_err(|e| (e.to_string(), false))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        // Resolve once, check every address, and connect only to those (no DNS rebinding).
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| (format!("cannot resolve {host}: {e}"), true))?
            .collect();
        let allow_private = self.webhooks_allow_private();
        if addrs.is_empty()
            || addrs
                .iter()
                .any(|a| !webhook::deliverable(a.ip(), allow_private))
        {
            return Err((
                format!("{host} resolves to an internal address: refused"),
                false,
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| (e.to_string(), true))?;
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature(secret.expose(), &d.body))
            .header("X-Api-Video-WebhookId", public_ids::encode("wh", hook.id))
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| (e.without_url().to_string(), true))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err((format!("HTTP {}", res.status().as_u16()), true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_backoff() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(backoff_secs(1), 2);
        assert_eq!(backoff_secs(5), 32);
        assert_eq!(backoff_secs(40), 3600);
    }
}
