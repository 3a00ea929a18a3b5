//! Embedded SQLite: how its connections are opened, migrated and followed.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{ChangeListener, StoreResult};
use crate::db::Db;

/// How often an SQLite instance looks for changes made by other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// WAL journal, `synchronous=FULL` so an acknowledged write survives a crash; a read pool and a
/// one-connection writer (see `Db`).
pub async fn connect(url: &str) -> StoreResult<Db> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts.clone())
        .await?;
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await?;
    Ok(Db::Sqlite { read, write })
}

pub async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::migrate!("migrations/sqlite").run(pool).await?;
    Ok(())
}

/// Other processes' changes are found by polling.
pub fn listener() -> Box<dyn ChangeListener> {
    Box::new(PollListener)
}

struct PollListener;

#[async_trait]
impl ChangeListener for PollListener {
    async fn wait(&mut self, max: Duration) {
        tokio::time::sleep(max.min(POLL_INTERVAL)).await;
    }
}
