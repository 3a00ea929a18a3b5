//! SQL for upload tokens and webhooks, shared by both backends like `sql.rs`.

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::uploads::UploadStore for SqlStore {
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

    async fn insert_webhook(&self, w: &domain::Webhook) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO webhooks ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    crate::uploads::WEBHOOK_COLUMNS
                ),
                crate::args![
                    w.id.to_string(),
                    w.account_id.to_string(),
                    w.environment.as_str(),
                    &w.url,
                    serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
                    &w.secret_sealed,
                    w.created_at,
                    &w.credential_label
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "webhook"))?;
        Ok(())
    }

    async fn webhook(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<domain::Webhook>> {
        self.db.fetch_optional::<crate::uploads::WebhookRow>(&format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            crate::uploads::WEBHOOK_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn webhook_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::Webhook>> {
        self.db
            .fetch_optional::<crate::uploads::WebhookRow>(
                &format!(
                    "SELECT {} FROM webhooks WHERE id = $1",
                    crate::uploads::WEBHOOK_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn scope_webhooks(
        &self,
        scope: crate::Scope,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::Webhook>> {
        self.db.fetch_all::<crate::uploads::WebhookRow>(&format!(
            "SELECT {} FROM webhooks WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             ORDER BY created_at, id LIMIT $3",
            crate::uploads::WEBHOOK_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str(), limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn list_webhooks(
        &self,
        scope: crate::Scope,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<domain::Webhook>, i64)> {
        const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL";
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM webhooks WHERE {WHERE}"),
                crate::args![scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?;
        let rows = self
            .db
            .fetch_all::<crate::uploads::WebhookRow>(
                &format!(
            "SELECT {} FROM webhooks WHERE {WHERE} ORDER BY created_at, id LIMIT $3 OFFSET $4",
            crate::uploads::WEBHOOK_COLUMNS
        ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
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

    async fn delete_webhook(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self.db.execute("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL", crate::args![at, id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?;
        Ok(done == 1)
    }

    async fn set_webhook_credential(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
        label: Option<&str>,
    ) -> crate::StoreResult<bool> {
        let done = self.db.execute("UPDATE webhooks SET credential_label = $1 WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL", crate::args![label, id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?;
        Ok(done == 1)
    }
}
