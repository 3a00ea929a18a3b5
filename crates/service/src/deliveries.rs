//! Broadcast webhooks: when a stream goes live or idle, an event is queued in the outbox (in the
//! same transaction as the change) for each of the account's webhooks that subscribed to it —
//! api.video's `live-stream.broadcast.*` to api.video webhooks, Livepeer's `stream.started`/
//! `stream.idle` to Livepeer webhooks (`livepeer_events`); a worker delivers the outbox, signed
//! as each platform signs, with retries and backoff.
//!
//! Attempts run concurrently, under the caps of `delivery_pool` (per endpoint, per account, in
//! all), so one account's slow endpoints do not hold up another account's deliveries. Each
//! attempt first claims its row with a lease (`ATTEMPT_LEASE`), so no other worker or instance
//! sends it meanwhile, and is cut off after `ATTEMPT_TIMEOUT`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::credential_uses::CredentialUse;
use super::credentials::CredentialRef;
use super::delivery_pool::{Slot, CAPS};
use super::Services;
use crypto::SecretString;
use domain::clock::rfc3339;
use domain::credential::CredentialType;
use domain::webhook::{Flavor, Target};
use domain::{public_ids, webhook, Error};
use store::{DeliveryRecord, DueQuery, Scope, StreamRecord};

pub const EVENT_STARTED: &str = "live-stream.broadcast.started";
pub const EVENT_ENDED: &str = "live-stream.broadcast.ended";
/// The header carrying the hex HMAC-SHA256 of the body, keyed with the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Api-Video-Signature";
/// A Livepeer webhook's: `t=<ms>,v1=<hex HMAC-SHA256 of the body>` (`livepeer_signature`).
pub const LIVEPEER_SIGNATURE_HEADER: &str = "Livepeer-Signature";
/// After this many failed attempts a delivery is given up (`failed_at`).
pub const MAX_ATTEMPTS: i64 = 12;
/// One HTTP request of an attempt (the delivery, or a token request).
const TIMEOUT: Duration = Duration::from_secs(10);
/// One whole attempt: resolving, fetching a token, delivering.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claimed delivery is left to its attempt before it is due again (an attempt that
/// never reports back: the process died).
pub const ATTEMPT_LEASE_MS: i64 = 2 * 30_000;

/// The part of an OAuth 2.0 token response (RFC 6749 §5.1) a delivery needs.
#[derive(serde::Deserialize)]
struct TokenGrant {
    access_token: String,
    expires_in: Option<i64>,
}

type TokenKey = (Uuid, i64);

/// Access tokens of `oauth` credentials, by (credential, version), until they expire; and one
/// lock per credential, so attempts running at once fetch its token once, not once each.
#[derive(Default)]
pub struct OAuthTokenCache {
    tokens: std::sync::Mutex<std::collections::HashMap<TokenKey, (SecretString, i64)>>,
    fetching: std::sync::Mutex<std::collections::HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl OAuthTokenCache {
    fn get(&self, key: &TokenKey, now: i64) -> Option<SecretString> {
        let map = self.tokens.lock().ok()?;
        map.get(key)
            .filter(|(_, until)| *until > now)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, key: TokenKey, token: SecretString, until: i64) {
        if let Ok(mut map) = self.tokens.lock() {
            map.retain(|_, (_, u)| *u > until - 3_600_000);
            map.insert(key, (token, until));
        }
    }

    /// The lock held while this credential's token is fetched.
    fn fetch_lock(&self, key: TokenKey) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut map) = self.fetching.lock() else {
            return Arc::default();
        };
        if map.len() > 1000 {
            // Locks nobody holds or waits for.
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(key).or_default().clone()
    }
}

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

/// `t=<at>,v1=<hex HMAC-SHA256 of body>`: the `Livepeer-Signature` of a body sent at `at` (ms).
/// Livepeer Studio signs the body alone (`signatureHeaders` in its `webhooks/cannon.ts`; its docs:
/// "the signed_payload is the raw request payload"), whose `timestamp` is `t`.
pub fn livepeer_signature(secret: &str, at: i64, body: &str) -> String {
    format!("t={at},v1={}", signature(secret, body))
}

/// A queued Livepeer body with this attempt's `timestamp` (the `t` it is signed with), as Studio
/// stamps each attempt. A body that is not a JSON object (none is queued so) goes as it is.
pub fn stamped(body: &str, at: i64) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.insert("timestamp".into(), serde_json::json!(at));
            serde_json::Value::Object(m).to_string()
        }
        _ => body.to_string(),
    }
}

/// Seconds to wait before attempt `n + 1`: 2, 4, 8, … capped at an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    2_i64.saturating_pow(attempts.clamp(1, 12) as u32).min(3600)
}

