//! Whether the PostgreSQL server answers, as a probe on a connection of its own finds it, and
//! statements bounded by it: apart from the pool (`postgres.rs`) and the connection (`db.rs`),
//! which both use it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::Notify;

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
    pub(crate) fn new(opts: PgConnectOptions) -> Self {
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
