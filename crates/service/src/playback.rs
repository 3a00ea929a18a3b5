//! "May this viewer watch?" — the one read decision behind every media server's play hook
//! (MediaMTX `read`/`playback`, SRS `on_play`, nginx-rtmp `on_play`) and nginx's `auth_request`
//! in front of HLS. A viewer names a stream by its playback id, never its stream key, and
//! presents what the stream's policy asks for:
//!
//! - api.video `public: false`: the stream's private token (`?token=`), as its asset URLs carry;
//! - Livepeer `playbackPolicy` `jwt`: an ES256 JWT (`?jwt=` or `Livepeer-Jwt`) signed by an
//!   enabled signing key of the stream's account, for this playback id, `action: pull`,
//!   unexpired; `webhook`: the account's webhook answers 2xx for the viewer's `?accessKey=`;
//!   `allowedOrigins`: a browser's `Origin` must be listed;
//! - otherwise (`public`): anyone.
//!
//! Costs are bounded: a JWT's signature is checked once and the result kept until it expires
//! (the signing key's state is still looked at on every read, through the verifier's cache,
//! which the change log keeps current on every instance); a webhook's answer is kept
//! `WEBHOOK_ANSWER_TTL`, at most `WEBHOOK_ASKS` are in flight, each with a timeout and the SSRF
//! rules of webhook delivery. Refusals are throttled per (ingest token, client address) like
//! publish refusals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, Mac};
use quick_cache::sync::Cache;
use sha2::Sha256;
use uuid::Uuid;

use super::ingest::constant_time_eq;
use super::ingest_tokens::IngestCaller;
use super::Services;
use crypto::{playback_jwt, sha256};
use domain::ingest_token::{cap, caps};
use domain::playback::{is_private, PlaybackPolicy, PolicyKind, MAX_CREDENTIAL};
use domain::stream::CachedStream;
use domain::{public_ids, Error, Stream};
use store::Scope;

/// Verified JWTs remembered at most (each ~200 bytes).
const JWT_CAPACITY: usize = 100_000;
/// Webhook answers remembered at most…
const WEBHOOK_ANSWERS: usize = 10_000;
/// …each for this long.
pub const WEBHOOK_ANSWER_TTL: Duration = Duration::from_secs(30);
/// A webhook that has not answered in this long refuses the viewer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(3);
/// Webhook questions in flight at most (beyond: refused at once, not queued)…
const WEBHOOK_ASKS: usize = 32;
/// …and of one account's streams, so one account's slow webhook cannot take them all.
const WEBHOOK_ASKS_PER_ACCOUNT: usize = 4;
/// Playback ids are generated short; a longer name is no playback id.
const MAX_PLAYBACK_ID: usize = 64;
/// Query parameters of a read looked at, at most.
const MAX_PARAMS: usize = 32;
/// The refusals that count against a viewer's address: a credential that is not one.
const GUESSES: &[&str] = &[
    "wrong_token",
    "malformed_jwt",
    "unknown_signing_key",
    "bad_signature",
    "jwt_for_another_stream",
    "signing_key_of_another_account",
    "webhook_refused",
];

/// What a media server (or nginx's `auth_request`) tells us about a viewer.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub caller: IngestCaller,
    /// `nginx-rtmp`, `srs`, `mediamtx`, `nginx-http`.
    pub server: &'static str,
    /// The playback id the viewer asked for.
    pub name: String,
    /// Another name the request could mean, tried when `name` names no stream (nginx's
    /// `auth_request` reads the id from a path: its directory, else its file name).
    pub alternative: Option<String>,
    /// The viewer's query: `jwt`, `token`, `accessKey`, …
    pub params: Vec<(String, Option<String>)>,
    /// A JWT sent in a header (`Livepeer-Jwt`, or MediaMTX's bearer token).
    pub jwt_header: Option<String>,
    /// The browser's `Origin`, when the viewer's request had one.
    pub origin: Option<String>,
    pub client_addr: Option<String>,
}

