//! Ingest tokens (media servers' credentials for the hooks): only their hashes, never a secret.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};
use domain::IngestToken;

/// The change-log kind of a token created or revoked: every instance drops what it cached of it.
pub const INGEST_TOKEN_CHANGED: &str = "ingest_token.changed";

/// Ingest tokens, looked up by the SHA-256 of their secret.
#[async_trait]
pub trait IngestTokenStore: Send + Sync {
    /// Inserts the token and records a change (so a cached "unknown" is dropped everywhere).
    async fn insert_ingest_token(&self, t: &IngestToken, secret_hash: &[u8; 32])
        -> StoreResult<()>;
    async fn ingest_token_by_hash(
        &self,
        secret_hash: &[u8; 32],
    ) -> StoreResult<Option<IngestToken>>;
    /// Every token, revoked ones too; oldest first.
    async fn list_ingest_tokens(&self) -> StoreResult<Vec<IngestToken>>;
    /// Marks the token revoked (if it was not already) and records a change, in one transaction.
    /// Returns the token as it now is; None if there is no such token.
    async fn revoke_ingest_token(&self, id: Uuid, at: i64) -> StoreResult<Option<IngestToken>>;
    /// Writes back batched `last_used_at` values (never moving one backwards).
    async fn touch_ingest_tokens(&self, used: &[(Uuid, i64)]) -> StoreResult<()>;
}

const COLUMNS: &str = "id, name, created_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
struct IngestTokenRow {
    id: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl IngestTokenRow {
    fn into_domain(self) -> StoreResult<IngestToken> {
        Ok(IngestToken {
            id: crate::rows::uuid(&self.id)?,
            name: self.name,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[async_trait]
impl IngestTokenStore for SqlStore {
    async fn insert_ingest_token(
        &self,
        t: &IngestToken,
        secret_hash: &[u8; 32],
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO ingest_tokens (id, name, secret_hash, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
            crate::args![
                t.id.to_string(),
                t.name.as_str(),
                secret_hash.to_vec(),
                t.created_at,
                t.last_used_at,
                t.revoked_at
            ],
        )
        .await?;
        tx.record_change(
            INGEST_TOKEN_CHANGED,
            &t.id.to_string(),
            Some(secret_hash),
            t.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ingest_token_by_hash(
        &self,
        secret_hash: &[u8; 32],
    ) -> StoreResult<Option<IngestToken>> {
        self.db
            .fetch_optional::<IngestTokenRow>(
                &format!("SELECT {COLUMNS} FROM ingest_tokens WHERE secret_hash = $1"),
                crate::args![secret_hash.to_vec()],
            )
            .await?
            .map(IngestTokenRow::into_domain)
            .transpose()
    }

    async fn list_ingest_tokens(&self) -> StoreResult<Vec<IngestToken>> {
        self.db
            .fetch_all::<IngestTokenRow>(
                &format!("SELECT {COLUMNS} FROM ingest_tokens ORDER BY created_at, id"),
                crate::db::Args::default(),
            )
            .await?
            .into_iter()
            .map(IngestTokenRow::into_domain)
            .collect()
    }

    async fn revoke_ingest_token(&self, id: Uuid, at: i64) -> StoreResult<Option<IngestToken>> {
        let mut tx = self.db.begin().await?;
        // The write comes first so SQLite takes its write lock before any read.
        let updated = tx
            .execute(
                "UPDATE ingest_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                crate::args![at, id.to_string()],
            )
            .await?;
        if updated == 1 {
            let (hash,): (Vec<u8>,) = tx
                .fetch_one(
                    "SELECT secret_hash FROM ingest_tokens WHERE id = $1",
                    crate::args![id.to_string()],
                )
                .await?;
            tx.record_change(INGEST_TOKEN_CHANGED, &id.to_string(), Some(&hash), at)
                .await?;
        }
        let token = tx
            .fetch_optional::<IngestTokenRow>(
                &format!("SELECT {COLUMNS} FROM ingest_tokens WHERE id = $1"),
                crate::args![id.to_string()],
            )
            .await?
            .map(IngestTokenRow::into_domain)
            .transpose()?;
        tx.commit().await?;
        Ok(token)
    }

    async fn touch_ingest_tokens(&self, used: &[(Uuid, i64)]) -> StoreResult<()> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (id, at) in used {
            tx.execute(
                "UPDATE ingest_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
                crate::args![*at, id.to_string()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
