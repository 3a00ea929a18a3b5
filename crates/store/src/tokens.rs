//! Signing keys, refresh tokens and the audit log, as the store keeps them.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::AuditEvent;

/// Change-log kind recorded when a signing key is added.
pub const SIGNING_KEY_ADDED: &str = "signing_key.added";
/// A refresh token was replayed: every instance refuses the family's access tokens from now on.
pub const TOKEN_FAMILY_REVOKED: &str = "token_family.revoked";

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

use crate::rows::uuid;

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

pub const AUDIT_COLUMNS: &str =
    "id, account_id, actor, action, object, outcome, detail, at, environment";

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
    environment: Option<String>,
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
            environment: self
                .environment
                .as_deref()
                .map(domain::Environment::parse)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    }
}

/// Access-token signing keys and refresh tokens.
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
    /// Token families revoked since `since` (ms): their access tokens may still be unexpired.
    async fn revoked_families_since(&self, since: i64) -> StoreResult<Vec<String>>;
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn insert_signing_key(
        &self,
        k: &crate::tokens::SigningKeyRecord,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute("INSERT INTO signing_keys (kid, public_key, private_sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)", crate::args![&k.kid, &k.public_key, &k.private_sealed, k.created_at, k.retired_at]).await
            .map_err(|e| crate::map_unique(e, "signing key"))?;
        // Other instances reload their keyring when they see this.
        tx.record_change(crate::tokens::SIGNING_KEY_ADDED, &k.kid, None, k.created_at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn signing_keys(&self) -> crate::StoreResult<Vec<crate::tokens::SigningKeyRecord>> {
        Ok(self.db.fetch_all::<crate::tokens::SigningKeyRow>("SELECT kid, public_key, private_sealed, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid DESC", crate::db::Args::default()).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect())
    }

    async fn retire_signing_keys_except(&self, kid: &str, at: i64) -> crate::StoreResult<u64> {
        let done = self
            .db
            .execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL",
                crate::args![at, kid],
            )
            .await?;
        Ok(done)
    }

    async fn insert_refresh(&self, r: &crate::tokens::RefreshRecord) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO refresh_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    crate::tokens::REFRESH_COLUMNS
                ),
                crate::args![
                    r.id.to_string(),
                    r.family_id.to_string(),
                    r.api_key_id.to_string(),
                    &r.token_hash,
                    r.issued_at,
                    r.expires_at,
                    r.used_at,
                    r.revoked_at
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "refresh token"))?;
        Ok(())
    }

    async fn use_refresh(
        &self,
        token_hash: &[u8],
        at: i64,
    ) -> crate::StoreResult<crate::tokens::RefreshUse> {
        let mut tx = self.db.begin().await?;
        // The write comes first: it takes the row (or SQLite's) write lock, so two
        // concurrent uses of one token cannot both see it unused.
        let spent = tx.execute("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL", crate::args![at, token_hash]).await?;
        let rec = tx
            .fetch_optional::<crate::tokens::RefreshRow>(
                &format!(
                    "SELECT {} FROM refresh_tokens WHERE token_hash = $1",
                    crate::tokens::REFRESH_COLUMNS
                ),
                crate::args![token_hash],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()?;
        let outcome = match rec {
            None => crate::tokens::RefreshUse::Unknown,
            Some(r) if spent == 1 => crate::tokens::RefreshUse::Used(r),
            Some(r) => {
                tx.execute("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL", crate::args![at, r.family_id.to_string()]).await?;
                tx.record_change(TOKEN_FAMILY_REVOKED, &r.family_id.to_string(), None, at)
                    .await?;
                crate::tokens::RefreshUse::Replayed(r)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_refresh_for_key(
        &self,
        api_key_id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<u64> {
        let done = self.db.execute("UPDATE refresh_tokens SET revoked_at = $1 WHERE api_key_id = $2 AND revoked_at IS NULL", crate::args![at, api_key_id.to_string()]).await?;
        Ok(done)
    }

    async fn revoked_families_since(&self, since: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = self
            .db
            .fetch_all(
                "SELECT DISTINCT family_id FROM refresh_tokens WHERE revoked_at >= $1",
                crate::args![since],
            )
            .await?;
        Ok(rows.into_iter().map(|(f,)| f).collect())
    }
}
