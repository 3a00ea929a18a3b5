use std::sync::Arc;

use uuid::Uuid;

use super::{Services, Verified};
use crypto::{KeySecret, SecretString};
use domain::account::validate_name;
use domain::{Actor, ApiKey, AuthFailure, Cors, Environment, Error, KeyInfo, VerifyCode};

/// What a caller asks for when creating a key (in the caller's own account).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub environment: Environment,
    pub allowed_origins: Vec<String>,
    pub full_access: bool,
    /// Lifetime in milliseconds from now, if the key should expire.
    pub expires_in_ms: Option<i64>,
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
        };
        self.store.insert_api_key(&key, &generated.hash).await?;
        tracing::info!(key_id = %key.id, account_id = %key.account_id, env = %key.environment, "api key created");
        self.audit_by(actor, "api_key.create", format!("api_key:{}", key.id))
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
        self.audit(domain::AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(key.account_id),
            actor: actor.label(),
            action: "api_key.revoke".into(),
            object: format!("api_key:{}", key.id),
            outcome: "ok".into(),
            detail: String::new(),
            at: self.now_ms(),
        })
        .await;
        Ok(key)
    }

    /// Inserts generated keys (hashes only) in bulk, without change-log entries: seeding for
    /// benchmarks (`streamgate dev seed-keys`). The operator only.
    pub async fn seed_keys(&self, actor: &Actor, keys: &[(ApiKey, [u8; 32])]) -> Result<(), Error> {
        crate::accounts::require_operator(actor)?;
        Ok(self.store.insert_api_keys_bulk(keys).await?)
    }

    /// Authenticates a presented key: the `Actor` of a valid key, or why not.
    pub async fn authenticate(&self, presented: &str) -> Result<Actor, Error> {
        let verified = self.verifier.verify(presented).await?;
        self.admit(verified).await
    }

    /// The caller of a verified key, or why not. A known key that is refused is audited; a valid
    /// one's use is recorded. Shared by API keys and access tokens.
    pub(crate) async fn admit(&self, verified: Verified) -> Result<Actor, Error> {
        match verified {
            Verified::Valid(key) => {
                self.usage.record(&key, self.now_ms());
                Ok(Actor::of_key(key))
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

    /// Verification on behalf of another service. Keys of other accounts read as NOT_FOUND.
    pub async fn verify_for(&self, actor: &Actor, presented: &str) -> Result<VerifyOutcome, Error> {
        let verified = self.verifier.verify(presented).await?;
        let outcome = match verified.key() {
            Some(k) if k.account_id != actor.account_id() => VerifyOutcome {
                code: VerifyCode::NotFound,
                key: None,
            },
            key => VerifyOutcome {
                code: verified.code(),
                key: key.cloned(),
            },
        };
        if let (VerifyCode::Valid, Some(k)) = (outcome.code, &outcome.key) {
            self.usage.record(k, self.now_ms());
        }
        Ok(outcome)
    }
}
