//! Disposable access tokens (EdDSA JWTs) and single-use refresh tokens, as api.video hands them
//! out: `POST /auth/api-key` trades an API key for a pair, `POST /auth/refresh` trades a refresh
//! token for a new pair. A replayed refresh token revokes its whole family (RFC 9700 §4.14).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::RwLock;
use uuid::Uuid;

use super::{Services, Verified};
use crypto::{jwt, random_base62, sha256, Aad, SecretString};
use domain::AuditEvent;
use domain::{Action, Permission, Resource};
use domain::{Actor, AuthFailure, Error};
use store::{RefreshRecord, RefreshUse, SigningKeyRecord};

const API_SCOPE: &str = "api";
/// Publish tokens for MediaMTX's JWT mode live this long.
pub const PUBLISH_TOKEN_TTL_MS: i64 = 300_000;
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3_600_000;
/// How often a server re-reads the signing keys (to pick up a rotation made by the CLI).
const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// Refresh tokens: `rt_` + 43 base62 characters (≈ 256 bits).
const REFRESH_PREFIX: &str = "rt_";

/// A pair as `/auth/api-key` and `/auth/refresh` return it.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    /// Seconds.
    pub expires_in: i64,
}

struct Ring {
    signing: Option<(String, SigningKey)>,
    verifying: HashMap<String, VerifyingKey>,
    loaded_at: Option<Instant>,
    /// The verifier's signing epoch when loaded: a rotation anywhere makes it stale.
    epoch: u64,
}

pub struct TokenKeys {
    ring: RwLock<Ring>,
    access_ttl_ms: i64,
    /// Tokens whose signature was checked, by SHA-256: a repeat skips the Ed25519 verification
    /// (the key's state is still checked on every request).
    verified: quick_cache::sync::Cache<[u8; 32], Arc<jwt::Claims>>,
}

/// How many verified tokens are remembered.
const VERIFIED_CAPACITY: usize = 100_000;

impl TokenKeys {
    /// Keys not loaded yet; access tokens live `access_ttl` (at least a second).
    pub fn new(access_ttl: std::time::Duration) -> Self {
        let ttl_ms = i64::try_from(access_ttl.as_millis()).unwrap_or(i64::MAX);
        Self {
            ring: RwLock::new(Ring {
                signing: None,
                verifying: HashMap::new(),
                loaded_at: None,
                epoch: 0,
            }),
            access_ttl_ms: ttl_ms.max(1_000),
            verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY),
        }
    }
}

impl TokenKeys {
    pub fn access_ttl_ms(&self) -> i64 {
        self.access_ttl_ms
    }
}

fn signing_aad(kid: &str) -> Aad<'_> {
    Aad {
        table: "signing_keys",
        id: kid,
        field: "private_key",
    }
}

