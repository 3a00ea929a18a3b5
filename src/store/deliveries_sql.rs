//! SQL for the webhook outbox, shared by both backends like `sql.rs`.

macro_rules! impl_delivery_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Queues deliveries inside the caller's transaction (the outbox write of an event).
            async fn insert_deliveries(
                tx: &mut sqlx::Transaction<'_, $db>,
                rows: &[$crate::store::deliveries::DeliveryRecord],
            ) -> $crate::store::StoreResult<()> {
                for d in rows {
                    sqlx::query(&format!(
                        "INSERT INTO webhook_deliveries ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        $crate::store::deliveries::DELIVERY_COLUMNS
                    ))
                    .bind(d.id.to_string())
                    .bind(d.account_id.to_string())
                    .bind(d.webhook_id.to_string())
                    .bind(&d.event)
                    .bind(&d.body)
                    .bind(d.attempts)
                    .bind(d.next_attempt_at)
                    .bind(d.delivered_at)
                    .bind(d.failed_at)
                    .bind(&d.last_error)
                    .bind(d.created_at)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::deliveries::DeliveryStore for $store {
            async fn due_deliveries(&self, now: i64, limit: i64) -> $crate::store::StoreResult<Vec<$crate::store::deliveries::DeliveryRecord>> {
                sqlx::query_as::<_, $crate::store::deliveries::DeliveryRow>(&format!(
                    "SELECT {} FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
                    $crate::store::deliveries::DELIVERY_COLUMNS
                ))
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn mark_delivered(&self, id: uuid::Uuid, at: i64) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE webhook_deliveries SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn mark_attempt_failed(&self, id: uuid::Uuid, at: i64, error: &str, next: Option<i64>) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4")
                    .bind(error)
                    .bind(next)
                    .bind(at)
                    .bind(id.to_string())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn deliveries_for_account(&self, account_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::deliveries::DeliveryRecord>> {
                sqlx::query_as::<_, $crate::store::deliveries::DeliveryRow>(&format!(
                    "SELECT {} FROM webhook_deliveries WHERE account_id = $1 ORDER BY created_at, id",
                    $crate::store::deliveries::DELIVERY_COLUMNS
                ))
                .bind(account_id.to_string())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }
        }
    };
}
