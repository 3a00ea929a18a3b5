use std::sync::atomic::Ordering;
use std::sync::Arc;

use uuid::Uuid;

use super::{Services, Verified};
use crypto::{KeySecret, SecretString};
use domain::account::validate_name;
use domain::{Action, Permission, Resource};
use domain::{
    Actor, ApiKey, AuthFailure, Cors, Credits, Environment, Error, KeyInfo, KeyPolicy, Permissions,
    RateLimit, VerifyCode,
};

/// A key may be given only what its creator holds (no escalation through key management).
fn within_reach(actor: &Actor, wanted: Permissions) -> Result<(), Error> {
    let held = actor.permissions();
    if wanted.is_subset_of(held) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "a key cannot be given permissions its creator does not hold".into(),
        ))
    }
}

/// What a caller asks for when creating a key (in the caller's own account).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub environment: Environment,
    pub allowed_origins: Vec<String>,
    pub full_access: bool,
    /// Lifetime in milliseconds from now, if the key should expire.
    pub expires_in_ms: Option<i64>,
    /// Permissions (None: the preset its CORS settings imply), rate limit, credits, meta.
    pub policy: KeyPolicy,
}

/// What `PATCH /sg/v1/keys/{id}` (and `streamgate key update`) may change; None leaves it.
#[derive(Debug, Clone, Default)]
pub struct KeyChange {
    pub name: Option<String>,
    /// `Some(None)` clears the explicit list (back to the CORS preset).
    pub permissions: Option<Option<Vec<String>>>,
    pub cors: Option<(Vec<String>, bool)>,
    /// `Some(None)`: never expires.
    pub expires_at: Option<Option<i64>>,
    /// `Some(None)`: the server's default.
    pub ratelimit: Option<Option<RateLimit>>,
    /// `Some(None)`: unlimited.
    pub credits: Option<Option<Credits>>,
    pub meta: Option<Option<serde_json::Value>>,
}

/// A key just created: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

/// Result of `POST /sg/v1/keys/verify`: the code, and the key only when it is the caller's.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    pub code: VerifyCode,
    pub key: Option<Arc<KeyInfo>>,
}

impl Services {
    /// Creates a key in the caller's account. An API key may only create keys of its own
    /// environment; dashboard users and the operator choose. Audited as `api_key.create`.
    pub async fn create_key(&self, actor: &Actor, req: NewKey) -> Result<CreatedKey, Error> {
        actor.require(Permission(Resource::Keys, Action::Create))?;
        if !actor.spans_environments() && req.environment != actor.environment() {
            return Err(Error::Forbidden(format!(
                "a {} key cannot create {} keys",
                actor.environment(),
                req.environment
            )));
        }
        let name = validate_name("key", &req.name)?;
        let cors = Cors::new(req.allowed_origins, req.full_access)?;
        let account_id = actor.account_id();
        if self.store.account_by_id(account_id).await?.is_none() {
            return Err(Error::NotFound("account"));
        }
        let now = self.now_ms();
        let expires_at = match req.expires_in_ms {
            Some(ms) if ms <= 0 => {
                return Err(Error::Invalid("expiry must be in the future".into()));
            }
            Some(ms) => Some(now.saturating_add(ms)),
            None => None,
        };
        let policy = req.policy;
        within_reach(actor, policy.effective(&cors))?;
        let generated = KeySecret::generate(req.environment);
        let key = ApiKey {
            id: Uuid::now_v7(),
            account_id,
            name,
            environment: req.environment,
            prefix: generated.prefix.clone(),
            cors,
            created_at: now,
            last_used_at: None,
            expires_at,
            revoked_at: None,
            policy,
        };
        self.store.insert_api_key(&key, &generated.hash).await?;
        tracing::info!(key_id = %key.id, account_id = %key.account_id, env = %key.environment, "api key created");
        self.audit_in(
            actor,
            key.account_id,
            key.environment,
            "api_key.create",
            format!("api_key:{}", key.id),
        )
        .await;
        Ok(CreatedKey {
            key,
            secret: generated.secret,
        })
    }

    /// The keys the caller may see: its account's, in its environment unless it spans them
    /// (dashboard users, the operator). Oldest first; revoked ones only when asked for.
    pub async fn list_keys(
        &self,
        actor: &Actor,
        include_revoked: bool,
    ) -> Result<Vec<ApiKey>, Error> {
        actor.require(Permission(Resource::Keys, Action::List))?;
        let environment = (!actor.spans_environments()).then(|| actor.environment());
        let mut keys = self
            .store
            .list_api_keys(actor.account_id(), environment)
            .await?;
        if !include_revoked {
            keys.retain(|k| k.revoked_at.is_none());
        }
        Ok(keys)
    }

    /// A key in the caller's scope (see `list_keys`); another's reads as not found.
    async fn key_in_scope(&self, actor: &Actor, id: Uuid) -> Result<ApiKey, Error> {
        match self.store.api_key_by_id(id).await? {
            Some(k)
                if actor.is_operator()
                    || (k.account_id == actor.account_id()
                        && (actor.spans_environments()
                            || k.environment == actor.environment())) =>
            {
                Ok(k)
            }
            _ => Err(Error::NotFound("api key")),
        }
    }