impl Services {
    /// Re-reads the signing keys from the store; creates the first one if there is none.
    async fn load_signing_keys(&self, ring: &mut Ring) -> Result<(), Error> {
        let epoch = self.verifier.signing_epoch();
        let mut records = self.store.signing_keys().await?;
        if records.is_empty() {
            self.add_signing_key().await?;
            records = self.store.signing_keys().await?;
        }
        let now = self.now_ms();
        let ttl = self.tokens.access_ttl_ms();
        ring.verifying.clear();
        ring.signing = None;
        for r in &records {
            // A retired key verifies the tokens it signed until they can all have expired.
            if r.retired_at.is_some_and(|at| at + ttl < now) {
                continue;
            }
            let Ok(bytes) = <[u8; 32]>::try_from(r.public_key.as_slice()) else {
                continue;
            };
            if let Ok(vk) = VerifyingKey::from_bytes(&bytes) {
                ring.verifying.insert(r.kid.clone(), vk);
            }
            if ring.signing.is_none() && r.retired_at.is_none() {
                let private = self
                    .vault
                    .open(&signing_aad(&r.kid), &r.private_sealed)
                    .map_err(|e| Error::Internal(format!("signing key {}: {e}", r.kid)))?;
                let raw = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    private.expose(),
                )
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| Error::Internal(format!("signing key {}: bad length", r.kid)))?;
                ring.signing = Some((r.kid.clone(), SigningKey::from_bytes(&raw)));
            }
        }
        ring.loaded_at = Some(Instant::now());
        ring.epoch = epoch;
        Ok(())
    }

    /// Adds a new signing key and retires the others (they keep verifying until their tokens
    /// expire). Returns the new key id.
    pub async fn rotate_signing_key(&self, actor: &Actor) -> Result<String, Error> {
        crate::accounts::require_operator(actor)?;
        let kid = self.add_signing_key().await?;
        self.audit_as(
            actor,
            None,
            "signing_key.rotate",
            format!("signing_key:{kid}"),
        )
        .await;
        // This process signs with the new key from now on.
        self.tokens.ring.write().await.loaded_at = None;
        tracing::info!(kid = %kid, "signing key rotated");
        Ok(kid)
    }

    async fn add_signing_key(&self) -> Result<String, Error> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let kid = format!("sg-{}", Uuid::now_v7().simple());
        let private = zeroize::Zeroizing::new(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            key.to_bytes(),
        ));
        let now = self.now_ms();
        self.store
            .insert_signing_key(&SigningKeyRecord {
                kid: kid.clone(),
                public_key: key.verifying_key().to_bytes().to_vec(),
                private_sealed: self.vault.seal(&signing_aad(&kid), &private),
                created_at: now,
                retired_at: None,
            })
            .await?;
        self.store.retire_signing_keys_except(&kid, now).await?;
        Ok(kid)
    }

    fn ring_is_fresh(&self, ring: &Ring) -> bool {
        ring.epoch == self.verifier.signing_epoch()
            && ring.loaded_at.is_some_and(|t| t.elapsed() < RELOAD_EVERY)
    }

    async fn ring_fresh(&self) -> Result<tokio::sync::RwLockReadGuard<'_, Ring>, Error> {
        {
            let ring = self.tokens.ring.read().await;
            if self.ring_is_fresh(&ring) {
                return Ok(ring);
            }
        }
        let mut ring = self.tokens.ring.write().await;
        if !self.ring_is_fresh(&ring) {
            self.load_signing_keys(&mut ring).await?;
        }
        Ok(ring.downgrade())
    }

    /// The public keys, as `/.well-known/jwks.json` serves them.
    pub async fn jwks(&self) -> Result<serde_json::Value, Error> {
        let ring = self.ring_fresh().await?;
        let mut keys: Vec<_> = ring.verifying.iter().collect();
        keys.sort_by(|a, b| b.0.cmp(a.0));
        Ok(serde_json::json!({
            "keys": keys.into_iter().map(|(kid, vk)| jwt::jwk(kid, vk)).collect::<Vec<_>>()
        }))
    }

    async fn issue_pair(&self, actor: &Actor, family: Uuid) -> Result<TokenPair, Error> {
        let now = self.now_ms();
        let ttl = self.tokens.access_ttl_ms();
        let access = {
            let ring = self.ring_fresh().await?;
            let (kid, key) = ring
                .signing
                .as_ref()
                .ok_or_else(|| Error::Internal("no signing key".into()))?;
            let claims = jwt::Claims {
                sub: actor.key_id().to_string(),
                acct: actor.account_id().to_string(),
                env: actor.environment().as_str().to_string(),
                scope: API_SCOPE.into(),
                iat: now / 1000,
                exp: (now + ttl) / 1000,
                jti: Uuid::now_v7().to_string(),
                fam: Some(family.to_string()),
                mediamtx_permissions: None,
            };
            jwt::sign(kid, key, &claims)
        };
        let refresh = format!("{REFRESH_PREFIX}{}", random_base62(43));
        self.store
            .insert_refresh(&RefreshRecord {
                id: Uuid::now_v7(),
                family_id: family,
                api_key_id: actor.key_id(),
                token_hash: sha256(refresh.as_bytes()).to_vec(),
                issued_at: now,
                expires_at: now + REFRESH_TTL_MS,
                used_at: None,
                revoked_at: None,
            })
            .await?;
        Ok(TokenPair {
            access_token: SecretString::new(access),
            refresh_token: SecretString::new(refresh),
            expires_in: ttl / 1000,
        })
    }

    /// A short-lived token MediaMTX verifies by itself (`authJWTJWKS` = our JWKS): it may
    /// publish the stream at `live/<playbackId>`, nothing else. Returns the token and the path.
    pub async fn issue_publish_token(
        &self,
        actor: &Actor,
        stream_id: Uuid,
    ) -> Result<(SecretString, String, i64), Error> {
        actor.require(Permission(Resource::Streams, Action::Use))?;
        let stream = self.get_stream(actor, stream_id).await?;
        if stream.suspended {
            return Err(Error::Forbidden("the stream is suspended".into()));
        }
        let path = format!("live/{}", stream.playback_id);
        let now = self.now_ms();
        let ring = self.ring_fresh().await?;
        let (kid, key) = ring
            .signing
            .as_ref()
            .ok_or_else(|| Error::Internal("no signing key".into()))?;
        let claims = jwt::Claims {
            sub: stream.id.to_string(),
            acct: stream.account_id.to_string(),
            env: stream.environment.as_str().to_string(),
            scope: "publish".into(),
            iat: now / 1000,
            exp: (now + PUBLISH_TOKEN_TTL_MS) / 1000,
            jti: Uuid::now_v7().to_string(),
            fam: None,
            mediamtx_permissions: Some(vec![jwt::MediamtxPermission {
                action: "publish".into(),
                path: path.clone(),
            }]),
        };
        let token = SecretString::new(jwt::sign(kid, key, &claims));
        drop(ring);
        self.audit_by(
            actor,
            "stream.publish_token",
            format!("stream:{}", stream.id),
        )
        .await;
        Ok((token, path, PUBLISH_TOKEN_TTL_MS / 1000))
    }

    /// `POST /auth/api-key`: a fresh token family for a valid API key.
    pub async fn issue_tokens(
        &self,
        api_key: &str,
        origin: Option<&str>,
    ) -> Result<TokenPair, Error> {
        let actor = self.authenticate(api_key, origin).await?;
        self.issue_pair(&actor, Uuid::now_v7()).await
    }

    /// `POST /auth/refresh`: spends the refresh token and returns a new pair in its family.
    pub async fn refresh_tokens(&self, refresh_token: &str) -> Result<TokenPair, Error> {
        let refused = Err(Error::Unauthenticated(AuthFailure::NotFound));
        if !refresh_token.starts_with(REFRESH_PREFIX) || refresh_token.len() > 128 {
            return refused;
        }
        let now = self.now_ms();
        let rec = match self
            .store
            .use_refresh(&sha256(refresh_token.as_bytes()), now)
            .await?
        {
            RefreshUse::Used(rec) => rec,
            RefreshUse::Replayed(rec) => {
                let key = self.store.api_key_by_id(rec.api_key_id).await?;
                self.audit(AuditEvent {
                    id: Uuid::now_v7(),
                    account_id: key.as_ref().map(|k| k.account_id),
                    actor: format!("key:{}", rec.api_key_id),
                    action: "refresh_token.reuse".into(),
                    object: format!("token_family:{}", rec.family_id),
                    outcome: "family_revoked".into(),
                    detail: "a spent or revoked refresh token was presented again; every token of its family is now revoked".into(),
                    at: now,
                    environment: key.as_ref().map(|k| k.environment),
                })
                .await;
                tracing::warn!(family = %rec.family_id, "refresh token reuse: family revoked");
                // Its access tokens die with it, here at once and elsewhere through the log.
                self.apply_changes().await;
                return Err(Error::Unauthenticated(AuthFailure::Revoked));
            }
            RefreshUse::Unknown => return refused,
        };
        if rec.expires_at <= now {
            return Err(Error::Unauthenticated(AuthFailure::Expired));
        }
        let actor = match self.verifier.verify_id(rec.api_key_id).await? {
            Verified::Valid(key) => Actor::of_key(key),
            Verified::Revoked(_) => return Err(Error::Unauthenticated(AuthFailure::Revoked)),
            Verified::Expired(_) => return Err(Error::Unauthenticated(AuthFailure::Expired)),
            _ => return refused,
        };
        self.issue_pair(&actor, rec.family_id).await
    }

    /// The caller behind an access token: a valid signature by a known key, not expired, and
    /// its API key still valid now (so revoking the key kills its tokens at once).
    pub async fn authenticate_token(
        &self,
        token: &str,
        origin: Option<&str>,
    ) -> Result<Actor, Error> {
        let hash = sha256(token.as_bytes());
        let claims = match self.tokens.verified.get(&hash) {
            Some(c) => c,
            None => {
                let c = Arc::new(self.check_signature(token).await?);
                self.tokens.verified.insert(hash, c.clone());
                c
            }
        };
        if claims.exp * 1000 <= self.now_ms() {
            self.tokens.verified.remove(&hash);
            return Err(Error::Unauthenticated(AuthFailure::Expired));
        }
        // A publish token is for a media server, not for the API.
        if claims.scope != API_SCOPE {
            return Err(Error::Unauthenticated(AuthFailure::NotFound));
        }
        // A family whose refresh token was replayed: every token of it, the thief's included.
        if claims
            .fam
            .as_deref()
            .is_some_and(|f| self.verifier.family_revoked(f))
        {
            return Err(Error::Unauthenticated(AuthFailure::Revoked));
        }
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| Error::Unauthenticated(AuthFailure::Malformed))?;
        let verified = match self.verifier.verify_id(id).await? {
            // A valid key of another account than the token names: no such caller.
            Verified::Valid(key) if key.account_id.to_string() != claims.acct => Verified::NotFound,
            Verified::Malformed => Verified::NotFound,
            v => v,
        };
        self.admit(verified, origin).await
    }

    /// A token signed by a key of the ring (reloaded once if its `kid` is new to this process).
    async fn check_signature(&self, token: &str) -> Result<jwt::Claims, Error> {
        let malformed = || Error::Unauthenticated(AuthFailure::Malformed);
        let kid = jwt::kid_of(token).map_err(|_| malformed())?;
        let vk = {
            let ring = self.ring_fresh().await?;
            ring.verifying.get(&kid).copied()
        };
        let vk = match vk {
            Some(vk) => vk,
            None => {
                // Perhaps rotated by another process since the last load.
                let mut ring = self.tokens.ring.write().await;
                if ring
                    .loaded_at
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(1))
                {
                    self.load_signing_keys(&mut ring).await?;
                }
                *ring
                    .verifying
                    .get(&kid)
                    .ok_or(Error::Unauthenticated(AuthFailure::NotFound))?
            }
        };
        jwt::verify(token, &vk).map_err(|_| Error::Unauthenticated(AuthFailure::NotFound))
    }
}
