//! SQL for the dashboard's sessions, sign-in lockout and usage counters, shared by both backends.

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::dashboard::DashboardStore for SqlStore {
    async fn user_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::User>> {
        self.db.fetch_optional::<crate::rows::UserRow>("SELECT id, account_id, username, password_hash, role, created_at FROM users WHERE id = $1", crate::args![id.to_string()]).await?
        .map(|r| r.into_domain())
        .transpose()
    }

    async fn list_users(&self) -> crate::StoreResult<Vec<domain::User>> {
        self.db.fetch_all::<crate::rows::UserRow>("SELECT id, account_id, username, password_hash, role, created_at FROM users ORDER BY created_at, id", crate::db::Args::default()).await?
        .into_iter()
        .map(|r| r.into_domain())
        .collect()
    }

    async fn delete_user(&self, id: uuid::Uuid) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM dashboard_sessions WHERE user_id = $1",
            crate::args![id.to_string()],
        )
        .await?;
        let done = tx
            .execute(
                "DELETE FROM users WHERE id = $1",
                crate::args![id.to_string()],
            )
            .await?;
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn set_password(
        &self,
        user_id: uuid::Uuid,
        password_hash: &str,
        keep: &[u8; 32],
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE users SET password_hash = $1 WHERE id = $2",
            crate::args![password_hash, user_id.to_string()],
        )
        .await?;
        tx.execute(
            "DELETE FROM dashboard_sessions WHERE user_id = $1 AND id_hash <> $2",
            crate::args![user_id.to_string(), keep.to_vec()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login_state(&self, username: &str) -> crate::StoreResult<(i64, Option<i64>)> {
        let row: Option<(i64, Option<i64>)> = self
            .db
            .fetch_optional(
                "SELECT failures, locked_until FROM login_attempts WHERE username = $1",
                crate::args![username],
            )
            .await?;
        Ok(row.unwrap_or((0, None)))
    }

    async fn set_login_state(
        &self,
        username: &str,
        failures: i64,
        locked_until: Option<i64>,
    ) -> crate::StoreResult<()> {
        self.db.execute("INSERT INTO login_attempts (username, failures, locked_until) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until", crate::args![username, failures, locked_until]).await?;
        Ok(())
    }

    async fn insert_login_session(
        &self,
        s: &crate::dashboard::SessionRecord,
    ) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO dashboard_sessions ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    crate::dashboard::SESSION_COLUMNS
                ),
                crate::args![
                    s.id_hash.to_vec(),
                    s.user_id.to_string(),
                    &s.csrf,
                    s.environment.as_str(),
                    s.created_at,
                    s.expires_at
                ],
            )
            .await?;
        // Expired sessions go as new ones come.
        self.db
            .execute(
                "DELETE FROM dashboard_sessions WHERE expires_at <= $1",
                crate::args![s.created_at],
            )
            .await?;
        Ok(())
    }

    async fn login_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> crate::StoreResult<Option<crate::dashboard::SessionRecord>> {
        self.db
            .fetch_optional::<crate::dashboard::SessionRow>(
                &format!(
                    "SELECT {} FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2",
                    crate::dashboard::SESSION_COLUMNS
                ),
                crate::args![id_hash.to_vec(), now],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn set_login_session_environment(
        &self,
        id_hash: &[u8; 32],
        env: domain::Environment,
    ) -> crate::StoreResult<()> {
        self.db
            .execute(
                "UPDATE dashboard_sessions SET environment = $1 WHERE id_hash = $2",
                crate::args![env.as_str(), id_hash.to_vec()],
            )
            .await?;
        Ok(())
    }

    async fn delete_login_session(&self, id_hash: &[u8; 32]) -> crate::StoreResult<()> {
        self.db
            .execute(
                "DELETE FROM dashboard_sessions WHERE id_hash = $1",
                crate::args![id_hash.to_vec()],
            )
            .await?;
        Ok(())
    }

    async fn add_usage(&self, counts: &[crate::dashboard::UsageCount]) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        for c in counts {
            tx.execute("INSERT INTO usage_counts (account_id, key_id, kind, bucket, count) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key_id, kind, bucket) DO UPDATE SET count = usage_counts.count + excluded.count", crate::args![c.account_id.to_string(), c.key_id.to_string(), c.kind, c.bucket, c.count]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage_series(
        &self,
        account_id: uuid::Uuid,
        since: i64,
        step: i64,
    ) -> crate::StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
        let rows: Vec<(String, String, i64, i64)> = self
            .db
            .fetch_all(
                "SELECT key_id, kind, (bucket / $3) * $3 AS b, CAST(SUM(count) AS BIGINT) \
             FROM usage_counts WHERE account_id = $1 AND bucket >= $2 \
             GROUP BY key_id, kind, b ORDER BY b, key_id, kind",
                crate::args![account_id.to_string(), since, step],
            )
            .await?;
        rows.into_iter()
            .map(|(k, kind, b, n)| {
                uuid::Uuid::parse_str(&k)
                    .map(|k| (k, kind, b, n))
                    .map_err(|e| crate::StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn prune_usage(&self, before: i64) -> crate::StoreResult<u64> {
        Ok(self
            .db
            .execute(
                "DELETE FROM usage_counts WHERE bucket < $1",
                crate::args![before],
            )
            .await?)
    }
}
