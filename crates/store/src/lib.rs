//! Persistence: the `Store` trait and its SQLite and PostgreSQL implementations.

pub mod credentials;
mod credentials_sql;
pub mod dashboard;
mod dashboard_sql;
pub mod db;
pub mod deliveries;
mod deliveries_sql;
pub mod group;
mod group_sql;
pub mod postgres;
mod rows;
mod sql;
pub mod sqlite;
pub mod stream_keys;
mod stream_keys_sql;
pub mod streams;
mod streams_sql;
pub mod tokens;
mod tokens_sql;
pub mod uploads;
mod uploads_sql;
pub mod vault;
mod vault_sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use domain::{Account, ApiKey, User};

pub use credentials::{CredentialRecord, CredentialStore};
pub use dashboard::{DashboardStore, SessionRecord, UsageCount};
pub use deliveries::{DeliveryRecord, DeliveryStore};
pub use group::{GroupStore, GroupWrite};
pub use stream_keys::{StreamKeyRecord, StreamKeyStore};
pub use streams::{Scope, StreamRecord, StreamStore, TargetRecord};
pub use tokens::{RefreshRecord, RefreshUse, SigningKeyRecord, TokenStore};
pub use uploads::UploadStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A transaction shared with other requests' writes failed (group commit); the message is
    /// the database's error, which the first of those requests received as such.
    #[error("shared write failed: {0}")]
    SharedWrite(String),
    #[error("unsupported database url {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A write refused for what it contains (a constraint: unique, foreign key, check), as
    /// opposed to the database failing (connection lost, busy, a commit that may or may not have
    /// happened). The same write without the offending content may succeed.
    pub fn is_refused_content(&self) -> bool {
        match self {
            StoreError::Conflict(_) => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                !matches!(db.kind(), sqlx::error::ErrorKind::Other)
            }
            _ => false,
        }
    }
}

/// How a store failure reaches the services and dialects: a conflict is the caller's to fix,
/// anything else means the store is unavailable.
impl From<StoreError> for domain::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => domain::Error::Conflict(what),
            other => domain::Error::Store(Box::new(other)),
        }
    }
}

/// One entry of the `changes` log: something cached elsewhere must be dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub kind: String,
    pub object_id: String,
    pub key_hash: Option<Vec<u8>>,
}

/// Wakes the change follower: on PostgreSQL when a NOTIFY arrives, on SQLite after a short poll interval.
#[async_trait]
pub trait ChangeListener: Send {
    /// Returns when there may be new changes, or after `max` at the latest.
    async fn wait(&mut self, max: Duration);
}

#[async_trait]
pub trait Store:
    streams::StreamStore
    + tokens::TokenStore
    + uploads::UploadStore
    + stream_keys::StreamKeyStore
    + credentials::CredentialStore
    + vault::VaultStore
    + deliveries::DeliveryStore
    + dashboard::DashboardStore
    + group::GroupStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
    async fn listener(&self) -> StoreResult<Box<dyn ChangeListener>>;

    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>>;
    async fn account_by_number(&self, number: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    async fn count_accounts(&self) -> StoreResult<i64>;

    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;

    /// Inserts the key and records a `changes` entry in one transaction.
    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8; 32]) -> StoreResult<()>;
    /// Bulk insert without change entries, for seeding benchmarks.
    async fn insert_api_keys_bulk(&self, keys: &[(ApiKey, [u8; 32])]) -> StoreResult<()>;
    async fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<ApiKey>>;
    async fn api_key_by_id(&self, id: Uuid) -> StoreResult<Option<ApiKey>>;
    /// An account's keys, of one environment or all; oldest first.
    async fn list_api_keys(
        &self,
        account_id: Uuid,
        environment: Option<domain::Environment>,
    ) -> StoreResult<Vec<ApiKey>>;
    /// Marks the key revoked (if it was not already) and records a change. Returns the key as it now is.
    async fn revoke_api_key(&self, id: Uuid, at: i64) -> StoreResult<Option<ApiKey>>;
    /// Writes back batched `last_used_at` values (never moving one backwards).
    async fn touch_api_keys(&self, used: &[(Uuid, i64)]) -> StoreResult<()>;

    async fn latest_change(&self) -> StoreResult<i64>;
    async fn changes_since(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>>;
    /// Deletes change-log entries older than `before` (ms); returns how many went.
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
}

/// The store on either SQL backend: every query is written once, for both (see `db`).
pub struct SqlStore {
    db: db::Db,
}

/// Opens the store a database URL names: `sqlite://PATH` or `postgres://…`.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    let db = if url.starts_with("sqlite:") {
        sqlite::connect(url).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::connect(url).await?
    } else {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    };
    Ok(Arc::new(SqlStore { db }))
}

/// A unique-constraint violation reads as "`what` already exists"; any other error is kept.
pub(crate) fn map_unique(e: StoreError, what: &str) -> StoreError {
    match &e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Conflict(format!("{what} already exists"))
        }
        _ => e,
    }
}
