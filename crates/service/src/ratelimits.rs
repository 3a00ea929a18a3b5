//! Rate limits across instances. Each request is admitted against the key's counters in memory
//! (no store write on the request path); about twice a second every instance writes its count of
//! each key's current window to the store and reads the others' counts back, which then count
//! against the limit too.
//!
//! The bound, documented in the README and tested (tests/it/cluster_limits.rs): with N instances, a
//! key can be admitted at most `limit` plus what the other instances admit for it within one sync
//! interval (`SYNC_INTERVAL`, plus the store's round trip) before their counts arrive.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::KeyCounters;
use store::{Store, WindowCount};
use uuid::Uuid;

/// How often counts are exchanged through the store.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);
/// Windows are kept this long, then pruned (the longest window is 31 days).
const KEEP_MS: i64 = 32 * 86_400_000;

pub struct RateSync {
    /// This process's name in the shared counts.
    instance: String,
    /// Keys counted since the last sync.
    dirty: Mutex<Vec<(Uuid, Arc<KeyCounters>)>>,
    /// Sync rounds completed by `run` (each one a write of this instance's counts and a read of
    /// the others'), so a caller can wait for an actual exchange instead of guessing its time.
    rounds: tokio::sync::watch::Sender<u64>,
}

impl Default for RateSync {
    fn default() -> Self {
        Self {
            instance: uuid::Uuid::now_v7().to_string(),
            dirty: Mutex::new(Vec::new()),
            rounds: tokio::sync::watch::channel(0).0,
        }
    }
}

impl RateSync {
    /// `counters` (of key `id`) counted a request: put it on the next sync's list, once.
    pub fn touched(&self, id: Uuid, counters: &Arc<KeyCounters>) {
        // A plain load first: on the request path, almost always already on the list.
        if !counters.dirty.load(Ordering::Acquire) && !counters.dirty.swap(true, Ordering::AcqRel) {
            if let Ok(mut d) = self.dirty.lock() {
                d.push((id, counters.clone()));
            }
        }
    }

    /// How many sync rounds `run` has completed (a round the store refused does not count).
    pub fn rounds(&self) -> u64 {
        *self.rounds.borrow()
    }

    /// Returns once a whole sync round has run after this call: what this instance counted
    /// before the call is in the store, and it has read what the others had written by then.
    /// (A round already under way may have taken its list before the call, so it waits for the
    /// one after it.) Pends forever if `run` is not running: callers bound it with a timeout.
    pub async fn next_round(&self) {
        let mut rounds = self.rounds.subscribe();
        let after = *rounds.borrow_and_update() + 2;
        // The sender lives as long as `self`, so this only returns once the count is reached.
        let _ = rounds.wait_for(|n| *n >= after).await;
    }

    /// Writes this instance's counts and reads the others'; false when the store refused (the
    /// counts stay on the list for the next round).
    pub async fn sync(&self, store: &dyn Store) -> bool {
        let batch = match self.dirty.lock() {
            Ok(mut d) => std::mem::take(&mut *d),
            Err(_) => return false,
        };
        if batch.is_empty() {
            return true;
        }
        let counts: Vec<WindowCount> = batch
            .iter()
            .map(|(id, c)| {
                // Counted from now on are the next sync's.
                c.dirty.store(false, Ordering::Release);
                WindowCount {
                    key_id: *id,
                    window_start: c.window.start.load(Ordering::Acquire),
                    count: i64::try_from(c.window.count.load(Ordering::Acquire))
                        .unwrap_or(i64::MAX),
                }
            })
            .collect();
        match store.sync_rate_counts(&self.instance, &counts).await {
            Ok(others) => {
                for ((_, c), o) in batch.iter().zip(others) {
                    c.others
                        .store(u64::try_from(o.count).unwrap_or(0), Ordering::Release);
                    c.others_window.store(o.window_start, Ordering::Release);
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, keys = batch.len(), "could not sync rate-limit counts; will retry");
                for (id, c) in batch {
                    self.touched(id, &c);
                }
                false
            }
        }
    }

    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        clock: Arc<dyn domain::clock::Clock>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SYNC_INTERVAL) => {}
                _ = shutdown.changed() => return,
            }
            if self.sync(store.as_ref()).await {
                self.rounds.send_modify(|n| *n += 1);
            }
            ticks += 1;
            if ticks % 7200 == 0 {
                if let Err(e) = store.prune_rate_counts(clock.now_ms() - KEEP_MS).await {
                    tracing::warn!(error = %e, "could not prune rate-limit counts");
                }
            }
        }
    }
}
