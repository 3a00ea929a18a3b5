//! SQL for Edgecast stream keys, shared by both backends like `sql.rs`.

macro_rules! impl_stream_key_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::stream_keys::StreamKeyStore for $store {
            async fn insert_stream_key(
                &self,
                k: &$crate::store::stream_keys::StreamKeyRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query(&format!(
                    "INSERT INTO edgecast_stream_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    $crate::store::stream_keys::STREAM_KEY_COLUMNS
                ))
                .bind(k.id)
                .bind(k.account_id.to_string())
                .bind(k.environment.as_str())
                .bind(&k.dir_path)
                .bind(&k.key_sealed)
                .bind(k.created_at)
                .bind(k.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, &format!("a stream key for DirPath {}", k.dir_path)))?;
                Self::record_change(&mut tx, $crate::store::stream_keys::STREAM_KEY_CHANGED, &k.id.to_string(), None, k.updated_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stream_key(
                &self,
                scope: $crate::store::Scope,
                id: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::stream_keys::StreamKeyRecord>> {
                sqlx::query_as::<_, $crate::store::stream_keys::StreamKeyRow>(&format!(
                    "SELECT {} FROM edgecast_stream_keys WHERE id = $1 AND account_id = $2 AND environment = $3",
                    $crate::store::stream_keys::STREAM_KEY_COLUMNS
                ))
                .bind(id)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn list_stream_keys(
                &self,
                scope: $crate::store::Scope,
            ) -> $crate::store::StoreResult<Vec<$crate::store::stream_keys::StreamKeyRecord>> {
                sqlx::query_as::<_, $crate::store::stream_keys::StreamKeyRow>(&format!(
                    "SELECT {} FROM edgecast_stream_keys WHERE account_id = $1 AND environment = $2 ORDER BY created_at, id LIMIT 10000",
                    $crate::store::stream_keys::STREAM_KEY_COLUMNS
                ))
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn stream_keys_for_instance(
                &self,
                instance: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::stream_keys::StreamKeyRecord>> {
                // A bytewise range rather than `LIKE 'instance/%'`: the instance comes from the
                // media server (it may hold `%` or `_`), and SQLite recompiles a LIKE statement
                // for every new pattern. '0' is the byte after '/'.
                let c = Self::BYTEWISE;
                sqlx::query_as::<_, $crate::store::stream_keys::StreamKeyRow>(&format!(
                    "SELECT {} FROM edgecast_stream_keys WHERE dir_path{c} >= $1 AND dir_path{c} < $2 \
                     ORDER BY id LIMIT 10000",
                    $crate::store::stream_keys::STREAM_KEY_COLUMNS
                ))
                .bind(format!("{instance}/"))
                .bind(format!("{instance}0"))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn update_stream_key(
                &self,
                k: &$crate::store::stream_keys::StreamKeyRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query(
                    "UPDATE edgecast_stream_keys SET dir_path = $1, key_sealed = $2, updated_at = $3 \
                     WHERE id = $4 AND account_id = $5 AND environment = $6",
                )
                .bind(&k.dir_path)
                .bind(&k.key_sealed)
                .bind(k.updated_at)
                .bind(k.id)
                .bind(k.account_id.to_string())
                .bind(k.environment.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, &format!("a stream key for DirPath {}", k.dir_path)))?;
                let updated = done.rows_affected() == 1;
                if updated {
                    Self::record_change(&mut tx, $crate::store::stream_keys::STREAM_KEY_CHANGED, &k.id.to_string(), None, k.updated_at).await?;
                }
                tx.commit().await?;
                Ok(updated)
            }

            async fn delete_stream_key(
                &self,
                scope: $crate::store::Scope,
                id: i64,
                at: i64,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query(
                    "DELETE FROM edgecast_stream_keys WHERE id = $1 AND account_id = $2 AND environment = $3",
                )
                .bind(id)
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .execute(&mut *tx)
                .await?;
                let deleted = done.rows_affected() == 1;
                if deleted {
                    Self::record_change(&mut tx, $crate::store::stream_keys::STREAM_KEY_CHANGED, &id.to_string(), None, at).await?;
                }
                tx.commit().await?;
                Ok(deleted)
            }

            async fn global_key(
                &self,
                scope: $crate::store::Scope,
            ) -> $crate::store::StoreResult<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT key_sealed FROM edgecast_global_keys WHERE account_id = $1 AND environment = $2",
                )
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn set_global_key(
                &self,
                scope: $crate::store::Scope,
                key_sealed: &str,
                at: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO edgecast_global_keys (account_id, environment, key_sealed, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (account_id, environment) DO UPDATE SET key_sealed = excluded.key_sealed, updated_at = excluded.updated_at",
                )
                .bind(scope.account_id.to_string())
                .bind(scope.environment.as_str())
                .bind(key_sealed)
                .bind(at)
                .execute(self.writer())
                .await?;
                Ok(())
            }
        }
    };
}
