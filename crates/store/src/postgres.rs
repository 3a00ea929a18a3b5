//! PostgreSQL, for several instances serving together: how its pool is opened and migrated, and
//! how changes are pushed to the other instances (LISTEN/NOTIFY).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;

use super::{ChangeListener, StoreResult};
use crate::db::Db;
use crate::pg_reach::{Reach, ACQUIRE_TIMEOUT};

pub const CHANNEL: &str = "streamgate_changes";

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
