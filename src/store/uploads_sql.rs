//! SQL for upload tokens and webhooks, shared by both backends like `sql.rs`.

macro_rules! impl_upload_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::uploads::UploadStore for $store {
            async fn insert_upload_token(
                &self,
                t: &$crate::store::uploads::UploadTokenRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO upload_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::store::uploads::UPLOAD_COLUMNS
                ))
                .bind(&t.token)
                .bind(t.account_id.to_string())
                .bind(t.environment.as_str())
                .bind(t.ttl)
                .bind(t.created_at)
                .bind(t.expires_at)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::map_unique(e, "upload token"))?;
                Ok(())
            }

            async fn upload_token(
                &self,
                scope: $crate::store::Scope,
                token: &str,
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::uploads::UploadTokenRecord>> {
                sqlx::query_as::<_, $crate::store::uploads::UploadRow>(&format!(
                    "SELECT {} FROM upload_tokens WHERE token = $1 AND account_id = $2 AND environment = $3 \
                     AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $4)",
                    $crate::store::uploads::UPLOAD_COLUMNS
                ))
                .bind(token)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn list_upload_tokens(
                &self,
                scope: $crate::store::Scope,
                now: i64,
                offset: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::uploads::UploadTokenRecord>, i64)> {
                const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
                    AND (expires_at IS NULL OR expires_at > $3)";
                let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM upload_tokens WHERE {WHERE}"))
                    .bind(scope.account_id.to_string())
                    .bind(scope.environment.as_str())
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                let rows = sqlx::query_as::<_, $crate::store::uploads::UploadRow>(&format!(
                    "SELECT {} FROM upload_tokens WHERE {WHERE} ORDER BY created_at, token LIMIT $4 OFFSET $5",
                    $crate::store::uploads::UPLOAD_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(now)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect::<Result<Vec<_>, _>>()?;
                Ok((rows, total))
            }

            async fn delete_upload_token(
                &self,
                scope: $crate::store::Scope,
                token: &str,
                at: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE upload_tokens SET deleted_at = $1 WHERE token = $2 AND account_id = $3 \
                     AND environment = $4 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
                )
                .bind(at)
                .bind(token)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_webhook(
                &self,
                w: &$crate::store::uploads::WebhookRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO webhooks ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::store::uploads::WEBHOOK_COLUMNS
                ))
                .bind(w.id.to_string())
                .bind(w.account_id.to_string())
                .bind(w.environment.as_str())
                .bind(&w.url)
                .bind(serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()))
                .bind(&w.secret_sealed)
                .bind(w.created_at)
                .bind(&w.credential_label)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::map_unique(e, "webhook"))?;
                Ok(())
            }

            async fn webhook(
                &self,
                scope: $crate::store::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::uploads::WebhookRecord>> {
                sqlx::query_as::<_, $crate::store::uploads::WebhookRow>(&format!(
                    "SELECT {} FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
                    $crate::store::uploads::WEBHOOK_COLUMNS
                ))
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn webhook_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::uploads::WebhookRecord>> {
                sqlx::query_as::<_, $crate::store::uploads::WebhookRow>(&format!(
                    "SELECT {} FROM webhooks WHERE id = $1",
                    $crate::store::uploads::WEBHOOK_COLUMNS
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn scope_webhooks(
                &self,
                scope: $crate::store::Scope,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::uploads::WebhookRecord>> {
                sqlx::query_as::<_, $crate::store::uploads::WebhookRow>(&format!(
                    "SELECT {} FROM webhooks WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
                     ORDER BY created_at, id LIMIT $3",
                    $crate::store::uploads::WEBHOOK_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn list_webhooks(
                &self,
                scope: $crate::store::Scope,
                offset: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::uploads::WebhookRecord>, i64)> {
                const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL";
                let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM webhooks WHERE {WHERE}"))
                    .bind(scope.account_id.to_string())
                    .bind(scope.environment.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                let rows = sqlx::query_as::<_, $crate::store::uploads::WebhookRow>(&format!(
                    "SELECT {} FROM webhooks WHERE {WHERE} ORDER BY created_at, id LIMIT $3 OFFSET $4",
                    $crate::store::uploads::WEBHOOK_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect::<Result<Vec<_>, _>>()?;
                Ok((rows, total))
            }

            async fn delete_webhook(
                &self,
                scope: $crate::store::Scope,
                id: uuid::Uuid,
                at: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                )
                .bind(at)
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_webhook_credential(
                &self,
                scope: $crate::store::Scope,
                id: uuid::Uuid,
                label: Option<&str>,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE webhooks SET credential_label = $1 WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                )
                .bind(label)
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