impl ReadRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .take(MAX_PARAMS)
            .find(|(k, v)| k == name && v.is_some())
            .and_then(|(_, v)| v.as_deref())
            .filter(|v| !v.is_empty() && v.len() <= MAX_CREDENTIAL)
    }

    fn jwt(&self) -> Option<&str> {
        self.param("jwt").or(self
            .jwt_header
            .as_deref()
            .filter(|v| !v.is_empty() && v.len() <= MAX_CREDENTIAL))
    }

    /// Did the viewer present any credential at all?
    fn presented(&self) -> bool {
        self.jwt().is_some() || self.param("token").is_some() || self.param("accessKey").is_some()
    }

    /// The reported client address, cut to its cap; None when not reported.
    fn addr(&self) -> Option<&str> {
        self.client_addr
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| cap(a, caps::ADDR))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadDecision {
    /// `via`: `public`, `jwt`, `webhook`, `private_token`.
    Allowed { via: &'static str, account: Uuid },
    /// Why; the stream's account when the stream is known; and whether the viewer presented a
    /// credential at all (401 when not, 403 when it was refused).
    Refused {
        reason: &'static str,
        account: Option<Uuid>,
        presented: bool,
    },
    /// Too many refusals for this (ingest token, client address) lately: refused without looking.
    Throttled,
}

/// A JWT whose signature was checked: what the per-read checks need.
#[derive(Debug)]
struct CheckedJwt {
    key_hash: [u8; 32],
    sub: String,
    action: String,
    /// Seconds since the epoch.
    exp: Option<f64>,
}

/// The read path's bounded memories.
pub struct PlaybackCaches {
    jwts: Cache<[u8; 32], Arc<CheckedJwt>>,
    /// (stream, hash of the access key) → (allowed, when asked).
    webhook_answers: Cache<(Uuid, [u8; 32]), (bool, Instant)>,
    webhook_asks: tokio::sync::Semaphore,
    /// Questions in flight per account (entries removed when they reach 0).
    webhook_asks_of: std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
}

/// One account's place among the webhook questions in flight, given back when dropped.
struct AccountSlot<'a> {
    of: &'a std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
    account: Uuid,
}

impl<'a> AccountSlot<'a> {
    fn take(
        of: &'a std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
        account: Uuid,
    ) -> Option<Self> {
        let mut map = of.lock().ok()?;
        let n = map.entry(account).or_insert(0);
        if *n >= WEBHOOK_ASKS_PER_ACCOUNT {
            return None;
        }
        *n += 1;
        Some(Self { of, account })
    }
}

impl Drop for AccountSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.of.lock() {
            if let Some(n) = map.get_mut(&self.account) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.account);
                }
            }
        }
    }
}

impl Default for PlaybackCaches {
    fn default() -> Self {
        Self {
            jwts: Cache::new(JWT_CAPACITY),
            webhook_answers: Cache::new(WEBHOOK_ANSWERS),
            webhook_asks: tokio::sync::Semaphore::new(WEBHOOK_ASKS),
            webhook_asks_of: Default::default(),
        }
    }
}

/// The stream's private token (api.video `public: false`): derived from its stream key, so it
/// needs no storage of its own, is the same on every instance, and changes with the key.
pub fn private_token(s: &Stream) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(s.stream_key.expose().as_bytes())
    else {
        return String::new();
    };
    mac.update(b"streamgate private playback:");
    mac.update(s.id.as_bytes());
    let out = mac.finalize().into_bytes();
    B64URL.encode(&out[..24])
}

/// A policy's `webhookId`: a UUID, or api.video's `wh…` form of one.
fn webhook_uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id)
        .ok()
        .or_else(|| public_ids::decode("wh", id))
}

fn refused(reason: &'static str, account: Option<Uuid>, presented: bool) -> ReadDecision {
    ReadDecision::Refused {
        reason,
        account,
        presented,
    }
}

impl Services {
    /// The decision for a read, throttled like publishes (apart from them): a (media server,
    /// client address) with too many guessed credentials lately is refused without looking. Reads report no address when a
    /// proxy does not forward it; those are never throttled (one viewer's refusals would lock
    /// out every other viewer of that media server).
    pub async fn authorize_read(&self, req: &ReadRequest) -> Result<ReadDecision, Error> {
        let token = req.caller.token_id();
        if let Some(addr) = req.addr() {
            if self.read_throttle.blocked(token, addr) {
                return Ok(ReadDecision::Throttled);
            }
        }
        let decision = self.decide_read(req).await?;
        // Only a credential that was presented and is no credential at all counts (guessing);
        // a player asking before it has one, an expired JWT, a disabled key, a busy webhook or
        // a stream that is gone do not.
        if let (ReadDecision::Refused { reason, .. }, Some(addr)) = (&decision, req.addr()) {
            if GUESSES.contains(reason) {
                self.read_throttle.refused(token, addr);
            }
        }
        Ok(decision)
    }

