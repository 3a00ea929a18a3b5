//! Per-key usage counts, per minute.

use async_trait::async_trait;
use uuid::Uuid;

use crate::users::UsageCount;
use crate::{SqlStore, StoreResult};

/// Usage counts per key and minute.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds the counts to what is stored (one transaction).
    async fn add_usage(&self, counts: &[UsageCount]) -> StoreResult<()>;
    /// The account's counts since `since`, summed into buckets of `step` ms, oldest first:
    /// (key id, kind, bucket start, count).
    async fn usage_series(
        &self,
        account_id: Uuid,
        since: i64,
        step: i64,
    ) -> StoreResult<Vec<(Uuid, String, i64, i64)>>;
    /// Drops counts older than `before`.
    async fn prune_usage(&self, before: i64) -> StoreResult<u64>;
}

#[async_trait]
impl UsageStore for SqlStore {
    async fn add_usage(&self, counts: &[crate::users::UsageCount]) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        for c in counts {
            tx.execute("INSERT INTO usage_counts (account_id, key_id, kind, bucket, count) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key_id, kind, bucket) DO UPDATE SET count = usage_counts.count + excluded.count", crate::args![c.account_id.to_string(), c.key_id.to_string(), c.kind, c.bucket, c.count]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage_series(
        &self,
        account_id: uuid::Uuid,
        since: i64,
        step: i64,
    ) -> crate::StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
        let rows: Vec<(String, String, i64, i64)> = self
            .db
            .fetch_all(
                "SELECT key_id, kind, (bucket / $3) * $3 AS b, CAST(SUM(count) AS BIGINT) \
             FROM usage_counts WHERE account_id = $1 AND bucket >= $2 \
             GROUP BY key_id, kind, b ORDER BY b, key_id, kind",
                crate::args![account_id.to_string(), since, step],
            )
            .await?;
        rows.into_iter()
            .map(|(k, kind, b, n)| {
                uuid::Uuid::parse_str(&k)
                    .map(|k| (k, kind, b, n))
                    .map_err(|e| crate::StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn prune_usage(&self, before: i64) -> crate::StoreResult<u64> {
        Ok(self
            .db
            .execute(
                "DELETE FROM usage_counts WHERE bucket < $1",
                crate::args![before],
            )
            .await?)
    }
}
