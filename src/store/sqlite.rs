use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{ChangeListener, StoreResult};

/// Embedded SQLite: WAL journal, `synchronous=FULL` so an acknowledged write survives a crash.
///
/// SQLite lets one connection write at a time; others that try wait in its busy handler, which
/// sleeps in growing steps (up to 100 ms each) and lets late arrivals overtake. Writes therefore go
/// through a pool of one connection (`writer`), where they queue in order without sleeping; reads
/// use the other pool and never wait for a write (WAL).
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
}

/// How often an SQLite instance looks for changes made by other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";
    const LOCK_CHANGES: Option<&'static str> = None;
    const NOTIFY_CHANGES: Option<&'static str> = None;
    /// SQLite compares text bytewise (BINARY) already.
    const BYTEWISE: &'static str = "";

    pub async fn connect(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone())
            .await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        Ok(Self { pool, writer })
    }

    /// The connection every write goes through (see the type's documentation).
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn migrate_impl(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn listener_impl(&self) -> StoreResult<Box<dyn ChangeListener>> {
        Ok(Box::new(PollListener))
    }
}

struct PollListener;

#[async_trait]
impl ChangeListener for PollListener {
    async fn wait(&mut self, max: Duration) {
        tokio::time::sleep(max.min(POLL_INTERVAL)).await;
    }
}

impl_sql_store!(SqliteStore, sqlx::Sqlite);
impl_stream_store!(SqliteStore);
impl_token_store!(SqliteStore);
impl_upload_store!(SqliteStore);
impl_stream_key_store!(SqliteStore);
impl_vault_store!(SqliteStore);
impl_dashboard_store!(SqliteStore);
impl_delivery_store!(SqliteStore, sqlx::Sqlite);
impl_group_store!(SqliteStore, sqlx::Sqlite);
impl_credential_store!(SqliteStore, sqlx::Sqlite);