    async fn decide_read(&self, req: &ReadRequest) -> Result<ReadDecision, Error> {
        let presented = req.presented();
        let mut found = None;
        for name in std::iter::once(&req.name).chain(&req.alternative) {
            if !name.is_empty() && name.len() <= MAX_PLAYBACK_ID {
                found = self.stream_by_playback_id(name).await?;
            }
            if found.is_some() {
                break;
            }
        }
        let Some(cached) = found else {
            return Ok(refused("unknown_stream", None, presented));
        };
        let s = &cached.stream;
        let account = Some(s.account_id);
        if s.suspended {
            return Ok(refused("stream_suspended", account, presented));
        }
        let policy = PlaybackPolicy::of_settings(&s.settings);
        if !policy.origin_allowed(req.origin.as_deref()) {
            return Ok(refused("origin_refused", account, presented));
        }
        let mut via = "public";
        if is_private(&s.settings) {
            match req.param("token") {
                None => return Ok(refused("credential_missing", account, presented)),
                Some(t) if constant_time_eq(t.as_bytes(), private_token(s).as_bytes()) => {
                    via = "private_token";
                }
                Some(_) => return Ok(refused("wrong_token", account, true)),
            }
        }
        match &policy.kind {
            PolicyKind::Public => {}
            PolicyKind::Jwt => {
                let Some(jwt) = req.jwt() else {
                    return Ok(refused("credential_missing", account, presented));
                };
                if let Err(why) = self.check_playback_jwt(jwt, &cached).await? {
                    return Ok(refused(why, account, true));
                }
                via = "jwt";
            }
            PolicyKind::Webhook {
                webhook_id,
                context,
            } => {
                let Some(access_key) = req.param("accessKey") else {
                    return Ok(refused("credential_missing", account, presented));
                };
                if let Err(why) = self
                    .ask_playback_webhook(s, webhook_id, context.as_ref(), access_key)
                    .await?
                {
                    return Ok(refused(why, account, true));
                }
                via = "webhook";
            }
            PolicyKind::Unsupported(_) => {
                return Ok(refused("policy_unsupported", account, presented))
            }
        }
        Ok(ReadDecision::Allowed {
            via,
            account: s.account_id,
        })
    }

