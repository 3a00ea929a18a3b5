//! What the dashboard keeps: sign-in sessions, failed sign-ins (lockout), users, and the
//! per-minute usage counters the usage flusher adds to.

use async_trait::async_trait;
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

#[async_trait]
pub trait DashboardStore: Send + Sync {
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

    /// Adds the counts to what is stored (one transaction).
    async fn add_usage(&self, counts: &[UsageCount]) -> StoreResult<()>;
    /// The account's counts since `since`, summed into buckets of `step` ms, oldest first:
    /// (key id, kind, bucket start, count).
    async fn usage_series(
        &self,
        account_id: Uuid,
        since: i64,
        step: i64,
    ) -> StoreResult<Vec<(Uuid, String, i64, i64)>>;
    /// Drops counts older than `before`.
    async fn prune_usage(&self, before: i64) -> StoreResult<u64>;
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