impl Services {
    /// The outbox rows announcing that this stream goes live (`EVENT_STARTED`) or idle
    /// (`EVENT_ENDED`) to every subscribed webhook: api.video's event to its webhooks, Livepeer's
    /// `stream.started`/`stream.idle` to its.
    pub(crate) async fn broadcast_deliveries(
        &self,
        stream: &StreamRecord,
        event: &str,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        let scope = Scope {
            account_id: stream.account_id,
            environment: stream.environment,
        };
        let hooks = self.store.scope_webhooks(scope, 1000).await?;
        let now = self.now_ms();
        let body = serde_json::json!({
            "type": event,
            "emittedAt": rfc3339(now),
            "liveStreamId": public_ids::encode("li", stream.id),
        })
        .to_string();
        let mut rows: Vec<DeliveryRecord> = hooks
            .iter()
            .filter(|w| w.flavor == Flavor::ApiVideo && w.events.iter().any(|e| e == event))
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
            .collect();
        rows.extend(self.livepeer_stream_rows(&hooks, stream, event == EVENT_STARTED));
        Ok(rows)
    }

    /// Starts attempts for what is due, as far as the caps allow; returns how many it started.
    /// Each runs as its own task and records its outcome itself. Also writes the credential-use
    /// audit rows whose window is over.
    pub async fn deliver_due(self: &Arc<Self>) -> Result<usize, Error> {
        let pool = &self.delivery_pool;
        pool.reap();
        for e in self.credential_uses.due(self.now_ms(), false) {
            self.audit(e).await;
        }
        let free = CAPS.total.saturating_sub(pool.in_flight());
        if free == 0 {
            return Ok(0);
        }
        let (skip_accounts, skip_webhooks) = match pool.in_flight.lock() {
            Ok(f) => f.saturated(CAPS),
            Err(_) => return Ok(0),
        };
        let now = self.now_ms();
        let due = self
            .store
            .due_deliveries(&DueQuery {
                now,
                limit: (free * 2) as i64,
                per_webhook: CAPS.per_endpoint as i64,
                per_account: CAPS.per_account as i64,
                skip_accounts,
                skip_webhooks,
            })
            .await?;
        let mut started = 0;
        for d in due {
            let Some(slot) = pool.try_slot(d.account_id, d.webhook_id) else {
                continue;
            };
            if !self
                .store
                .claim_delivery(d.id, d.next_attempt_at, now + ATTEMPT_LEASE_MS)
                .await?
            {
                continue;
            }
            let svc = Arc::clone(self);
            if let Ok(mut tasks) = pool.tasks.lock() {
                tasks.spawn(async move { svc.attempt(d, slot).await });
                started += 1;
            }
        }
        Ok(started)
    }

    /// Stops the worker: aborts the attempts in flight (their rows stay pending and are retried
    /// when their lease ends) and writes the credential uses counted so far.
    pub async fn stop_deliveries(&self) {
        self.delivery_pool.abort_all();
        for e in self.credential_uses.due(self.now_ms(), true) {
            self.audit(e).await;
        }
    }

