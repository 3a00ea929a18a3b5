//! Per-key usage, recorded in memory on the hot path and written back in batches: `last_used_at`
//! and per-minute request and refused-authentication counts (the dashboard's usage charts and
//! `/sg/v1/usage`). A request never waits on a write.

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::KeyInfo;
use crate::store::{Store, UsageCount};

pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);
/// Counts are kept at this resolution.
pub const BUCKET_MS: i64 = 60_000;
/// Counts older than this are dropped (the longest chart is 30 days).
pub const RETENTION_MS: i64 = 31 * 24 * 3_600_000;

pub const REQUEST: &str = "request";
pub const AUTH_FAILURE: &str = "auth_failure";

#[derive(Default)]
struct Pending {
    last_used: HashMap<Uuid, i64>,
    /// (key, kind, bucket) → (account, count)
    counts: HashMap<(Uuid, &'static str, i64), (Uuid, i64)>,
}

impl Pending {
    /// The key was used at `at` (the latest time wins).
    fn used(&mut self, key_id: Uuid, at: i64) {
        let e = self.last_used.entry(key_id).or_insert(at);
        *e = (*e).max(at);
    }

    fn add(&mut self, c: UsageCount) {
        self.counts
            .entry((c.key_id, c.kind, c.bucket))
            .or_insert((c.account_id, 0))
            .1 += c.count;
    }
}

pub struct UsageRecorder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    pending: Mutex<Pending>,
}

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// A request authenticated by this key.
    pub fn record(&self, key: &KeyInfo, at_ms: i64) {
        if let Ok(mut p) = self.pending.lock() {
            p.used(key.id, at_ms);
            p.add(Self::count(key, REQUEST, at_ms));
        }
    }

    /// A refused authentication with this (known) key: revoked or expired.
    pub fn record_failure(&self, key: &KeyInfo, at_ms: i64) {
        if let Ok(mut p) = self.pending.lock() {
            p.add(Self::count(key, AUTH_FAILURE, at_ms));
        }
    }

    /// One event of `kind` in the minute of `at_ms`.
    fn count(key: &KeyInfo, kind: &'static str, at_ms: i64) -> UsageCount {
        UsageCount {
            account_id: key.account_id,
            key_id: key.id,
            kind,
            bucket: at_ms - at_ms.rem_euclid(BUCKET_MS),
            count: 1,
        }
    }

    /// Writes everything pending; on failure the values are put back for the next try.
    pub async fn flush(&self) {
        let (used, counts) = match self.pending.lock() {
            Ok(mut p) => (
                p.last_used.drain().collect::<Vec<_>>(),
                p.counts
                    .drain()
                    .map(|((key_id, kind, bucket), (account_id, count))| UsageCount {
                        account_id,
                        key_id,
                        kind,
                        bucket,
                        count,
                    })
                    .collect::<Vec<_>>(),
            ),
            Err(_) => return,
        };
        if !used.is_empty() {
            if let Err(e) = self.store.touch_api_keys(&used).await {
                tracing::warn!(error = %e, keys = used.len(), "could not write last-used times; will retry");
                if let Ok(mut p) = self.pending.lock() {
                    for (id, at) in used {
                        p.used(id, at);
                    }
                }
            }
        }
        if !counts.is_empty() {
            if let Err(e) = self.store.add_usage(&counts).await {
                tracing::warn!(error = %e, rows = counts.len(), "could not write usage counts; will retry");
                if let Ok(mut p) = self.pending.lock() {
                    for c in counts {
                        p.add(c);
                    }
                }
            }
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut flushes: u64 = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_INTERVAL) => {
                    self.flush().await;
                    flushes += 1;
                    // About hourly: drop counts past the retention.
                    if flushes % 1800 == 0 {
                        let before = self.clock.now_ms() - RETENTION_MS;
                        if let Err(e) = self.store.prune_usage(before).await {
                            tracing::warn!(error = %e, "could not prune usage counts");
                        }
                    }
                }
                _ = shutdown.changed() => {
                    self.flush().await;
                    return;
                }
            }
        }
    }
}
