//! Signing keys, refresh tokens and the audit log, as the store keeps them.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::AuditEvent;

/// Change-log kind recorded when a signing key is added.
pub const SIGNING_KEY_ADDED: &str = "signing_key.added";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub public_key: Vec<u8>,
    /// Sealed by the vault.
    pub private_sealed: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub id: Uuid,
    pub family_id: Uuid,
    pub api_key_id: Uuid,
    pub token_hash: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What happened when a refresh token was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// First use: the token is now spent; here is its record.
    Used(RefreshRecord),
    /// Already spent or revoked: a replay. The family has now been revoked.
    Replayed(RefreshRecord),
    Unknown,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()>;
    /// Every signing key, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Retires every key but `kid` that is not retired yet.
    async fn retire_signing_keys_except(&self, kid: &str, at: i64) -> StoreResult<u64>;

    async fn insert_refresh(&self, r: &RefreshRecord) -> StoreResult<()>;
    /// Spends a refresh token atomically; a second use revokes its family (and says so).
    async fn use_refresh(&self, token_hash: &[u8], at: i64) -> StoreResult<RefreshUse>;
    /// Revokes every live refresh token of an API key.
    async fn revoke_refresh_for_key(&self, api_key_id: Uuid, at: i64) -> StoreResult<u64>;

    async fn list_audit(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Newest first; `account: None` = every account; only events at or after `since` (ms).
    async fn query_audit(
        &self,
        account: Option<Uuid>,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}

fn uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

#[derive(sqlx::FromRow)]
pub struct SigningKeyRow {
    kid: String,
    public_key: Vec<u8>,
    private_sealed: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl SigningKeyRow {
    pub fn into_record(self) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: self.kid,
            public_key: self.public_key,
            private_sealed: self.private_sealed,
            created_at: self.created_at,
            retired_at: self.retired_at,
        }
    }
}

pub const REFRESH_COLUMNS: &str =
    "id, family_id, api_key_id, token_hash, issued_at, expires_at, used_at, revoked_at";

#[derive(sqlx::FromRow)]
pub struct RefreshRow {
    id: String,
    family_id: String,
    api_key_id: String,
    token_hash: Vec<u8>,
    issued_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl RefreshRow {
    pub fn into_record(self) -> StoreResult<RefreshRecord> {
        Ok(RefreshRecord {
            id: uuid(&self.id)?,
            family_id: uuid(&self.family_id)?,
            api_key_id: uuid(&self.api_key_id)?,
            token_hash: self.token_hash,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
            revoked_at: self.revoked_at,
        })
    }
}

pub const AUDIT_COLUMNS: &str = "id, account_id, actor, action, object, outcome, detail, at";

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    id: String,
    account_id: Option<String>,
    actor: String,
    action: String,
    object: String,
    outcome: String,
    detail: String,
    at: i64,
}

impl AuditRow {
    pub fn into_record(self) -> StoreResult<AuditEvent> {
        Ok(AuditEvent {
            id: uuid(&self.id)?,
            account_id: self.account_id.as_deref().map(uuid).transpose()?,
            actor: self.actor,
            action: self.action,
            object: self.object,
            outcome: self.outcome,
            detail: self.detail,
            at: self.at,
        })
    }
}