    /// One attempt, under its slot, and its outcome recorded.
    async fn attempt(&self, d: DeliveryRecord, _slot: Slot) {
        let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, self.deliver(&d))
            .await
            .unwrap_or_else(|_| Err(("timed out".into(), true)));
        let written = match outcome {
            Ok(()) => self.store.mark_delivered(d.id, self.now_ms()).await,
            Err((error, retry)) => {
                let attempts = d.attempts + 1;
                let next = (retry && attempts < MAX_ATTEMPTS)
                    .then(|| self.now_ms() + backoff_secs(attempts) * 1000);
                tracing::warn!(delivery = %d.id, attempts, error = %error, "webhook delivery failed");
                self.store
                    .mark_attempt_failed(d.id, self.now_ms(), &error, next)
                    .await
            }
        };
        if let Err(e) = written {
            // The lease runs out and the delivery is attempted again.
            tracing::warn!(delivery = %d.id, error = %e, "could not record a webhook attempt");
        }
    }

    /// One attempt. Err((why, worth retrying)).
    async fn deliver(&self, d: &DeliveryRecord) -> Result<(), (String, bool)> {
        let hook = match self.store.webhook_by_id(d.webhook_id).await {
            Ok(Some(h)) => h,
            Ok(None) => return Err(("the webhook is gone".into(), false)),
            Err(e) => return Err((e.to_string(), true)),
        };
        let at = self.now_ms();
        let req = match hook.flavor {
            Flavor::ApiVideo => self
                .webhook_post(&hook, d.body.clone(), at)
                .await?
                .header("X-Api-Video-WebhookId", public_ids::encode("wh", hook.id)),
            Flavor::Livepeer => self.webhook_post(&hook, stamped(&d.body, at), at).await?,
            Flavor::Brightcove => self.webhook_post(&hook, d.body.clone(), at).await?,
        };
        let res = req
            .send()
            .await
            .map_err(|e| (e.without_url().to_string(), true))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err((format!("HTTP {}", res.status().as_u16()), true))
        }
    }

    /// A POST of the JSON `body` to the webhook's endpoint, ready to send: signed with the
    /// webhook's secret as its platform signs (api.video: `X-Api-Video-Signature`; Livepeer:
    /// `Livepeer-Signature` with `at`, the ms timestamp the body carries), with its endpoint's
    /// credential when it names one, on a client pinned to checked addresses (`pinned_client`).
    /// Deliveries and playback-policy questions alike. Err((why, worth retrying)).
    pub(crate) async fn webhook_post(
        &self,
        hook: &domain::Webhook,
        body: String,
        at: i64,
    ) -> Result<reqwest::RequestBuilder, (String, bool)> {
        let secret = self
            .webhook_secret(hook)
            .map_err(|e| (e.to_string(), false))?;
        let url = reqwest::Url::parse(&hook.url).map_err(|e| (e.to_string(), false))?;
        let client = self.pinned_client(&url).await?;
        let auth = match &hook.credential_label {
            Some(label) => Some(self.endpoint_auth(hook, label, &url).await?),
            None => None,
        };
        let req = client.post(url).header("content-type", "application/json");
        let req = match hook.flavor {
            Flavor::ApiVideo => req.header(SIGNATURE_HEADER, signature(secret.expose(), &body)),
            Flavor::Livepeer => req.header(
                LIVEPEER_SIGNATURE_HEADER,
                livepeer_signature(secret.expose(), at, &body),
            ),
            // Brightcove Live signs no notification: its endpoint authenticates the sender by
            // the credential it names.
            Flavor::Brightcove => req,
        }
        .body(body);
        Ok(match auth {
            Some(value) => req.header(reqwest::header::AUTHORIZATION, value.expose()),
            None => req,
        })
    }

    /// A client that reaches `url`'s host only at the addresses checked here: an address literal
    /// (any spelling, IPv6 included) is itself checked; a name is resolved once, every address
    /// must be deliverable, and the client is pinned to them (no DNS rebinding between the check
    /// and the connection). Redirects are not followed.
    async fn pinned_client(&self, url: &reqwest::Url) -> Result<reqwest::Client, (String, bool)> {
        self.pinned_client_builder(url)
            .await?
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| (e.to_string(), true))
    }

    /// [`Self::pinned_client`]'s builder, without its timeout (an import sets its own).
    pub(crate) async fn pinned_client_builder(
        &self,
        url: &reqwest::Url,
    ) -> Result<reqwest::ClientBuilder, (String, bool)> {
        let (host, addrs) = self.checked_addrs(url).await?;
        let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        Ok(match &host {
            Some(name) => builder.resolve_to_addrs(name, &addrs),
            // An address literal is connected to as it is, with no lookup: it was checked.
            None => builder,
        })
    }

    /// The addresses `url`'s host may be reached at (its name, when it has one): an address
    /// literal is itself checked; a name is resolved once and every address must be deliverable
    /// (webhooks, notification endpoints, FTP destinations alike).
    pub(crate) async fn checked_addrs(
        &self,
        url: &reqwest::Url,
    ) -> Result<(Option<String>, Vec<SocketAddr>), (String, bool)> {
        let port = url.port_or_known_default().unwrap_or(443);
        let target = webhook::target(url).map_err(|e| (e.to_string(), false))?;
        let (host, addrs): (Option<String>, Vec<SocketAddr>) = match target {
            Target::Ip(ip) => (None, vec![SocketAddr::new(ip, port)]),
            Target::Name(name) => {
                let addrs = tokio::net::lookup_host((name.as_str(), port))
                    .await
                    .map_err(|e| (format!("cannot resolve {name}: {e}"), true))?
                    .collect();
                (Some(name), addrs)
            }
        };
        let allow_private = self.webhooks_allow_private();
        let shown = host.clone().unwrap_or_else(|| {
            addrs
                .first()
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        });
        if addrs.is_empty()
            || addrs
                .iter()
                .any(|a| !webhook::deliverable(a.ip(), allow_private))
        {
            return Err((
                format!("{shown} resolves to an internal address: refused"),
                false,
            ));
        }
        Ok((host, addrs))
    }

    /// The `Authorization` value for an endpoint that names a credential: Basic for `http`,
    /// a client-credentials access token (cached until shortly before it expires) for `oauth`.
    /// A missing credential is retried: it may be created before the attempts run out.
    /// Each time the stored secret goes out, its use is audited (see `credential_uses`).
    async fn endpoint_auth(
        &self,
        hook: &domain::Webhook,
        label: &str,
        endpoint: &reqwest::Url,
    ) -> Result<SecretString, (String, bool)> {
        let cred = self
            .resolve_credential(
                hook.account_id,
                hook.environment,
                CredentialRef::Label(label),
            )
            .await
            .map_err(|e| (format!("credential {label:?}: {e}"), true))?;
        match cred.kind {
            CredentialType::Http => {
                self.credential_used(&cred, endpoint, "basic").await;
                let pair = format!("{}:{}", cred.public, cred.private.expose());
                Ok(SecretString::new(format!("Basic {}", B64.encode(pair))))
            }
            CredentialType::Oauth => {
                let cache_key = (cred.id, cred.updated_at);
                let now = self.now_ms();
                if let Some(token) = self.oauth_tokens.get(&cache_key, now) {
                    return Ok(SecretString::new(format!("Bearer {}", token.expose())));
                }
                let lock = self.oauth_tokens.fetch_lock(cache_key);
                let _fetching = lock.lock().await;
                // Fetched by the attempt that held the lock before this one?
                if let Some(token) = self.oauth_tokens.get(&cache_key, self.now_ms()) {
                    return Ok(SecretString::new(format!("Bearer {}", token.expose())));
                }
                let token_url = cred.token_url.as_deref().unwrap_or_default();
                let url = reqwest::Url::parse(token_url)
                    .map_err(|e| (format!("credential {label:?}: token URL: {e}"), false))?;
                let client = self.pinned_client(&url).await?;
                self.credential_used(&cred, &url, "token_request").await;
                let res = client
                    .post(url)
                    .basic_auth(&cred.public, Some(cred.private.expose()))
                    .header("accept", "application/json")
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .map_err(|e| (e.without_url().to_string(), true))?;
                if !res.status().is_success() {
                    return Err((
                        format!(
                            "credential {label:?}: token endpoint answered HTTP {}",
                            res.status().as_u16()
                        ),
                        true,
                    ));
                }
                let body = res
                    .bytes()
                    .await
                    .map_err(|e| (e.without_url().to_string(), true))?;
                // serde's message could quote the response: say only what is wrong.
                let grant: TokenGrant = serde_json::from_slice(&body).map_err(|_| {
                    (
                        format!("credential {label:?}: token response has no access_token"),
                        true,
                    )
                })?;
                let token = SecretString::new(grant.access_token);
                // Renew a minute early; tokens without a lifetime are used for five minutes.
                let life_ms = grant.expires_in.unwrap_or(300).saturating_sub(60).max(0) * 1000;
                self.oauth_tokens
                    .put(cache_key, token.clone(), now + life_ms);
                Ok(SecretString::new(format!("Bearer {}", token.expose())))
            }
            other => Err((
                format!(
                    "credential {label:?} is of type {}, not http or oauth",
                    other.as_str()
                ),
                false,
            )),
        }
    }

    /// Audits that `cred`'s secret is being sent to `to`'s host.
    async fn credential_used(
        &self,
        cred: &domain::credential::Credential,
        to: &reqwest::Url,
        sent_as: &'static str,
    ) {
        self.credential_sent(cred, host_of(to), sent_as).await;
    }

    /// Audits that `cred`'s secret is being sent to `host` (webhooks, clip deliveries).
    pub(crate) async fn credential_sent(
        &self,
        cred: &domain::credential::Credential,
        host: String,
        sent_as: &'static str,
    ) {
        let usage = CredentialUse {
            account_id: cred.account_id,
            environment: cred.environment,
            credential_id: cred.id,
            label: cred.label.clone(),
            host,
            sent_as,
        };
        if let Some(e) = self.credential_uses.record(usage, self.now_ms()) {
            self.audit(e).await;
        }
    }
}

/// A URL's host as the audit log names it: an address in its usual form, a name as parsed.
pub fn host_of(url: &reqwest::Url) -> String {
    match webhook::target(url) {
        Ok(Target::Ip(IpAddr::V6(v6))) => format!("[{v6}]"),
        Ok(Target::Ip(ip)) => ip.to_string(),
        Ok(Target::Name(name)) => name,
        Err(_) => url.host_str().unwrap_or_default().to_string(),
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

    #[test]
    fn livepeer_deliveries_are_signed_as_studio_signs_and_stamped_per_attempt() {
        let body = r#"{"event":"stream.started","timestamp":1}"#;
        assert_eq!(
            livepeer_signature("s3cret", 1_700_000_000_123, body),
            format!("t=1700000000123,v1={}", signature("s3cret", body))
        );
        let again: serde_json::Value = serde_json::from_str(&stamped(body, 42)).unwrap();
        assert_eq!(again["timestamp"], 42);
        assert_eq!(again["event"], "stream.started");
        assert_eq!(stamped("not json", 42), "not json");
    }
}
