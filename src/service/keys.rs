use std::sync::Arc;

use uuid::Uuid;

use super::{Services, Verified};
use crate::crypto::{KeySecret, SecretString};
use crate::domain::account::validate_name;
use crate::domain::{Actor, ApiKey, AuthFailure, Cors, Environment, Error, KeyInfo, VerifyCode};

/// What a caller asks for when creating a key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub account_id: Uuid,
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
    pub async fn create_key(&self, req: NewKey) -> Result<CreatedKey, Error> {
        let name = validate_name("key", &req.name)?;
        let cors = Cors::new(req.allowed_origins, req.full_access)?;
        if self.store.account_by_id(req.account_id).await?.is_none() {
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
            account_id: req.account_id,
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
        Ok(CreatedKey {
            key,
            secret: generated.secret,
        })
    }

    pub async fn list_keys(&self, account_id: Uuid) -> Result<Vec<ApiKey>, Error> {
        Ok(self.store.list_api_keys(account_id).await?)
    }

    /// Revokes a key. With `scope`, a key of another account reads as not found.
    pub async fn revoke_key(&self, scope: Option<Uuid>, id: Uuid) -> Result<ApiKey, Error> {
        let existing = self.store.api_key_by_id(id).await?;
        match existing {
            Some(k) if scope.is_none_or(|a| a == k.account_id) => {}
            _ => return Err(Error::NotFound("api key")),
        }
        let key = self
            .store
            .revoke_api_key(id, self.now_ms())
            .await?
            .ok_or(Error::NotFound("api key"))?;
        // Its refresh tokens die with it (its access tokens are refused by the key check).
        self.store.revoke_refresh_for_key(id, self.now_ms()).await?;
        self.apply_changes().await;
        tracing::info!(key_id = %key.id, account_id = %key.account_id, "api key revoked");
        Ok(key)
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
