//! Upload tokens and webhooks, as the store keeps them.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::{Environment, UploadToken, Webhook};

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub const UPLOAD_COLUMNS: &str = "token, account_id, environment, ttl, created_at, expires_at";

#[derive(sqlx::FromRow)]
pub struct UploadRow {
    token: String,
    account_id: String,
    environment: String,
    ttl: i64,
    created_at: i64,
    expires_at: Option<i64>,
}

impl UploadRow {
    pub fn into_record(self) -> StoreResult<UploadToken> {
        Ok(UploadToken {
            token: self.token,
            account_id: Uuid::parse_str(&self.account_id).map_err(corrupt)?,
            environment: Environment::parse(&self.environment).map_err(corrupt)?,
            ttl: self.ttl,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

pub const WEBHOOK_COLUMNS: &str =
    "id, account_id, environment, url, events, secret_sealed, created_at, credential_label";

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: String,
    account_id: String,
    environment: String,
    url: String,
    events: String,
    secret_sealed: String,
    created_at: i64,
    credential_label: Option<String>,
}

impl WebhookRow {
    pub fn into_record(self) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: Uuid::parse_str(&self.id).map_err(corrupt)?,
            account_id: Uuid::parse_str(&self.account_id).map_err(corrupt)?,
            environment: Environment::parse(&self.environment).map_err(corrupt)?,
            url: self.url,
            events: serde_json::from_str(&self.events).map_err(corrupt)?,
            secret_sealed: self.secret_sealed,
            created_at: self.created_at,
            credential_label: self.credential_label,
        })
    }
}

/// Upload tokens.
#[async_trait]
pub trait UploadStore: Send + Sync {
    async fn insert_upload_token(&self, t: &UploadToken) -> StoreResult<()>;
    /// A live (not deleted, not expired at `now`) token of the scope.
    async fn upload_token(
        &self,
        scope: Scope,
        token: &str,
        now: i64,
    ) -> StoreResult<Option<UploadToken>>;
    async fn list_upload_tokens(
        &self,
        scope: Scope,
        now: i64,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<UploadToken>, i64)>;
    async fn delete_upload_token(&self, scope: Scope, token: &str, at: i64) -> StoreResult<bool>;
}

#[async_trait]
impl UploadStore for SqlStore {
    async fn insert_upload_token(&self, t: &domain::UploadToken) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO upload_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    crate::uploads::UPLOAD_COLUMNS
                ),
                crate::args![
                    &t.token,
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
        token: &str,
        now: i64,
    ) -> crate::StoreResult<Option<domain::UploadToken>> {
        self.db.fetch_optional::<crate::uploads::UploadRow>(&format!(
            "SELECT {} FROM upload_tokens WHERE token = $1 AND account_id = $2 AND environment = $3 \
             AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $4)",
            crate::uploads::UPLOAD_COLUMNS
        ), crate::args![token, scope.account_id.to_string(), scope.environment.as_str(), now]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn list_upload_tokens(
        &self,
        scope: crate::Scope,
        now: i64,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<domain::UploadToken>, i64)> {
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
        let rows = self.db.fetch_all::<crate::uploads::UploadRow>(&format!(
            "SELECT {} FROM upload_tokens WHERE {WHERE} ORDER BY created_at, token LIMIT $4 OFFSET $5",
            crate::uploads::UPLOAD_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str(), now, limit, offset]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn delete_upload_token(
        &self,
        scope: crate::Scope,
        token: &str,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self.db.execute("UPDATE upload_tokens SET deleted_at = $1 WHERE token = $2 AND account_id = $3 \
             AND environment = $4 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)", crate::args![at, token, scope.account_id.to_string(), scope.environment.as_str()]).await?;
        Ok(done == 1)
    }
}