    /// A live (not revoked) key in the caller's scope.
    pub async fn get_key(&self, actor: &Actor, id: Uuid) -> Result<ApiKey, Error> {
        actor.require(Permission(Resource::Keys, Action::Read))?;
        self.key_in_scope(actor, id)
            .await
            .and_then(|k| match k.revoked_at {
                None => Ok(k),
                Some(_) => Err(Error::NotFound("api key")),
            })
    }

    /// Revokes a key in the caller's scope (the operator's: any key). Every instance refuses it
    /// within a second; its refresh tokens die with it. Audited as `api_key.revoke`.
    pub async fn revoke_key(&self, actor: &Actor, id: Uuid) -> Result<ApiKey, Error> {
        actor.require(Permission(Resource::Keys, Action::Delete))?;
        self.key_in_scope(actor, id).await?;
        let key = self
            .store
            .revoke_api_key(id, self.now_ms())
            .await?
            .ok_or(Error::NotFound("api key"))?;
        // Its refresh tokens die with it (its access tokens are refused by the key check).
        self.store.revoke_refresh_for_key(id, self.now_ms()).await?;
        self.apply_changes().await;
        tracing::info!(key_id = %key.id, account_id = %key.account_id, "api key revoked");
        self.audit_in(
            actor,
            key.account_id,
            key.environment,
            "api_key.revoke",
            format!("api_key:{}", key.id),
        )
        .await;
        Ok(key)
    }

    /// Changes a live key of the caller's scope. A key can never be given more than the caller
    /// holds. Every instance honours the change within a second (the change log). Audited as
    /// `api_key.update`.
    pub async fn update_key(
        &self,
        actor: &Actor,
        id: Uuid,
        change: KeyChange,
    ) -> Result<ApiKey, Error> {
        actor.require(Permission(Resource::Keys, Action::Update))?;
        // In the caller's scope; then changed as it is when written (under its row's lock), so
        // concurrent changes (a rename and new permissions, say) both hold, and the reach check
        // sees what will be stored.
        let scoped = self.get_key(actor, id).await?;
        let name = change
            .name
            .as_deref()
            .map(|n| validate_name("key", n))
            .transpose()?;
        let cors = change
            .cors
            .map(|(origins, full)| Cors::new(origins, full))
            .transpose()?;
        let permissions = change
            .permissions
            .map(|p| p.map(|l| Permissions::parse(&l)).transpose())
            .transpose()?;
        if let Some(Some(at)) = change.expires_at {
            if at <= self.now_ms() {
                return Err(Error::Invalid("expiresAt must be in the future".into()));
            }
        }
        let meta = change
            .meta
            .map(|m| m.as_ref().map(KeyPolicy::check_meta).transpose())
            .transpose()?;
        let set_credits = change.credits.is_some();
        let edit = |mut key: ApiKey| {
            if let Some(name) = &name {
                key.name = name.clone();
            }
            if let Some(cors) = &cors {
                key.cors = cors.clone();
            }
            if let Some(p) = permissions {
                key.policy.permissions = p;
            }
            if let Some(e) = change.expires_at {
                key.expires_at = e;
            }
            if let Some(r) = change.ratelimit {
                key.policy.ratelimit = r;
            }
            if let Some(c) = change.credits {
                key.policy.credits = c;
            }
            if let Some(m) = &meta {
                key.policy.meta = m.clone();
            }
            within_reach(actor, key.policy.effective(&key.cors))?;
            Ok(key)
        };
        let key = self
            .store
            .update_api_key(id, scoped.account_id, set_credits, &edit)
            .await?
            .ok_or(Error::NotFound("api key"))?;
        self.apply_changes().await;
        self.audit_by(actor, "api_key.update", format!("api_key:{}", key.id))
            .await;
        Ok(key)
    }

