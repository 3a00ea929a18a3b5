//! Embedded SQLite: how its connections are opened, migrated and followed.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{ChangeListener, StoreError, StoreResult};
use crate::db::Db;

/// How often an SQLite instance looks for changes made by other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Connections of the read pool.
const READERS: u32 = 8;

/// WAL journal, `synchronous=FULL` so an acknowledged write survives a crash; a read pool and a
/// one-connection writer (see `Db`).
pub async fn connect(url: &str) -> StoreResult<Db> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // Every reader opened at start: a steady footprint (each has its worker thread and its page
    // cache) rather than one that steps up whenever a burst first needs another connection, and
    // no connection opened on a request's way.
    let read = SqlitePoolOptions::new()
        .min_connections(READERS)
        .max_connections(READERS)
        .connect_with(opts.clone())
        .await?;
    let failed = Arc::new(AtomicBool::new(false));
    let mark = failed.clone();
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_release(move |conn, _| {
            let failed = mark.swap(false, Ordering::AcqRel);
            Box::pin(async move { settled(conn, failed).await })
        })
        .connect_with(opts)
        .await?;
    Ok(Db::Sqlite {
        read,
        write,
        failed,
    })
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Keeps the writer's connection when it comes back to the pool only if nothing failed on it
/// (`failed`: a statement failed for another reason than its content) and no transaction is
/// left open on it; otherwise it is closed and the pool opens a fresh one.
///
/// When a write fails for want of space or on an I/O error (SQLITE_FULL, SQLITE_IOERR), SQLite
/// may roll the whole transaction back by itself. sqlx does not see that: the ROLLBACK it sends
/// when the transaction is dropped fails ("no transaction is active"), and it keeps counting the
/// transaction as open, so the connection's next `begin` opens a SAVEPOINT where a BEGIN belongs
/// and its commits stop meaning what they say (tests/it/outage.rs found acknowledged writes lost
/// this way on a full disk). And a connection opened while the file was read-only stays
/// read-only after the file is writable again: closed on its first refused write, the next one
/// opens read-write.
async fn settled(conn: &mut sqlx::SqliteConnection, failed: bool) -> Result<bool, sqlx::Error> {
    use sqlx::{Connection, TransactionManager};
    if failed {
        tracing::warn!("closing the SQLite writer's connection after a failed write");
        return Ok(false);
    }
    // The rollback of a dropped transaction is queued on the connection: let it run first.
    conn.ping().await?;
    let depth = <sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(conn);
    if depth > 0 {
        tracing::warn!(
            depth,
            "closing an SQLite connection left inside a transaction"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Runs the migrations on one connection with foreign keys off, as SQLite's procedure for
/// rebuilding a table asks (a table others refer to cannot be swapped otherwise, and the pragma
/// is a no-op inside the transaction each migration runs in); then checks that every reference
/// still holds, and turns them back on. A failure closes the connection, so none is left with
/// foreign keys off.
pub async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    use sqlx::Connection;
    let mut conn = pool.acquire().await?;
    let ran = async {
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let before = applied_migrations(&mut conn).await?;
        MIGRATOR.run_direct(&mut *conn).await?;
        // Only when a migration ran: the check reads every referring row.
        if applied_migrations(&mut conn).await? != before {
            let broken: Vec<(String,)> =
                sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                    .fetch_all(&mut *conn)
                    .await?;
            if let Some((table,)) = broken.first() {
                return Err(StoreError::Corrupt(format!(
                    "after migrating, rows of {table} refer to rows that do not exist"
                )));
            }
        }
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
    .await;
    if ran.is_err() {
        let _ = conn.detach().close().await;
    }
    ran
}

/// How many migrations the database records as applied (0 before the first).
async fn applied_migrations(conn: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    let (exists,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists == 0 {
        return Ok(0);
    }
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

/// The newest migration this binary carries.
pub fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database made before migration 27 (which rebuilds `webhooks` to widen its flavor
    /// CHECK) upgrades with every row, column and index kept, references still enforced, and
    /// the new flavor accepted.
    #[tokio::test]
    async fn the_webhooks_rebuild_keeps_rows_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let Db::Sqlite { write, .. } = connect(&url).await.unwrap() else {
            panic!("an SQLite store");
        };
        let old = sqlx::migrate::Migrator {
            migrations: MIGRATOR
                .iter()
                .filter(|m| m.version <= 26)
                .cloned()
                .collect::<Vec<_>>()
                .into(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        old.run(&write).await.unwrap();
        for sql in [
            "INSERT INTO accounts (id, name, number, created_at) VALUES ('a1', 'acme', '0001', 1)",
            "INSERT INTO webhooks (id, account_id, environment, url, events, secret_sealed, created_at, \
             credential_label, flavor, name, stream_id) VALUES ('w1', 'a1', 'production', \
             'https://h.example/x', '[\"stream.started\"]', 'sealed', 2, 'hooks', 'livepeer', 'n', 's1')",
            "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event, body, attempts, \
             next_attempt_at, created_at) VALUES ('d1', 'a1', 'w1', 'stream.started', '{}', 0, 3, 3)",
        ] {
            sqlx::query(sql).execute(&write).await.unwrap();
        }
        migrate(&write).await.unwrap();
        let (url, flavor, label, name, stream): (String, String, String, String, String) =
            sqlx::query_as(
                "SELECT url, flavor, credential_label, name, stream_id FROM webhooks WHERE id = 'w1'",
            )
            .fetch_one(&write)
            .await
            .unwrap();
        assert_eq!(
            (
                url.as_str(),
                flavor.as_str(),
                label.as_str(),
                name.as_str(),
                stream.as_str()
            ),
            ("https://h.example/x", "livepeer", "hooks", "n", "s1")
        );
        let (deliveries,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = 'w1'")
                .fetch_one(&write)
                .await
                .unwrap();
        assert_eq!(deliveries, 1);
        let indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhooks' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&write)
        .await
        .unwrap();
        let indexes: Vec<&str> = indexes.iter().map(|(n,)| n.as_str()).collect();
        assert_eq!(indexes, ["webhooks_scope", "webhooks_scope_flavor"]);
        sqlx::query(
            "INSERT INTO webhooks (id, account_id, environment, url, events, secret_sealed, created_at, flavor) \
             VALUES ('w2', 'a1', 'production', 'https://h.example/y', '[]', 's', 4, 'brightcove')",
        )
        .execute(&write)
        .await
        .unwrap();
        // The writer's connection has its references enforced again.
        let dangling = sqlx::query(
            "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event, body, attempts, \
             next_attempt_at, created_at) VALUES ('d2', 'a1', 'nope', 'e', '{}', 0, 3, 3)",
        )
        .execute(&write)
        .await;
        assert!(dangling.is_err(), "a delivery to no webhook was accepted");
        let unknown = sqlx::query(
            "INSERT INTO webhooks (id, account_id, environment, url, events, secret_sealed, created_at, flavor) \
             VALUES ('w3', 'a1', 'production', 'https://h.example/z', '[]', 's', 4, 'other')",
        )
        .execute(&write)
        .await;
        assert!(unknown.is_err(), "the flavor CHECK is gone");
    }
}