    /// Err(why) unless `jwt` is a valid playback JWT for this stream now. The signature is
    /// checked once per token; the key's state, the claims and the expiry on every read.
    async fn check_playback_jwt(
        &self,
        jwt: &str,
        stream: &CachedStream,
    ) -> Result<Result<(), &'static str>, Error> {
        let s = &stream.stream;
        let id = sha256(jwt.as_bytes());
        let checked = match self.playback.jwts.get(&id) {
            Some(c) => c,
            None => {
                let Ok(claims) = playback_jwt::peek(jwt) else {
                    return Ok(Err("malformed_jwt"));
                };
                let key_hash = sha256(claims.public_key.as_bytes());
                let Some(key) = self.verifier.playback_key_by_hash(&key_hash).await? else {
                    return Ok(Err("unknown_signing_key"));
                };
                let Ok(public) = playback_jwt::public_key(&key.public_key) else {
                    return Ok(Err("unknown_signing_key"));
                };
                let Ok(claims) = playback_jwt::verify(jwt, &public) else {
                    return Ok(Err("bad_signature"));
                };
                let c = Arc::new(CheckedJwt {
                    key_hash,
                    sub: claims.sub,
                    action: claims.action,
                    exp: claims.exp,
                });
                self.playback.jwts.insert(id, c.clone());
                c
            }
        };
        let now_s = self.now_ms() as f64 / 1000.0;
        match checked.exp {
            Some(exp) if exp > now_s => {}
            Some(_) => {
                self.playback.jwts.remove(&id);
                return Ok(Err("jwt_expired"));
            }
            None => return Ok(Err("jwt_without_expiry")),
        }
        if checked.sub != s.playback_id {
            return Ok(Err("jwt_for_another_stream"));
        }
        if checked.action != "pull" {
            return Ok(Err("jwt_not_for_playback"));
        }
        let key = self
            .verifier
            .playback_key_by_hash(&checked.key_hash)
            .await?;
        match key {
            Some(k) if k.account_id != s.account_id || k.environment != s.environment => {
                Ok(Err("signing_key_of_another_account"))
            }
            Some(k) if k.disabled => Ok(Err("signing_key_disabled")),
            Some(_) => Ok(Ok(())),
            None => Ok(Err("unknown_signing_key")),
        }
    }

    /// Err(why) unless the stream's webhook allows `access_key` (asked at most once per
    /// `WEBHOOK_ANSWER_TTL`, with a timeout, under the SSRF rules of webhook delivery).
    async fn ask_playback_webhook(
        &self,
        s: &Stream,
        webhook_id: &str,
        context: Option<&serde_json::Value>,
        access_key: &str,
    ) -> Result<Result<(), &'static str>, Error> {
        let answer_key = (s.id, sha256(access_key.as_bytes()));
        if let Some((allowed, at)) = self.playback.webhook_answers.get(&answer_key) {
            if at.elapsed() < WEBHOOK_ANSWER_TTL {
                return Ok(if allowed {
                    Ok(())
                } else {
                    Err("webhook_refused")
                });
            }
        }
        let Some(id) = webhook_uuid(webhook_id) else {
            return Ok(Err("webhook_missing"));
        };
        // A place among the questions in flight first: everything after it (the webhook's row,
        // the question) is bounded by them.
        let Ok(_permit) = self.playback.webhook_asks.try_acquire() else {
            return Ok(Err("webhook_busy"));
        };
        let Some(_slot) = AccountSlot::take(&self.playback.webhook_asks_of, s.account_id) else {
            return Ok(Err("webhook_busy"));
        };
        let scope = Scope {
            account_id: s.account_id,
            environment: s.environment,
        };
        let Some(hook) = self.store.webhook(scope, id).await? else {
            return Ok(Err("webhook_missing"));
        };
        // A Livepeer webhook's `Livepeer-Signature` carries the body's `timestamp` as its `t`.
        let at = self.now_ms();
        let body = serde_json::json!({
            "accessKey": access_key,
            "context": context,
            "playbackId": s.playback_id,
            "timestamp": at,
        })
        .to_string();
        // The whole question (name lookup, connection, answer) within the timeout.
        let asked = tokio::time::timeout(WEBHOOK_TIMEOUT, self.post_to_webhook(&hook, body, at))
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        let allowed = match asked {
            Ok(status) => (200..300).contains(&status),
            Err(e) => {
                tracing::warn!(webhook = %hook.id, error = %e, "playback webhook did not answer");
                // Not remembered: the next viewer asks again.
                return Ok(Err("webhook_unreachable"));
            }
        };
        self.playback
            .webhook_answers
            .insert(answer_key, (allowed, Instant::now()));
        Ok(if allowed {
            Ok(())
        } else {
            Err("webhook_refused")
        })
    }

    /// POSTs `body` to the webhook, signed as its deliveries are and with its endpoint's credential
    /// when it names one (Basic, or an OAuth token: each use audited, as for deliveries); its
    /// status.
    async fn post_to_webhook(
        &self,
        hook: &domain::Webhook,
        body: String,
        at: i64,
    ) -> Result<u16, String> {
        let req = self
            .webhook_post(hook, body, at)
            .await
            .map_err(|(e, _)| e)?;
        let res = req.send().await.map_err(|e| e.without_url().to_string())?;
        Ok(res.status().as_u16())
    }

    /// Checks a `playbackPolicy` and a `public` flag in stream settings as a client sent them:
    /// a webhook policy must name one of the caller's webhooks.
    pub(crate) async fn validate_playback_settings(
        &self,
        scope: Scope,
        settings: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        if let Some(p) = settings.get("public") {
            if !p.is_boolean() && !p.is_null() {
                return Err(Error::Invalid("public must be true or false".into()));
            }
        }
        let Some(policy) = settings.get("playbackPolicy") else {
            return Ok(());
        };
        if policy.is_null() {
            return Ok(());
        }
        let Some(map) = policy.as_object() else {
            return Err(Error::Invalid("playbackPolicy must be an object".into()));
        };
        let map = domain::playback::validate_policy(map)?;
        if let Some(id) = map.get("webhookId").and_then(serde_json::Value::as_str) {
            let found = match webhook_uuid(id) {
                Some(id) => self.store.webhook(scope, id).await?.is_some(),
                None => false,
            };
            if !found {
                return Err(Error::Invalid(format!(
                    "playbackPolicy.webhookId {id:?} is not one of your webhooks"
                )));
            }
        }
        settings.insert("playbackPolicy".into(), serde_json::Value::Object(map));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_holds_at_most_its_share_of_webhook_questions() {
        let of = Default::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let held: Vec<_> = (0..WEBHOOK_ASKS_PER_ACCOUNT)
            .map(|_| AccountSlot::take(&of, a).unwrap())
            .collect();
        assert!(AccountSlot::take(&of, a).is_none(), "a's share is taken");
        assert!(AccountSlot::take(&of, b).is_some(), "b is not held up by a");
        drop(held);
        assert!(AccountSlot::take(&of, a).is_some(), "given back");
        assert!(of.lock().unwrap().is_empty(), "no entry left behind");
    }

    #[test]
    fn the_private_token_is_the_streams_own() {
        let mk = |key: &str| Stream {
            id: Uuid::from_u128(7),
            account_id: Uuid::from_u128(1),
            environment: domain::Environment::Production,
            name: "s".into(),
            stream_key: crypto::SecretString::new(key.into()),
            playback_id: "p".into(),
            record: false,
            suspended: false,
            is_active: false,
            settings: Default::default(),
            restreams: vec![],
            created_by: None,
            created_at: 0,
            updated_at: 0,
            last_seen_at: None,
            deleted_at: None,
        };
        let a = private_token(&mk("k1"));
        assert_eq!(a, private_token(&mk("k1")));
        assert_ne!(a, private_token(&mk("k2")));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("k1"));
    }
}
