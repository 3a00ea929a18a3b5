//! The SQL both backends share. Every table uses the same column types on SQLite and PostgreSQL
//! (TEXT ids, BIGINT milliseconds, BOOLEAN, BLOB/BYTEA) and `$n` placeholders, which both accept,
//! so one body serves both. A backend supplies `BACKEND`, `LOCK_CHANGES`, `NOTIFY_CHANGES`,
//! `BYTEWISE` (the collation suffix that makes text comparisons bytewise), `writer()` (the pool
//! writes go through), `migrate_impl` and `listener_impl`.

macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn migrate(&self) -> $crate::store::StoreResult<()> {
                self.migrate_impl().await
            }

            async fn ping(&self) -> $crate::store::StoreResult<()> {
                // Reads a real table, so a missing schema or lost permissions count as down.
                sqlx::query("SELECT seq FROM changes ORDER BY seq DESC LIMIT 1")
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn listener(
                &self,
            ) -> $crate::store::StoreResult<Box<dyn $crate::store::ChangeListener>> {
                self.listener_impl().await
            }

            async fn insert_account(
                &self,
                a: &$crate::domain::Account,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO accounts (id, name, number, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(a.id.to_string())
                    .bind(&a.name)
                    .bind(a.number.as_str())
                    .bind(a.created_at)
                    .execute(self.writer())
                    .await
                    .map_err(|e| $crate::store::map_unique(e, &format!("account number {}", a.number)))?;
                Ok(())
            }

            async fn account_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::Account>> {
                sqlx::query_as::<_, $crate::store::rows::AccountRow>(
                    "SELECT id, name, number, created_at FROM accounts WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn account_by_number(
                &self,
                number: &str,
            ) -> $crate::store::StoreResult<Option<$crate::domain::Account>> {
                sqlx::query_as::<_, $crate::store::rows::AccountRow>(
                    "SELECT id, name, number, created_at FROM accounts WHERE number = $1",
                )
                .bind(number)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn list_accounts(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::Account>> {
                sqlx::query_as::<_, $crate::store::rows::AccountRow>(
                    "SELECT id, name, number, created_at FROM accounts ORDER BY number",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_domain())
                .collect()
            }

            async fn count_accounts(&self) -> $crate::store::StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn insert_user(&self, u: &$crate::domain::User) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO users (id, account_id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(u.id.to_string())
                    .bind(u.account_id.to_string())
                    .bind(&u.username)
                    .bind(&u.password_hash)
                    .bind(u.role.as_str())
                    .bind(u.created_at)
                    .execute(self.writer())
                    .await
                    .map_err(|e| $crate::store::map_unique(e, &format!("user {}", u.username)))?;
                Ok(())
            }

            async fn user_by_username(
                &self,
                username: &str,
            ) -> $crate::store::StoreResult<Option<$crate::domain::User>> {
                sqlx::query_as::<_, $crate::store::rows::UserRow>(
                    "SELECT id, account_id, username, password_hash, role, created_at FROM users WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn insert_api_key(
                &self,
                k: &$crate::domain::ApiKey,
                secret_hash: &[u8; 32],
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::insert_key_rows(&mut tx, std::slice::from_ref(&(k.clone(), *secret_hash))).await?;
                Self::record_change(&mut tx, "api_key.created", &k.id.to_string(), Some(secret_hash), k.created_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_api_keys_bulk(
                &self,
                keys: &[($crate::domain::ApiKey, [u8; 32])],
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::insert_key_rows(&mut tx, keys).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn api_key_by_hash(
                &self,
                secret_hash: &[u8; 32],
            ) -> $crate::store::StoreResult<Option<$crate::domain::ApiKey>> {
                sqlx::query_as::<_, $crate::store::rows::ApiKeyRow>(&format!(
                    "SELECT {} FROM api_keys WHERE secret_hash = $1",
                    $crate::store::rows::API_KEY_COLUMNS
                ))
                .bind(secret_hash.to_vec())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn api_key_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::ApiKey>> {
                sqlx::query_as::<_, $crate::store::rows::ApiKeyRow>(&format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    $crate::store::rows::API_KEY_COLUMNS
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn list_api_keys(
                &self,
                account_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::ApiKey>> {
                sqlx::query_as::<_, $crate::store::rows::ApiKeyRow>(&format!(
                    "SELECT {} FROM api_keys WHERE account_id = $1 ORDER BY created_at, id",
                    $crate::store::rows::API_KEY_COLUMNS
                ))
                .bind(account_id.to_string())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_domain())
                .collect()
            }

            async fn revoke_api_key(
                &self,
                id: uuid::Uuid,
                at: i64,
            ) -> $crate::store::StoreResult<Option<$crate::domain::ApiKey>> {
                let mut tx = self.writer().begin().await?;
                // The write comes first so SQLite takes its write lock before any read.
                let updated = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if updated == 1 {
                    let (hash,): (Vec<u8>,) = sqlx::query_as("SELECT secret_hash FROM api_keys WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_one(&mut *tx)
                        .await?;
                    Self::record_change(&mut tx, "api_key.revoked", &id.to_string(), Some(&hash), at).await?;
                }
                let key = sqlx::query_as::<_, $crate::store::rows::ApiKeyRow>(&format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    $crate::store::rows::API_KEY_COLUMNS
                ))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.into_domain())
                .transpose()?;
                tx.commit().await?;
                Ok(key)
            }

            async fn touch_api_keys(&self, used: &[(uuid::Uuid, i64)]) -> $crate::store::StoreResult<()> {
                if used.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer().begin().await?;
                for (id, at) in used {
                    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
                        .bind(*at)
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_change(&self) -> $crate::store::StoreResult<i64> {
                let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM changes")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq.unwrap_or(0))
            }

            async fn prune_changes(&self, before: i64) -> $crate::store::StoreResult<u64> {
                self.prune_changes_impl(before).await
            }

            async fn changes_since(
                &self,
                seq: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Change>> {
                let rows = sqlx::query_as::<_, $crate::store::rows::ChangeRow>(
                    "SELECT seq, kind, object_id, key_hash FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| $crate::store::Change {
                        seq: r.seq,
                        kind: r.kind,
                        object_id: r.object_id,
                        key_hash: r.key_hash,
                    })
                    .collect())
            }
        }

        impl $store {
            async fn prune_changes_impl(&self, before: i64) -> $crate::store::StoreResult<u64> {
                // Never the newest entry: it tells a restarting follower where the log stands.
                let done = sqlx::query("DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)")
                    .bind(before)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            /// Inserts API key rows, a thousand per statement, inside the caller's transaction.
            async fn insert_key_rows(
                tx: &mut sqlx::Transaction<'_, $db>,
                keys: &[($crate::domain::ApiKey, [u8; 32])],
            ) -> $crate::store::StoreResult<()> {
                for chunk in keys.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO api_keys (id, account_id, name, environment, prefix, secret_hash, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at) ");
                    qb.push_values(chunk, |mut b, (k, h)| {
                        b.push_bind(k.id.to_string())
                            .push_bind(k.account_id.to_string())
                            .push_bind(k.name.clone())
                            .push_bind(k.environment.as_str())
                            .push_bind(k.prefix.clone())
                            .push_bind(h.to_vec())
                            .push_bind($crate::store::rows::origins_json(&k.cors))
                            .push_bind(k.cors.full_access)
                            .push_bind(k.created_at)
                            .push_bind(k.last_used_at)
                            .push_bind(k.expires_at)
                            .push_bind(k.revoked_at);
                    });
                    qb.build()
                        .execute(&mut **tx)
                        .await
                        .map_err(|e| $crate::store::map_unique(e, "api key"))?;
                }
                Ok(())
            }

            /// Appends to the `changes` log inside the caller's transaction.
            async fn record_change(
                tx: &mut sqlx::Transaction<'_, $db>,
                kind: &str,
                object_id: &str,
                key_hash: Option<&[u8]>,
                at: i64,
            ) -> $crate::store::StoreResult<()> {
                if let Some(lock) = Self::LOCK_CHANGES {
                    sqlx::query(lock).execute(&mut **tx).await?;
                }
                sqlx::query("INSERT INTO changes (kind, object_id, key_hash, at) VALUES ($1, $2, $3, $4)")
                    .bind(kind)
                    .bind(object_id)
                    .bind(key_hash.map(<[u8]>::to_vec))
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                if let Some(notify) = Self::NOTIFY_CHANGES {
                    sqlx::query(notify).execute(&mut **tx).await?;
                }
                Ok(())
            }
        }
    };
}
