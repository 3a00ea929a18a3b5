//! Upload tokens and webhooks, as the store keeps them.

use async_trait::async_trait;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::{Environment, UploadToken, Webhook};

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

    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()>;
    async fn webhook(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// Any webhook by id, deleted or not (for the delivery worker).
    async fn webhook_by_id(&self, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// The scope's first `limit` live webhooks, oldest first, without counting them all (for
    /// queueing an event's deliveries).
    async fn scope_webhooks(&self, scope: Scope, limit: i64) -> StoreResult<Vec<Webhook>>;
    async fn list_webhooks(
        &self,
        scope: Scope,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Webhook>, i64)>;
    async fn delete_webhook(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
    /// Names (or clears) the credential a live webhook authenticates with; false if no such webhook.
    async fn set_webhook_credential(
        &self,
        scope: Scope,
        id: Uuid,
        label: Option<&str>,
    ) -> StoreResult<bool>;
}

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
