//! What the store keeps and for how long: audit events past the retention
//! (`Settings::audit_retention`, 90 days by default) are pruned in the background, in batches;
//! the same hourly housekeeping fails imports whose process stopped.

use std::sync::Arc;
use std::time::Duration;

use super::Services;
use domain::Error;

/// Rows removed per statement: small enough that the writer is never held for long.
const PRUNE_BATCH: i64 = 5_000;
/// How often the pruner runs (and once at start).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Services {
    /// Removes every audit event older than the retention; returns how many went. A background
    /// task of the server, not a request: nothing a caller sends can reach it.
    pub async fn prune_audit(&self) -> Result<u64, Error> {
        let Some(keep) = self.settings.audit_retention else {
            return Ok(0);
        };
        let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let before = self.now_ms().saturating_sub(keep_ms);
        let mut total = 0;
        loop {
            let n = self.store.prune_audit(before, PRUNE_BATCH).await?;
            total += n;
            if n < PRUNE_BATCH.unsigned_abs() {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Prunes at start and then hourly until `stop`.
    pub async fn run_retention(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.prune_audit().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "pruned audit events past the retention"),
                Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
            }
            match self.fail_stalled_imports().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(failed = n, "imports whose process stopped were failed"),
                Err(e) => tracing::warn!(error = %e, "could not check for stalled imports"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
