//! What the dashboard keeps: sign-in sessions, sign-in attempts (lockout), users, and the
//! per-minute usage counters the usage flusher adds to.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::{Environment, Lockout, User};

/// A signed-in browser. The cookie holds the token; only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: [u8; 32],
    pub user_id: Uuid,
    /// Sent back in every form; a POST without it is refused.
    pub csrf: String,
    /// Which keys and streams the pages show.
    pub environment: Environment,
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("csrf", &"[redacted]")
            .field("environment", &self.environment)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How many requests (or refused authentications) a key had in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    pub account_id: Uuid,
    pub key_id: Uuid,
    /// `request` or `auth_failure`.
    pub kind: &'static str,
    /// Start of the bucket, ms since the epoch.
    pub bucket: i64,
    pub count: i64,
}

pub const SESSION_COLUMNS: &str = "id_hash, user_id, csrf, environment, created_at, expires_at";

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    id_hash: Vec<u8>,
    user_id: String,
    csrf: String,
    environment: String,
    created_at: i64,
    expires_at: i64,
}

impl SessionRow {
    pub fn into_record(self) -> StoreResult<SessionRecord> {
        let corrupt = |e: String| StoreError::Corrupt(e);
        Ok(SessionRecord {
            id_hash: self
                .id_hash
                .try_into()
                .map_err(|_| corrupt("session hash is not 32 bytes".into()))?,
            user_id: Uuid::parse_str(&self.user_id).map_err(|e| corrupt(e.to_string()))?,
            csrf: self.csrf,
            environment: Environment::parse(&self.environment)
                .map_err(|e| corrupt(e.to_string()))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// Dashboard users, their sign-in state and their sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Removes a user and ends its sessions (one transaction); false if there was none.
    async fn delete_user(&self, id: Uuid) -> StoreResult<bool>;
    /// Replaces a user's password hash and ends every session of the user except `keep`.
    async fn set_password(
        &self,
        user_id: Uuid,
        password_hash: &str,
        keep: &[u8; 32],
    ) -> StoreResult<()>;
    /// Until when (user name, client) may not try to sign in, if that is after `now`.
    async fn sign_in_locked_until(
        &self,
        username: &str,
        client: &str,
        now: i64,
    ) -> StoreResult<Option<i64>>;
    /// Counts an attempt of (user name, client) in one atomic statement, unless the pair is
    /// locked at `now`: returns the attempt's number since the last success, or None (locked;
    /// nothing changes). The `n`-th attempt locks the pair until `now + policy.lock_ms(n)`, so
    /// concurrent attempts beyond the free ones find it locked before any password is checked.
    async fn count_sign_in_attempt(
        &self,
        username: &str,
        client: &str,
        now: i64,
        policy: Lockout,
    ) -> StoreResult<Option<i64>>;
    /// A successful sign-in: the pair starts from nothing again.
    async fn clear_sign_in_attempts(&self, username: &str, client: &str) -> StoreResult<()>;
    /// Forgets pairs whose last attempt was before `before` and whose lock has ended by then.
    async fn prune_sign_in_attempts(&self, before: i64) -> StoreResult<u64>;
    async fn insert_login_session(&self, s: &SessionRecord) -> StoreResult<()>;
    /// The session of this token hash, if it has not expired at `now`.
    async fn login_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn set_login_session_environment(
        &self,
        id_hash: &[u8; 32],
        env: Environment,
    ) -> StoreResult<()>;
    async fn delete_login_session(&self, id_hash: &[u8; 32]) -> StoreResult<()>;
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &domain::User) -> crate::StoreResult<()> {
        self.db.execute("INSERT INTO users (id, account_id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)", crate::args![u.id.to_string(), u.account_id.to_string(), &u.username, &u.password_hash, u.role.as_str(), u.created_at]).await
            .map_err(|e| crate::map_unique(e, &format!("user {}", u.username)))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> crate::StoreResult<Option<domain::User>> {
        self.db.fetch_optional::<crate::rows::UserRow>("SELECT id, account_id, username, password_hash, role, created_at FROM users WHERE username = $1", crate::args![username]).await?
        .map(|r| r.into_domain())
        .transpose()
    }

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

    async fn sign_in_locked_until(
        &self,
        username: &str,
        client: &str,
        now: i64,
    ) -> crate::StoreResult<Option<i64>> {
        let row: Option<(i64,)> = self
            .db
            .fetch_optional(
                "SELECT locked_until FROM sign_in_attempts WHERE username = $1 AND client = $2 AND locked_until > $3",
                crate::args![username, client, now],
            )
            .await?;
        Ok(row.map(|(until,)| until))
    }

    async fn count_sign_in_attempt(
        &self,
        username: &str,
        client: &str,
        now: i64,
        policy: Lockout,
    ) -> crate::StoreResult<Option<i64>> {
        // The lock of attempt n (see `Lockout::lock_ms`), in SQL: 0 before the free attempts
        // are spent, then base_ms << (n - free), at most max_ms.
        const SQL: &str = "INSERT INTO sign_in_attempts (username, client, attempts, locked_until, last_at) \
             VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (username, client) DO UPDATE SET \
               attempts = sign_in_attempts.attempts + 1, \
               locked_until = CASE \
                 WHEN sign_in_attempts.attempts + 1 < $5 THEN 0 \
                 WHEN sign_in_attempts.attempts + 1 - $5 >= 30 THEN $4 + $7 \
                 WHEN ($6 << CAST(sign_in_attempts.attempts + 1 - $5 AS INTEGER)) >= $7 THEN $4 + $7 \
                 ELSE $4 + ($6 << CAST(sign_in_attempts.attempts + 1 - $5 AS INTEGER)) END, \
               last_at = $4 \
             WHERE sign_in_attempts.locked_until <= $4 \
             RETURNING attempts";
        let first_lock = match policy.lock_ms(1) {
            0 => 0,
            ms => now + ms,
        };
        let mut tx = self.db.begin().await?;
        let row: Option<(i64,)> = tx
            .fetch_optional(
                SQL,
                crate::args![
                    username,
                    client,
                    first_lock,
                    now,
                    policy.free_attempts,
                    policy.base_ms,
                    policy.max_ms
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(row.map(|(n,)| n))
    }

    async fn clear_sign_in_attempts(&self, username: &str, client: &str) -> crate::StoreResult<()> {
        self.db
            .execute(
                "DELETE FROM sign_in_attempts WHERE username = $1 AND client = $2",
                crate::args![username, client],
            )
            .await?;
        Ok(())
    }

    async fn prune_sign_in_attempts(&self, before: i64) -> crate::StoreResult<u64> {
        self.db
            .execute(
                "DELETE FROM sign_in_attempts WHERE last_at < $1 AND locked_until < $1",
                crate::args![before],
            )
            .await
    }

    async fn insert_login_session(
        &self,
        s: &crate::users::SessionRecord,
    ) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO dashboard_sessions ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    crate::users::SESSION_COLUMNS
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
    ) -> crate::StoreResult<Option<crate::users::SessionRecord>> {
        self.db
            .fetch_optional::<crate::users::SessionRow>(
                &format!(
                    "SELECT {} FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2",
                    crate::users::SESSION_COLUMNS
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_csrf_token_and_session_hash() {
        let s = SessionRecord {
            id_hash: [7; 32],
            user_id: Uuid::nil(),
            csrf: "csrfTokenValue0123456789abcdefgh".into(),
            environment: Environment::Production,
            created_at: 1,
            expires_at: 2,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("csrfTokenValue"));
        assert!(!shown.contains("7, 7"));
        assert!(shown.contains("[redacted]"));
    }
}
