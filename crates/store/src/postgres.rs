//! PostgreSQL, for several instances serving together: how its pool is opened and migrated, and
//! how changes are pushed to the other instances (LISTEN/NOTIFY).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool};
use tokio::sync::Notify;

use super::{ChangeListener, StoreResult};
use crate::db::Db;

pub const CHANNEL: &str = "streamgate_changes";

/// How long a request waits for a pooled connection (including connecting) while the server is
/// up: a busy pool's queue under a burst of lock-holding updates may be long.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// While the health probe finds the server down, a statement gets this long (sqlx would retry a
/// refused connection until `ACQUIRE_TIMEOUT`): clients hear of an outage at once, and the first
/// statement to succeed once the server is back ends the outage.
pub const DOWN_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the probe's own connection may take to connect.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the server answers, as the health probe (`Store::ping`, every 500 ms from the server's
/// health task) finds it on a connection of its own, outside the pool, so that a pool busy with
/// long transactions never reads as an outage. Statements go through `guard`: while the server is
/// down they fail within `DOWN_TIMEOUT`, and those already waiting for a connection when it goes
/// down fail at once, instead of each waiting out `ACQUIRE_TIMEOUT`.
pub struct Reach {
    opts: PgConnectOptions,
    down: AtomicBool,
    went_down: Notify,
    conn: tokio::sync::Mutex<Option<PgConnection>>,
}

impl Reach {
    fn new(opts: PgConnectOptions) -> Self {
        Self {
            opts,
            down: AtomicBool::new(false),
            went_down: Notify::new(),
            conn: tokio::sync::Mutex::new(None),
        }
    }

    fn set_down(&self, down: bool) {
        let was = self.down.swap(down, Ordering::AcqRel);
        if down && !was {
            self.went_down.notify_waiters();
        }
    }

    /// Runs one statement on the pool, bounded as the server's reachability says.
    pub async fn guard<T>(
        &self,
        statement: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if self.down.load(Ordering::Acquire) {
            let r = tokio::time::timeout(DOWN_TIMEOUT, statement)
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut));
            // An answer, even a refusal, means the server is back.
            if matches!(&r, Ok(_) | Err(sqlx::Error::Database(_))) {
                self.set_down(false);
            }
            return r;
        }
        let went_down = self.went_down.notified();
        tokio::select! {
            r = statement => r,
            _ = went_down => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// The probe: `sql` on the probe's own connection (opened again when lost).
    pub async fn probe(&self, sql: &str) -> Result<(), sqlx::Error> {
        let r = self.probe_once(sql).await;
        match &r {
            Ok(()) => self.set_down(false),
            // Connection-level failures only: a missing table is not an outage of the server.
            Err(sqlx::Error::Database(_)) => {}
            Err(_) => self.set_down(true),
        }
        r
    }

    async fn probe_once(&self, sql: &str) -> Result<(), sqlx::Error> {
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            let fresh = tokio::time::timeout(PROBE_CONNECT_TIMEOUT, self.opts.connect())
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut))?;
            *conn = Some(fresh);
        }
        let Some(c) = conn.as_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let r = sqlx::query(sql).execute(&mut *c).await.map(|_| ());
        if matches!(&r, Err(e) if !matches!(e, sqlx::Error::Database(_))) {
            // Broken: the next probe connects again.
            *conn = None;
        }
        r
    }
}

pub async fn connect(url: &str) -> StoreResult<Db> {
    connect_with(PgConnectOptions::from_str(url)?).await
}

/// Writes use the shared pool: PostgreSQL queues concurrent writers itself.
pub async fn connect_with(opts: PgConnectOptions) -> StoreResult<Db> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(opts.clone())
        .await?;
    Ok(Db::Postgres(pool, Arc::new(Reach::new(opts))))
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub async fn migrate(pool: &PgPool) -> StoreResult<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// The newest migration this binary carries.
pub fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

pub async fn listener(pool: &PgPool) -> StoreResult<Box<dyn ChangeListener>> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(Box::new(NotifyListener { listener }))
}

struct NotifyListener {
    listener: PgListener,
}

#[async_trait]
impl ChangeListener for NotifyListener {
    async fn wait(&mut self, max: Duration) {
        // A lost connection is re-established by PgListener; the follower's catch-up query
        // after every wake-up covers anything sent meanwhile.
        match tokio::time::timeout(max, self.listener.recv()).await {
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "change listener lost its connection; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
