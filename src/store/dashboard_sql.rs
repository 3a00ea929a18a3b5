//! SQL for the dashboard's sessions, sign-in lockout and usage counters, shared by both backends.

macro_rules! impl_dashboard_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::dashboard::DashboardStore for $store {
            async fn user_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::User>> {
                sqlx::query_as::<_, $crate::store::rows::UserRow>(
                    "SELECT id, account_id, username, password_hash, role, created_at FROM users WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_domain())
                .transpose()
            }

            async fn list_users(&self) -> $crate::store::StoreResult<Vec<$crate::domain::User>> {
                sqlx::query_as::<_, $crate::store::rows::UserRow>(
                    "SELECT id, account_id, username, password_hash, role, created_at FROM users ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_domain())
                .collect()
            }

            async fn delete_user(&self, id: uuid::Uuid) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                sqlx::query("DELETE FROM dashboard_sessions WHERE user_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_password(
                &self,
                user_id: uuid::Uuid,
                password_hash: &str,
                keep: &[u8; 32],
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM dashboard_sessions WHERE user_id = $1 AND id_hash <> $2")
                    .bind(user_id.to_string())
                    .bind(keep.to_vec())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn login_state(
                &self,
                username: &str,
            ) -> $crate::store::StoreResult<(i64, Option<i64>)> {
                let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT failures, locked_until FROM login_attempts WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.unwrap_or((0, None)))
            }

            async fn set_login_state(
                &self,
                username: &str,
                failures: i64,
                locked_until: Option<i64>,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO login_attempts (username, failures, locked_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                )
                .bind(username)
                .bind(failures)
                .bind(locked_until)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn insert_login_session(
                &self,
                s: &$crate::store::dashboard::SessionRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO dashboard_sessions ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::store::dashboard::SESSION_COLUMNS
                ))
                .bind(s.id_hash.to_vec())
                .bind(s.user_id.to_string())
                .bind(&s.csrf)
                .bind(s.environment.as_str())
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(self.writer())
                .await?;
                // Expired sessions go as new ones come.
                sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
                    .bind(s.created_at)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn login_session(
                &self,
                id_hash: &[u8; 32],
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::dashboard::SessionRecord>> {
                sqlx::query_as::<_, $crate::store::dashboard::SessionRow>(&format!(
                    "SELECT {} FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2",
                    $crate::store::dashboard::SESSION_COLUMNS
                ))
                .bind(id_hash.to_vec())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.into_record())
                .transpose()
            }

            async fn set_login_session_environment(
                &self,
                id_hash: &[u8; 32],
                env: $crate::domain::Environment,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE dashboard_sessions SET environment = $1 WHERE id_hash = $2")
                    .bind(env.as_str())
                    .bind(id_hash.to_vec())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn delete_login_session(&self, id_hash: &[u8; 32]) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM dashboard_sessions WHERE id_hash = $1")
                    .bind(id_hash.to_vec())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn add_usage(
                &self,
                counts: &[$crate::store::dashboard::UsageCount],
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                for c in counts {
                    sqlx::query(
                        "INSERT INTO usage_counts (account_id, key_id, kind, bucket, count) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (key_id, kind, bucket) DO UPDATE SET count = usage_counts.count + excluded.count",
                    )
                    .bind(c.account_id.to_string())
                    .bind(c.key_id.to_string())
                    .bind(c.kind)
                    .bind(c.bucket)
                    .bind(c.count)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn usage_series(
                &self,
                account_id: uuid::Uuid,
                since: i64,
                step: i64,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT key_id, kind, (bucket / $3) * $3 AS b, CAST(SUM(count) AS BIGINT) \
                     FROM usage_counts WHERE account_id = $1 AND bucket >= $2 \
                     GROUP BY key_id, kind, b ORDER BY b, key_id, kind",
                )
                .bind(account_id.to_string())
                .bind(since)
                .bind(step)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(k, kind, b, n)| {
                        uuid::Uuid::parse_str(&k)
                            .map(|k| (k, kind, b, n))
                            .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))
                    })
                    .collect()
            }

            async fn prune_usage(&self, before: i64) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM usage_counts WHERE bucket < $1")
                    .bind(before)
                    .execute(self.writer())
                    .await?
                    .rows_affected())
            }
        }
    };
}
