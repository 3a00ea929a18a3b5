//! Upload tokens, as the store keeps them.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::Environment;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub const UPLOAD_COLUMNS: &str =
    "token_hash, token_sealed, account_id, environment, ttl, created_at, expires_at";

/// An upload token as stored: its SHA-256 (hex, the lookup key) and the token sealed by the vault
/// (the service seals and opens it; the store never sees it in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTokenRecord {
    pub token_hash: String,
    pub token_sealed: String,
    pub account_id: Uuid,
    pub environment: Environment,
    /// Seconds; 0 = never expires.
    pub ttl: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub struct UploadRow {
    token_hash: String,
    token_sealed: String,
    account_id: String,
    environment: String,
    ttl: i64,
    created_at: i64,
    expires_at: Option<i64>,
}

impl UploadRow {
    pub fn into_record(self) -> StoreResult<UploadTokenRecord> {
        Ok(UploadTokenRecord {
            token_hash: self.token_hash,
            token_sealed: self.token_sealed,
            account_id: Uuid::parse_str(&self.account_id).map_err(corrupt)?,
            environment: Environment::parse(&self.environment).map_err(corrupt)?,
            ttl: self.ttl,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// A token made before upload tokens were sealed (migration 0018), still in clear.
#[derive(sqlx::FromRow)]
pub struct PlainUploadRow {
    pub token: String,
    pub account_id: String,
    pub environment: String,
    pub ttl: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

impl std::fmt::Debug for PlainUploadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainUploadRow")
            .field("token", &"[redacted]")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Upload tokens, by the SHA-256 of the token.
#[async_trait]
pub trait UploadStore: Send + Sync {
    async fn insert_upload_token(&self, t: &UploadTokenRecord) -> StoreResult<()>;
    /// A live (not deleted, not expired at `now`) token of the scope.
    async fn upload_token(
        &self,
        scope: Scope,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<UploadTokenRecord>>;
    /// A live upload token by its hash, in whatever account holds it: the token is the
    /// credential of a delegated upload (`POST /upload?token=`), which names no account.
    async fn upload_token_by_hash(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<UploadTokenRecord>>;
    /// A page of the scope's live tokens, by creation time or by `ttl` (`by_ttl`), ascending
    /// unless `descending`; and how many there are.
    #[allow(clippy::too_many_arguments)]
    async fn list_upload_tokens(
        &self,
        scope: Scope,
        now: i64,
        by_ttl: bool,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<UploadTokenRecord>, i64)>;
    async fn delete_upload_token(
        &self,
        scope: Scope,
        token_hash: &str,
        at: i64,
    ) -> StoreResult<bool>;
    /// Up to `limit` tokens still in clear (made before migration 0018).
    async fn plain_upload_tokens(&self, limit: i64) -> StoreResult<Vec<PlainUploadRow>>;
    /// Moves one token out of the clear: inserts its sealed form (unless another instance did)
    /// and deletes the plain row, in one transaction.
    async fn replace_plain_upload_token(
        &self,
        token: &str,
        sealed: &UploadTokenRecord,
        deleted_at: Option<i64>,
    ) -> StoreResult<()>;
    /// After secrets were deleted: makes sure their bytes are not left in the database file's
    /// free pages or journal (SQLite: VACUUM and a truncating WAL checkpoint; PostgreSQL rewrites
    /// through its own VACUUM and WAL recycling, nothing is done here).
    async fn scrub_free_space(&self) -> StoreResult<()>;
}

#[async_trait]
impl UploadStore for SqlStore {
    async fn insert_upload_token(&self, t: &UploadTokenRecord) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!("INSERT INTO upload_tokens ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                crate::args![
                    &t.token_hash,
                    &t.token_sealed,
                    t.account_id.to_string(),
                    t.environment.as_str(),
                    t.ttl,
                    t.created_at,
                    t.expires_at
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "upload token"))?;
        Ok(())
    }

    async fn upload_token(
        &self,
        scope: crate::Scope,
        token_hash: &str,
        now: i64,
    ) -> crate::StoreResult<Option<UploadTokenRecord>> {
        self.db
            .fetch_optional::<UploadRow>(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM upload_tokens WHERE token_hash = $1 AND account_id = $2 \
                     AND environment = $3 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $4)"
                ),
                crate::args![
                    token_hash,
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    now
                ],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn upload_token_by_hash(
        &self,
        token_hash: &str,
        now: i64,
    ) -> crate::StoreResult<Option<UploadTokenRecord>> {
        self.db
            .fetch_optional::<UploadRow>(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM upload_tokens WHERE token_hash = $1 \
                     AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
                ),
                crate::args![token_hash, now],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn list_upload_tokens(
        &self,
        scope: crate::Scope,
        now: i64,
        by_ttl: bool,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<UploadTokenRecord>, i64)> {
        let col = if by_ttl { "ttl" } else { "created_at" };
        let dir = if descending { "DESC" } else { "ASC" };
        const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
            AND (expires_at IS NULL OR expires_at > $3)";
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM upload_tokens WHERE {WHERE}"),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    now
                ],
            )
            .await?;
        let rows = self
            .db
            .fetch_all::<UploadRow>(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM upload_tokens WHERE {WHERE} \
                     ORDER BY {col} {dir}, created_at {dir}, token_hash {dir} LIMIT $4 OFFSET $5"
                ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    now,
                    limit,
                    offset
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn delete_upload_token(
        &self,
        scope: crate::Scope,
        token_hash: &str,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE upload_tokens SET deleted_at = $1 WHERE token_hash = $2 AND account_id = $3 \
                 AND environment = $4 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
                crate::args![
                    at,
                    token_hash,
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn plain_upload_tokens(&self, limit: i64) -> crate::StoreResult<Vec<PlainUploadRow>> {
        self.db
            .fetch_all::<PlainUploadRow>(
                "SELECT token, account_id, environment, ttl, created_at, expires_at, deleted_at \
                 FROM upload_tokens_plain ORDER BY token LIMIT $1",
                crate::args![limit],
            )
            .await
    }

    async fn replace_plain_upload_token(
        &self,
        token: &str,
        t: &UploadTokenRecord,
        deleted_at: Option<i64>,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            &format!(
                "INSERT INTO upload_tokens ({UPLOAD_COLUMNS}, deleted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (token_hash) DO NOTHING"
            ),
            crate::args![
                &t.token_hash,
                &t.token_sealed,
                t.account_id.to_string(),
                t.environment.as_str(),
                t.ttl,
                t.created_at,
                t.expires_at,
                deleted_at
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM upload_tokens_plain WHERE token = $1",
            crate::args![token],
        )
        .await?;
        tx.commit().await
    }

    async fn scrub_free_space(&self) -> crate::StoreResult<()> {
        if self.db.backend() == crate::db::Backend::Sqlite {
            self.db.execute("VACUUM", crate::args![]).await?;
            self.db
                .execute("PRAGMA wal_checkpoint(TRUNCATE)", crate::args![])
                .await?;
        }
        Ok(())
    }
}
