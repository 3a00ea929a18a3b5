//! Persistence: one store per kind of thing streamgate keeps (accounts, users, keys, the change
//! log, tokens, audit, usage, streams, sessions, stream keys, credentials, webhooks and their
//! deliveries, uploads, the vault, ingest tokens), all implemented once by `SqlStore` for SQLite and PostgreSQL
//! (see `db`), and `Store`, which is all of them.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod credentials;
pub mod db;
pub mod group;
pub mod ingest_tokens;
pub mod keys;
pub mod live_jobs;
pub mod pg_reach;
pub mod playback_keys;
pub mod postgres;
#[cfg(test)]
mod query_plans;
pub mod ratelimits;
mod rows;
pub mod sessions;
pub mod sqlite;
pub mod stream_keys;
pub mod streams;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod users;
pub mod vault;
pub mod videos;
pub mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;

use db::Args;

pub use accounts::AccountStore;
pub use audit::AuditStore;
pub use changes::{Change, ChangeListener, ChangeLog};
pub use credentials::{CredentialRecord, CredentialStore};
pub use group::{GroupStore, GroupWrite};
pub use ingest_tokens::IngestTokenStore;
pub use keys::KeyStore;
pub use live_jobs::LiveJobStore;
pub use playback_keys::{PlaybackKeyPatch, PlaybackKeyStore};
pub use ratelimits::{RateLimitStore, WindowCount};
pub use sessions::SessionStore;
pub use stream_keys::{StreamKeyRecord, StreamKeyStore};
pub use streams::{Scope, StreamRecord, StreamStore, TargetRecord};
pub use tokens::{RefreshRecord, RefreshUse, SigningKeyRecord, TokenStore};
pub use uploads::{PlainUploadRow, UploadStore, UploadTokenRecord};
pub use usage::UsageStore;
pub use users::{SessionRecord, UsageCount, UserStore};
pub use vault::VaultStore;
pub use videos::{PartWritten, VideoFilter, VideoPatch, VideoSort, VideoStore};
pub use webhooks::{DeliveryRecord, DueQuery, WebhookStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    /// A name another account (or environment) owns.
    #[error("{0}")]
    Owned(String),
    /// Refused by the caller's own check, made inside the transaction on the row as it is
    /// (read-modify-write under the row's lock).
    #[error("{0}")]
    Refused(domain::Error),
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
            StoreError::Conflict(_) | StoreError::Owned(_) | StoreError::Refused(_) => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                !matches!(db.kind(), sqlx::error::ErrorKind::Other)
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// The database could not write for want of space: SQLite's SQLITE_FULL (the disk, or the
    /// file size limit), PostgreSQL's `disk_full` (53100).
    pub fn is_out_of_space(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return false;
        };
        let Some(code) = db.code() else {
            return false;
        };
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            // Extended result codes keep the primary code in the low byte.
            return code.parse::<i32>().is_ok_and(|c| c & 0xff == 13);
        }
        code == "53100"
    }
}

/// How a store failure reaches the services and dialects: a conflict is the caller's to fix,
/// anything else means the store is unavailable.
impl From<StoreError> for domain::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => domain::Error::Conflict(what),
            StoreError::Owned(what) => domain::Error::Owned(what),
            StoreError::Refused(e) => e,
            other if other.is_out_of_space() => domain::Error::StoreFull,
            other => domain::Error::Store(Box::new(other)),
        }
    }
}

/// Everything streamgate keeps, one store per kind of thing, on one database.
#[async_trait]
pub trait Store:
    AccountStore
    + UserStore
    + KeyStore
    + ChangeLog
    + TokenStore
    + AuditStore
    + UsageStore
    + StreamStore
    + SessionStore
    + StreamKeyStore
    + CredentialStore
    + WebhookStore
    + UploadStore
    + VaultStore
    + GroupStore
    + RateLimitStore
    + IngestTokenStore
    + PlaybackKeyStore
    + VideoStore
    + LiveJobStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> StoreResult<()>;
    /// Reads a real table, so a missing schema or lost permissions count as down.
    async fn ping(&self) -> StoreResult<()>;
    /// Has every migration this binary carries been applied to the database (readiness)?
    async fn migrations_applied(&self) -> StoreResult<bool>;
    /// Wakes the change follower when other instances may have logged changes.
    async fn listener(&self) -> StoreResult<Box<dyn ChangeListener>>;
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.db.backend().name()
    }

    async fn migrate(&self) -> crate::StoreResult<()> {
        match &self.db {
            crate::db::Db::Sqlite { write, .. } => crate::sqlite::migrate(write).await,
            crate::db::Db::Postgres(pool, _) => crate::postgres::migrate(pool).await,
        }
    }

    async fn ping(&self) -> crate::StoreResult<()> {
        // Reads a real table, so a missing schema or lost permissions count as down.
        self.db
            .probe("SELECT seq FROM changes ORDER BY seq DESC LIMIT 1")
            .await
    }

    async fn migrations_applied(&self) -> crate::StoreResult<bool> {
        #[derive(sqlx::FromRow)]
        struct Applied {
            version: Option<i64>,
        }
        let (latest, sql) = match &self.db {
            crate::db::Db::Sqlite { .. } => (
                crate::sqlite::latest_migration(),
                "SELECT MAX(version) AS version FROM _sqlx_migrations WHERE success = 1",
            ),
            crate::db::Db::Postgres(..) => (
                crate::postgres::latest_migration(),
                "SELECT MAX(version) AS version FROM _sqlx_migrations WHERE success",
            ),
        };
        let applied: Applied = self.db.fetch_one(sql, Args::default()).await?;
        Ok(applied.version.unwrap_or(0) >= latest)
    }

    async fn listener(&self) -> crate::StoreResult<Box<dyn crate::ChangeListener>> {
        match &self.db {
            crate::db::Db::Sqlite { .. } => Ok(crate::sqlite::listener()),
            crate::db::Db::Postgres(pool, _) => crate::postgres::listener(pool).await,
        }
    }
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
