//! SQL for streams, sessions and multistream targets, shared by both backends like `sql.rs`.

macro_rules! impl_stream_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::streams::StreamStore for $store {
            async fn insert_stream(
                &self,
                s: &$crate::store::streams::StreamRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query(&format!(
                    "INSERT INTO streams ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(s.id.to_string())
                .bind(s.account_id.to_string())
                .bind(s.environment.as_str())
                .bind(&s.name)
                .bind(&s.key_hash)
                .bind(&s.key_sealed)
                .bind(&s.playback_id)
                .bind(s.record)
                .bind(s.suspended)
                .bind(s.is_active)
                .bind(&s.settings)
                .bind(&s.created_by)
                .bind(s.created_at)
                .bind(s.updated_at)
                .bind(s.last_seen_at)
                .bind(s.deleted_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, "stream"))?;
                Self::record_change(&mut tx, $crate::store::streams::STREAM_CREATED, &s.id.to_string(), Some(&s.key_hash), s.created_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stream(
                &self,
                scope: $crate::store::streams::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::streams::StreamRecord>> {
                sqlx::query_as::<_, $crate::store::streams::StreamRow>(&format!(
                    "SELECT {} FROM streams WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn stream_by_key_hash(
                &self,
                key_hash: &[u8],
            ) -> $crate::store::StoreResult<Option<$crate::store::streams::StreamRecord>> {
                sqlx::query_as::<_, $crate::store::streams::StreamRow>(&format!(
                    "SELECT {} FROM streams WHERE key_hash = $1",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(key_hash)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn stream_by_playback_id(
                &self,
                playback_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::streams::StreamRecord>> {
                sqlx::query_as::<_, $crate::store::streams::StreamRow>(&format!(
                    "SELECT {} FROM streams WHERE playback_id = $1 AND deleted_at IS NULL",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(playback_id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn list_streams(
                &self,
                scope: $crate::store::streams::Scope,
                after: Option<&$crate::store::streams::After>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::streams::StreamRecord>> {
                let (at, id) = after.map_or((i64::MIN, String::new()), |a| (a.created_at, a.id.to_string()));
                sqlx::query_as::<_, $crate::store::streams::StreamRow>(&format!(
                    "SELECT {} FROM streams WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
                     AND (created_at > $3 OR (created_at = $3 AND id > $4)) ORDER BY created_at, id LIMIT $5",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn search_streams(
                &self,
                scope: $crate::store::streams::Scope,
                name: Option<&str>,
                key_hash: Option<&[u8]>,
                offset: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<(Vec<$crate::store::streams::StreamRecord>, i64)> {
                const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
                    AND ($3 IS NULL OR name = $3) AND ($4 IS NULL OR key_hash = $4)";
                let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM streams WHERE {WHERE}"))
                    .bind(scope.account_id.to_string())
                    .bind(scope.environment.as_str())
                    .bind(name)
                    .bind(key_hash)
                    .fetch_one(&self.pool)
                    .await?;
                let rows = sqlx::query_as::<_, $crate::store::streams::StreamRow>(&format!(
                    "SELECT {} FROM streams WHERE {WHERE} ORDER BY created_at, id LIMIT $5 OFFSET $6",
                    $crate::store::streams::STREAM_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(name)
                .bind(key_hash)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect::<Result<Vec<_>, _>>()?;
                Ok((rows, total))
            }

            async fn update_stream(
                &self,
                s: &$crate::store::streams::StreamRecord,
                change: Option<&str>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let updated = sqlx::query(
                    "UPDATE streams SET name = $1, record = $2, suspended = $3, is_active = $4, settings = $5, \
                     updated_at = $6, last_seen_at = $7, deleted_at = $8 WHERE id = $9 AND deleted_at IS NULL",
                )
                .bind(&s.name)
                .bind(s.record)
                .bind(s.suspended)
                .bind(s.is_active)
                .bind(&s.settings)
                .bind(s.updated_at)
                .bind(s.last_seen_at)
                .bind(s.deleted_at)
                .bind(s.id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 1 {
                    if let Some(kind) = change {
                        Self::record_change(&mut tx, kind, &s.id.to_string(), Some(&s.key_hash), s.updated_at).await?;
                    }
                }
                tx.commit().await?;
                Ok(updated == 1)
            }

            async fn insert_session(
                &self,
                s: &$crate::domain::Session,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::insert_session_in(&mut tx, s).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                scope: $crate::store::streams::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::Session>> {
                sqlx::query_as::<_, $crate::store::streams::SessionRow>(&format!(
                    "SELECT {} FROM sessions WHERE id = $1 AND account_id = $2 AND environment = $3",
                    $crate::store::streams::SESSION_COLUMNS
                ))
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn list_sessions(
                &self,
                scope: $crate::store::streams::Scope,
                stream_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::Session>> {
                sqlx::query_as::<_, $crate::store::streams::SessionRow>(&format!(
                    "SELECT {} FROM sessions WHERE stream_id = $1 AND account_id = $2 AND environment = $3 \
                     ORDER BY started_at DESC, id DESC LIMIT 1000",
                    $crate::store::streams::SESSION_COLUMNS
                ))
                .bind(stream_id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_domain())
                .collect()
            }

            async fn recent_sessions(
                &self,
                scope: $crate::store::streams::Scope,
                since: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::Session>> {
                sqlx::query_as::<_, $crate::store::streams::SessionRow>(&format!(
                    "SELECT {} FROM sessions WHERE account_id = $1 AND environment = $2 \
                     AND (ended_at IS NULL OR ended_at >= $3) \
                     ORDER BY started_at DESC, id DESC LIMIT $4",
                    $crate::store::streams::SESSION_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_domain())
                .collect()
            }

            async fn insert_target(
                &self,
                t: &$crate::store::streams::TargetRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO multistream_targets ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    $crate::store::streams::TARGET_COLUMNS
                ))
                .bind(t.id.to_string())
                .bind(t.account_id.to_string())
                .bind(t.environment.as_str())
                .bind(&t.name)
                .bind(&t.url_sealed)
                .bind(t.disabled)
                .bind(t.created_at)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::map_unique(e, "multistream target"))?;
                Ok(())
            }

            async fn target(
                &self,
                scope: $crate::store::streams::Scope,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::streams::TargetRecord>> {
                sqlx::query_as::<_, $crate::store::streams::TargetRow>(&format!(
                    "SELECT {} FROM multistream_targets WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
                    $crate::store::streams::TARGET_COLUMNS
                ))
                .bind(id.to_string())
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn list_targets(
                &self,
                scope: $crate::store::streams::Scope,
            ) -> $crate::store::StoreResult<Vec<$crate::store::streams::TargetRecord>> {
                sqlx::query_as::<_, $crate::store::streams::TargetRow>(&format!(
                    "SELECT {} FROM multistream_targets WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
                     ORDER BY created_at, id LIMIT 1000",
                    $crate::store::streams::TARGET_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn update_target(
                &self,
                t: &$crate::store::streams::TargetRecord,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE multistream_targets SET name = $1, url_sealed = $2, disabled = $3 \
                     WHERE id = $4 AND account_id = $5 AND environment = $6 AND deleted_at IS NULL",
                )
                .bind(&t.name)
                .bind(&t.url_sealed)
                .bind(t.disabled)
                .bind(t.id.to_string())
                .bind(t.account_id.to_string())
                .bind(t.environment.as_str())
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_target(
                &self,
                scope: $crate::store::streams::Scope,
                id: uuid::Uuid,
                at: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE multistream_targets SET deleted_at = $1 \
                     WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                )
                .bind(at)
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
