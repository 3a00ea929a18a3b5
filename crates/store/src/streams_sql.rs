//! SQL for streams, sessions and multistream targets, shared by both backends like `sql.rs`.

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::streams::StreamStore for SqlStore {
    async fn insert_stream(&self, s: &crate::streams::StreamRecord) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(&format!(
            "INSERT INTO streams ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            crate::streams::STREAM_COLUMNS
        ), crate::args![s.id.to_string(), s.account_id.to_string(), s.environment.as_str(), &s.name, &s.key_hash, &s.key_sealed, &s.playback_id, s.record, s.suspended, s.is_active, &s.settings, &s.created_by, s.created_at, s.updated_at, s.last_seen_at, s.deleted_at]).await
        .map_err(|e| crate::map_unique(e, "stream"))?;
        tx.record_change(
            crate::streams::STREAM_CREATED,
            &s.id.to_string(),
            Some(&s.key_hash),
            s.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stream(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db.fetch_optional::<crate::streams::StreamRow>(&format!(
            "SELECT {} FROM streams WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            crate::streams::STREAM_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn stream_by_key_hash(
        &self,
        key_hash: &[u8],
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db
            .fetch_optional::<crate::streams::StreamRow>(
                &format!(
                    "SELECT {} FROM streams WHERE key_hash = $1",
                    crate::streams::STREAM_COLUMNS
                ),
                crate::args![key_hash],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn stream_by_playback_id(
        &self,
        playback_id: &str,
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db
            .fetch_optional::<crate::streams::StreamRow>(
                &format!(
                    "SELECT {} FROM streams WHERE playback_id = $1 AND deleted_at IS NULL",
                    crate::streams::STREAM_COLUMNS
                ),
                crate::args![playback_id],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn list_streams(
        &self,
        scope: crate::streams::Scope,
        after: Option<&domain::After>,
        limit: i64,
    ) -> crate::StoreResult<Vec<crate::streams::StreamRecord>> {
        let (at, id) = after.map_or((i64::MIN, String::new()), |a| {
            (a.created_at, a.id.to_string())
        });
        self.db.fetch_all::<crate::streams::StreamRow>(&format!(
            "SELECT {} FROM streams WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             AND (created_at > $3 OR (created_at = $3 AND id > $4)) ORDER BY created_at, id LIMIT $5",
            crate::streams::STREAM_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str(), at, id, limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn search_streams(
        &self,
        scope: crate::streams::Scope,
        name: Option<&str>,
        key_hash: Option<&[u8]>,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<crate::streams::StreamRecord>, i64)> {
        const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
            AND ($3 IS NULL OR name = $3) AND ($4 IS NULL OR key_hash = $4)";
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM streams WHERE {WHERE}"),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    name,
                    key_hash
                ],
            )
            .await?;
        let rows = self
            .db
            .fetch_all::<crate::streams::StreamRow>(
                &format!(
            "SELECT {} FROM streams WHERE {WHERE} ORDER BY created_at, id LIMIT $5 OFFSET $6",
            crate::streams::STREAM_COLUMNS
        ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    name,
                    key_hash,
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

    async fn update_stream(
        &self,
        s: &crate::streams::StreamRecord,
        change: Option<&str>,
    ) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let updated = tx.execute("UPDATE streams SET name = $1, record = $2, suspended = $3, is_active = $4, settings = $5, \
             updated_at = $6, last_seen_at = $7, deleted_at = $8 WHERE id = $9 AND deleted_at IS NULL", crate::args![&s.name, s.record, s.suspended, s.is_active, &s.settings, s.updated_at, s.last_seen_at, s.deleted_at, s.id.to_string()]).await?;
        if updated == 1 {
            if let Some(kind) = change {
                tx.record_change(kind, &s.id.to_string(), Some(&s.key_hash), s.updated_at)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(updated == 1)
    }

    async fn insert_session(&self, s: &domain::Session) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_session_in(&mut tx, s).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<domain::Session>> {
        self.db
            .fetch_optional::<crate::streams::SessionRow>(
                &format!(
            "SELECT {} FROM sessions WHERE id = $1 AND account_id = $2 AND environment = $3",
            crate::streams::SESSION_COLUMNS
        ),
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn list_sessions(
        &self,
        scope: crate::streams::Scope,
        stream_id: uuid::Uuid,
    ) -> crate::StoreResult<Vec<domain::Session>> {
        self.db
            .fetch_all::<crate::streams::SessionRow>(
                &format!(
            "SELECT {} FROM sessions WHERE stream_id = $1 AND account_id = $2 AND environment = $3 \
             ORDER BY started_at DESC, id DESC LIMIT 1000",
            crate::streams::SESSION_COLUMNS
        ),
                crate::args![
                    stream_id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }

    async fn recent_sessions(
        &self,
        scope: crate::streams::Scope,
        since: i64,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::Session>> {
        self.db
            .fetch_all::<crate::streams::SessionRow>(
                &format!(
                    "SELECT {} FROM sessions WHERE account_id = $1 AND environment = $2 \
             AND (ended_at IS NULL OR ended_at >= $3) \
             ORDER BY started_at DESC, id DESC LIMIT $4",
                    crate::streams::SESSION_COLUMNS
                ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    since,
                    limit
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_domain())
            .collect()
    }

    async fn insert_target(&self, t: &crate::streams::TargetRecord) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO multistream_targets ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    crate::streams::TARGET_COLUMNS
                ),
                crate::args![
                    t.id.to_string(),
                    t.account_id.to_string(),
                    t.environment.as_str(),
                    &t.name,
                    &t.url_sealed,
                    t.disabled,
                    t.created_at
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "multistream target"))?;
        Ok(())
    }

    async fn target(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<crate::streams::TargetRecord>> {
        self.db.fetch_optional::<crate::streams::TargetRow>(&format!(
            "SELECT {} FROM multistream_targets WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            crate::streams::TARGET_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn list_targets(
        &self,
        scope: crate::streams::Scope,
    ) -> crate::StoreResult<Vec<crate::streams::TargetRecord>> {
        self.db.fetch_all::<crate::streams::TargetRow>(&format!(
            "SELECT {} FROM multistream_targets WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             ORDER BY created_at, id LIMIT 1000",
            crate::streams::TARGET_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str()]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn update_target(&self, t: &crate::streams::TargetRecord) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE multistream_targets SET name = $1, url_sealed = $2, disabled = $3 \
             WHERE id = $4 AND account_id = $5 AND environment = $6 AND deleted_at IS NULL",
                crate::args![
                    &t.name,
                    &t.url_sealed,
                    t.disabled,
                    t.id.to_string(),
                    t.account_id.to_string(),
                    t.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_target(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE multistream_targets SET deleted_at = $1 \
             WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                crate::args![
                    at,
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }
}
