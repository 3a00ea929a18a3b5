//! SQL for the vault's keyring and re-encryption, shared by both backends like `sql.rs`. Table and
//! column names come from the fixed `SEALED_COLUMNS` list, never from input.

macro_rules! impl_vault_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::vault::VaultStore for $store {
            async fn vault_keys(&self) -> $crate::store::StoreResult<Vec<(i64, String)>> {
                Ok(sqlx::query_as("SELECT number, wrapped FROM vault_keys ORDER BY number")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn insert_vault_key(&self, number: i64, wrapped: &str, at: i64) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query("INSERT INTO vault_keys (number, wrapped, created_at) VALUES ($1, $2, $3)")
                    .bind(number)
                    .bind(wrapped)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::store::map_unique(e, &format!("vault key {number}")))?;
                Self::record_change(&mut tx, $crate::store::vault::VAULT_KEY_ADDED, &number.to_string(), None, at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stale_sealed(
                &self,
                col: &$crate::store::vault::SealedColumn,
                current: u32,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {id}, {c} FROM {t} WHERE {c} NOT LIKE $1 LIMIT $2",
                    id = col.id, c = col.column, t = col.table
                ))
                .bind(format!("v1.{current}.%"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn count_stale(&self, col: &$crate::store::vault::SealedColumn, current: u32) -> $crate::store::StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as(&format!(
                    "SELECT COUNT(*) FROM {t} WHERE {c} NOT LIKE $1",
                    c = col.column, t = col.table
                ))
                .bind(format!("v1.{current}.%"))
                .fetch_one(&self.pool)
                .await?;
                Ok(n)
            }

            async fn replace_sealed(
                &self,
                col: &$crate::store::vault::SealedColumn,
                id: &str,
                old: &str,
                new: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(&format!(
                    "UPDATE {t} SET {c} = $1 WHERE {id} = $2 AND {c} = $3",
                    id = col.id, c = col.column, t = col.table
                ))
                .bind(new)
                .bind(id)
                .bind(old)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn streams_with_restreams(&self, after: &str, limit: i64) -> $crate::store::StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT id, settings FROM streams WHERE settings LIKE '%streamKeySealed%' AND id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn replace_settings(&self, id: &str, old: &str, new: &str) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query("UPDATE streams SET settings = $1 WHERE id = $2 AND settings = $3")
                    .bind(new)
                    .bind(id)
                    .bind(old)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
