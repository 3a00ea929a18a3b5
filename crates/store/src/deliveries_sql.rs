//! SQL for the webhook outbox, shared by both backends like `sql.rs`.

use crate::SqlStore;

impl SqlStore {
    /// Queues deliveries inside the caller's transaction (the outbox write of an event).
    pub(crate) async fn insert_deliveries(
        tx: &mut crate::db::Tx,
        rows: &[crate::deliveries::DeliveryRecord],
    ) -> crate::StoreResult<()> {
        for d in rows {
            tx.execute(&format!(
                "INSERT INTO webhook_deliveries ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                crate::deliveries::DELIVERY_COLUMNS
            ), crate::args![d.id.to_string(), d.account_id.to_string(), d.webhook_id.to_string(), &d.event, &d.body, d.attempts, d.next_attempt_at, d.delivered_at, d.failed_at, &d.last_error, d.created_at]).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::deliveries::DeliveryStore for SqlStore {
    async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
    ) -> crate::StoreResult<Vec<crate::deliveries::DeliveryRecord>> {
        self.db.fetch_all::<crate::deliveries::DeliveryRow>(&format!(
            "SELECT {} FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
            crate::deliveries::DELIVERY_COLUMNS
        ), crate::args![now, limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn mark_delivered(&self, id: uuid::Uuid, at: i64) -> crate::StoreResult<()> {
        self.db.execute("UPDATE webhook_deliveries SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2", crate::args![at, id.to_string()]).await?;
        Ok(())
    }

    async fn mark_attempt_failed(
        &self,
        id: uuid::Uuid,
        at: i64,
        error: &str,
        next: Option<i64>,
    ) -> crate::StoreResult<()> {
        self.db.execute("UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4", crate::args![error, next, at, id.to_string()]).await?;
        Ok(())
    }

    async fn deliveries_for_account(
        &self,
        account_id: uuid::Uuid,
    ) -> crate::StoreResult<Vec<crate::deliveries::DeliveryRecord>> {
        self.db
            .fetch_all::<crate::deliveries::DeliveryRow>(
                &format!(
            "SELECT {} FROM webhook_deliveries WHERE account_id = $1 ORDER BY created_at, id",
            crate::deliveries::DELIVERY_COLUMNS
        ),
                crate::args![account_id.to_string()],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }
}
