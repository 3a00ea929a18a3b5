//! `last_used_at` is recorded in memory on the hot path and written back in batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::store::Store;

pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

pub struct UsageRecorder {
    store: Arc<dyn Store>,
    pending: Mutex<HashMap<Uuid, i64>>,
}

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub fn record(&self, key_id: Uuid, at_ms: i64) {
        if let Ok(mut p) = self.pending.lock() {
            let e = p.entry(key_id).or_insert(at_ms);
            *e = (*e).max(at_ms);
        }
    }

    /// Writes everything pending; on failure the values are put back for the next try.
    pub async fn flush(&self) {
        let batch: Vec<(Uuid, i64)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return,
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.touch_api_keys(&batch).await {
            tracing::warn!(error = %e, keys = batch.len(), "could not write last-used times; will retry");
            for (id, at) in batch {
                self.record(id, at);
            }
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_INTERVAL) => self.flush().await,
                _ = shutdown.changed() => {
                    self.flush().await;
                    return;
                }
            }
        }
    }
}
