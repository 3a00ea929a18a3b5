use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;

use super::{ChangeListener, StoreResult};

/// PostgreSQL, for several instances serving together. Changes are pushed with LISTEN/NOTIFY.
pub struct PostgresStore {
    pool: PgPool,
}

pub const CHANNEL: &str = "streamgate_changes";

impl PostgresStore {
    const BACKEND: &'static str = "postgres";
    const LOCK_CHANGES: Option<&'static str> = Some("LOCK TABLE changes IN EXCLUSIVE MODE");
    const NOTIFY_CHANGES: Option<&'static str> = Some("SELECT pg_notify('streamgate_changes', '')");
    /// The database's collation may not order text bytewise; "C" does (and the index uses it).
    const BYTEWISE: &'static str = " COLLATE \"C\"";

    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn connect_with(opts: PgConnectOptions) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }

    /// Writes use the shared pool: PostgreSQL queues concurrent writers itself.
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn migrate_impl(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn listener_impl(&self) -> StoreResult<Box<dyn ChangeListener>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Box::new(NotifyListener { listener }))
    }
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

impl_sql_store!(PostgresStore, sqlx::Postgres);
impl_stream_store!(PostgresStore);
impl_token_store!(PostgresStore);
impl_upload_store!(PostgresStore);
impl_stream_key_store!(PostgresStore);
impl_vault_store!(PostgresStore);
impl_dashboard_store!(PostgresStore);
impl_delivery_store!(PostgresStore, sqlx::Postgres);
impl_group_store!(PostgresStore, sqlx::Postgres);
impl_credential_store!(PostgresStore, sqlx::Postgres);
