//! The change log every instance follows to drop what it cached (revocations, suspensions…).

use async_trait::async_trait;
use std::time::Duration;

use crate::{SqlStore, StoreResult};

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

/// The `changes` log.
#[async_trait]
pub trait ChangeLog: Send + Sync {
    async fn latest_change(&self) -> StoreResult<i64>;
    async fn changes_since(&self, seq: i64, limit: i64) -> StoreResult<Vec<Change>>;
    /// Deletes change-log entries older than `before` (ms); returns how many went.
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
}

#[async_trait]
impl ChangeLog for SqlStore {
    async fn latest_change(&self) -> crate::StoreResult<i64> {
        let (seq,): (Option<i64>,) = self
            .db
            .fetch_one("SELECT MAX(seq) FROM changes", crate::db::Args::default())
            .await?;
        Ok(seq.unwrap_or(0))
    }

    async fn changes_since(&self, seq: i64, limit: i64) -> crate::StoreResult<Vec<crate::Change>> {
        let rows = self.db.fetch_all::<crate::rows::ChangeRow>("SELECT seq, kind, object_id, key_hash FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2", crate::args![seq, limit]).await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::Change {
                seq: r.seq,
                kind: r.kind,
                object_id: r.object_id,
                key_hash: r.key_hash,
            })
            .collect())
    }

    async fn prune_changes(&self, before: i64) -> crate::StoreResult<u64> {
        self.prune_changes_impl(before).await
    }
}

impl SqlStore {
    async fn prune_changes_impl(&self, before: i64) -> crate::StoreResult<u64> {
        // Never the newest entry: it tells a restarting follower where the log stands.
        let done = self
            .db
            .execute(
                "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)",
                crate::args![before],
            )
            .await?;
        Ok(done)
    }
}
