//! The webhook delivery outbox, as the store keeps it.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub webhook_id: Uuid,
    pub event: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Up to `limit` deliveries due at `now`, oldest first.
    async fn due_deliveries(&self, now: i64, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    async fn mark_delivered(&self, id: Uuid, at: i64) -> StoreResult<()>;
    /// Records a failed attempt: retry at `next`, or give up (`failed_at`) when `next` is None.
    async fn mark_attempt_failed(
        &self,
        id: Uuid,
        at: i64,
        error: &str,
        next: Option<i64>,
    ) -> StoreResult<()>;
    async fn deliveries_for_account(&self, account_id: Uuid) -> StoreResult<Vec<DeliveryRecord>>;
}

pub const DELIVERY_COLUMNS: &str = "id, account_id, webhook_id, event, body, attempts, next_attempt_at, delivered_at, failed_at, last_error, created_at";

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    id: String,
    account_id: String,
    webhook_id: String,
    event: String,
    body: String,
    attempts: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    failed_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl DeliveryRow {
    pub fn into_record(self) -> StoreResult<DeliveryRecord> {
        let id = |s: &str| Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(e.to_string()));
        Ok(DeliveryRecord {
            id: id(&self.id)?,
            account_id: id(&self.account_id)?,
            webhook_id: id(&self.webhook_id)?,
            event: self.event,
            body: self.body,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            delivered_at: self.delivered_at,
            failed_at: self.failed_at,
            last_error: self.last_error,
            created_at: self.created_at,
        })
    }
}