    /// A new key with the same settings as `id` (name, environment, CORS, permissions, limits,
    /// credits, meta); the old one keeps working for `grace_ms` (0: refused at once, on every
    /// instance within a second). Audited as `api_key.reroll`.
    pub async fn reroll_key(
        &self,
        actor: &Actor,
        id: Uuid,
        grace_ms: i64,
    ) -> Result<CreatedKey, Error> {
        actor.require(Permission(Resource::Keys, Action::Create))?;
        actor.require(Permission(Resource::Keys, Action::Update))?;
        if !(0..=30 * 86_400_000).contains(&grace_ms) {
            return Err(Error::Invalid(
                "gracePeriodSeconds must be 0 to 2592000 (30 days)".into(),
            ));
        }
        let old = self.get_key(actor, id).await?;
        let now = self.now_ms();
        let generated = KeySecret::generate(old.environment);
        let new = ApiKey {
            id: Uuid::now_v7(),
            prefix: generated.prefix.clone(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            ..old.clone()
        };
        let done = self
            .store
            .reroll_api_key(old.id, now + grace_ms, grace_ms == 0, &new, &generated.hash)
            .await?;
        if !done {
            return Err(Error::NotFound("api key"));
        }
        if grace_ms == 0 {
            self.store.revoke_refresh_for_key(old.id, now).await?;
        }
        self.apply_changes().await;
        self.audit_by(
            actor,
            "api_key.reroll",
            format!("api_key:{} -> api_key:{}", old.id, new.id),
        )
        .await;
        Ok(CreatedKey {
            key: new,
            secret: generated.secret,
        })
    }

    /// Inserts generated keys (hashes only) in bulk, without change-log entries: seeding for
    /// benchmarks (`streamgate dev seed-keys`). The operator only.
    pub async fn seed_keys(&self, actor: &Actor, keys: &[(ApiKey, [u8; 32])]) -> Result<(), Error> {
        crate::accounts::require_operator(actor)?;
        Ok(self.store.insert_api_keys_bulk(keys).await?)
    }

    /// Authenticates a presented key: the `Actor` of a valid key, or why not.
    /// `origin`: the request's `Origin` header, if a browser sent it.
    pub async fn authenticate(
        &self,
        presented: &str,
        origin: Option<&str>,
    ) -> Result<Actor, Error> {
        let verified = self.verifier.verify(presented).await?;
        self.admit(verified, origin).await
    }

    /// The caller of a verified key, or why not, in the order every dialect shares: the key is
    /// valid, used from an origin it allows (backend-only keys allow none), within its rate limit,
    /// with credits left. A known key that is refused is audited; an admitted request is counted
    /// (and spends a credit). Shared by API keys and access tokens.
    pub(crate) async fn admit(
        &self,
        verified: Verified,
        origin: Option<&str>,
    ) -> Result<Actor, Error> {
        match verified {
            Verified::Valid(key) => {
                let now = self.now_ms();
                if let Some(o) = origin {
                    if !key.cors.allows_origin(o) {
                        self.usage.record_failure(&key, now);
                        return Err(Error::OriginRefused(o.chars().take(200).collect()));
                    }
                }
                let limit = key.ratelimit.unwrap_or(self.settings.rate_limit);
                let counters = self.verifier.counters_of(&key);
                let decision = counters.take(limit, now);
                self.rate_sync.touched(key.id, counters);
                if !decision.allowed {
                    self.usage.record_failure(&key, now);
                    return Err(Error::RateLimited(decision));
                }
                if let Some(credits) = key.credits {
                    let spent = counters.spent.fetch_add(1, Ordering::AcqRel) + 1;
                    if spent > credits {
                        counters.spent.fetch_sub(1, Ordering::AcqRel);
                        self.usage.record_failure(&key, now);
                        return Err(Error::UsageExceeded);
                    }
                }
                self.usage.record(&key, now);
                let mut actor = Actor::of_key(key);
                actor.rate = Some(decision);
                Ok(actor)
            }
            Verified::Revoked(key) => {
                self.usage.record_failure(&key, self.now_ms());
                self.audit_auth_failure(&key, "revoked").await;
                Err(Error::Unauthenticated(AuthFailure::Revoked))
            }
            Verified::Expired(key) => {
                self.usage.record_failure(&key, self.now_ms());
                self.audit_auth_failure(&key, "expired").await;
                Err(Error::Unauthenticated(AuthFailure::Expired))
            }
            Verified::NotFound => Err(Error::Unauthenticated(AuthFailure::NotFound)),
            Verified::Malformed => Err(Error::Unauthenticated(AuthFailure::Malformed)),
        }
    }

    /// Verification on behalf of another service (`POST /sg/v1/keys/verify`), through the same
    /// admission as a request (rate limit, credits), optionally for a permission. Keys of other
    /// accounts read as NOT_FOUND.
    pub async fn verify_key_for(
        &self,
        actor: &Actor,
        presented: &str,
        permission: Option<&str>,
    ) -> Result<VerifyOutcome, Error> {
        actor.require(Permission(Resource::Keys, Action::Use))?;
        let wanted = permission.map(str::parse::<Permission>).transpose()?;
        let verified = self.verifier.verify(presented).await?;
        let key = match verified.key() {
            Some(k) if k.account_id != actor.account_id() => {
                return Ok(VerifyOutcome {
                    code: VerifyCode::NotFound,
                    key: None,
                })
            }
            k => k.cloned(),
        };
        if verified.code() != VerifyCode::Valid {
            return Ok(VerifyOutcome {
                code: verified.code(),
                key,
            });
        }
        let code = match self.admit(verified, None).await {
            Ok(a) if wanted.is_some_and(|p| !a.permissions().allows(p)) => {
                VerifyCode::InsufficientPermissions
            }
            Ok(_) => VerifyCode::Valid,
            Err(Error::RateLimited(_)) => VerifyCode::RateLimited,
            Err(Error::UsageExceeded) => VerifyCode::UsageExceeded,
            Err(Error::Unauthenticated(AuthFailure::Revoked)) => VerifyCode::Revoked,
            Err(Error::Unauthenticated(AuthFailure::Expired)) => VerifyCode::Expired,
            Err(Error::Unauthenticated(_)) => VerifyCode::NotFound,
            Err(e) => return Err(e),
        };
        Ok(VerifyOutcome { code, key })
    }
}
