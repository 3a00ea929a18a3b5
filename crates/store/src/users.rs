//! What the dashboard keeps: sign-in sessions, failed sign-ins (lockout), users, and the
//! per-minute usage counters the usage flusher adds to.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::{Environment, User};

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
    /// Failed sign-ins in a row for a user name, and until when it is locked.
    async fn login_state(&self, username: &str) -> StoreResult<(i64, Option<i64>)>;
    async fn set_login_state(
        &self,
        username: &str,
        failures: i64,
        locked_until: Option<i64>,
    ) -> StoreResult<()>;
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
