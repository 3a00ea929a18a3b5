//! Rate-limit counts shared by the instances on one store: each instance writes its own count of
//! a key's current window and reads the sum of the others'.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};

/// One instance's count of requests admitted for a key in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub key_id: Uuid,
    pub window_start: i64,
    pub count: i64,
}

#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Records `instance`'s counts (absolute, so a retry cannot double them) and returns, for
    /// the same keys and windows, what the other instances have counted.
    async fn sync_rate_counts(
        &self,
        instance: &str,
        counts: &[WindowCount],
    ) -> StoreResult<Vec<WindowCount>>;
    /// Drops counts of windows that started before `before`.
    async fn prune_rate_counts(&self, before: i64) -> StoreResult<u64>;
}

#[async_trait]
impl RateLimitStore for SqlStore {
    async fn sync_rate_counts(
        &self,
        instance: &str,
        counts: &[WindowCount],
    ) -> StoreResult<Vec<WindowCount>> {
        let mut tx = self.db.begin().await?;
        let mut others = Vec::with_capacity(counts.len());
        for c in counts {
            let key = c.key_id.to_string();
            tx.execute(
                "INSERT INTO ratelimit_counts (key_id, window_start, instance, count) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key_id, window_start, instance) DO UPDATE SET count = excluded.count",
                crate::args![key.as_str(), c.window_start, instance, c.count],
            )
            .await?;
            let (sum,): (Option<i64>,) = tx
                .fetch_one(
                    "SELECT CAST(SUM(count) AS BIGINT) FROM ratelimit_counts WHERE key_id = $1 AND window_start = $2 AND instance <> $3",
                    crate::args![key.as_str(), c.window_start, instance],
                )
                .await?;
            others.push(WindowCount {
                count: sum.unwrap_or(0),
                ..*c
            });
        }
        tx.commit().await?;
        Ok(others)
    }

    async fn prune_rate_counts(&self, before: i64) -> StoreResult<u64> {
        self.db
            .execute(
                "DELETE FROM ratelimit_counts WHERE window_start < $1",
                crate::args![before],
            )
            .await
    }
}
