//! Per-key usage, recorded in memory on the hot path and written back in batches: `last_used_at`
//! and per-minute request and refused-authentication counts (the dashboard's usage charts and
//! `/sg/v1/usage`). A request never waits on a write, and counting it takes no lock: each cached
//! copy of a key carries a `UseCounter` (atomics) that the recorder drains when it flushes and when
//! the minute changes. The recorder's own mutex is taken once per key copy per minute, not per
//! request (DESIGN.md: no global lock on the hot path).

use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{fence, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use domain::clock::Clock;
use domain::{KeyCounters, KeyInfo, UseCounter};
use store::{Store, UsageCount};

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
    /// Credits spent per key, not yet written back, with the key's shared counters.
    credits: HashMap<Uuid, (i64, Option<Arc<KeyCounters>>)>,
}

impl Pending {
    /// The key was used at `at` (the latest time wins).
    fn used(&mut self, key_id: Uuid, at: i64) {
        let e = self.last_used.entry(key_id).or_insert(at);
        *e = (*e).max(at);
    }

    /// `n` requests counted by `counter` in the minute starting at `bucket`.
    fn add_counted(&mut self, counter: &UseCounter, bucket: i64, n: u64) {
        if n > 0 && bucket != i64::MIN {
            self.add(UsageCount {
                account_id: counter.account_id,
                key_id: counter.key_id,
                kind: REQUEST,
                bucket,
                count: i64::try_from(n).unwrap_or(i64::MAX),
            });
        }
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
    /// Counts moved out of counters (at a new minute), refusals, and writes to retry.
    pending: Mutex<Pending>,
    /// Every live counter, drained at each flush; one is dropped once its key copy is gone.
    counters: Mutex<Vec<Arc<UseCounter>>>,
}

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            pending: Mutex::new(Pending::default()),
            counters: Mutex::new(Vec::new()),
        }
    }

    /// A request authenticated by this key: three atomic operations on the key copy's counter,
    /// except on its first use and at the first request of each minute.
    pub fn record(&self, key: &KeyInfo, at_ms: i64) {
        let counter = key.memo.uses.get_or_init(|| {
            let counter = Arc::new(UseCounter::new(
                key.id,
                key.account_id,
                key.memo.counters.get().cloned(),
            ));
            if let Ok(mut all) = self.counters.lock() {
                all.push(counter.clone());
            }
            counter
        });
        let bucket = at_ms - at_ms.rem_euclid(BUCKET_MS);
        if counter.bucket.load(Ordering::Acquire) != bucket {
            self.new_minute(counter, bucket);
        }
        // A request racing a change of minute may be counted in the next minute: never lost.
        counter.count.fetch_add(1, Ordering::Relaxed);
        if key.credits.is_some() {
            counter.credits.fetch_add(1, Ordering::Relaxed);
        }
        counter.last_used.fetch_max(at_ms, Ordering::Relaxed);
    }

    /// Moves what `counter` holds for its previous minute to the pending counts.
    fn new_minute(&self, counter: &UseCounter, bucket: i64) {
        let Ok(mut p) = self.pending.lock() else {
            return;
        };
        let previous = counter.bucket.load(Ordering::Acquire);
        if previous == bucket {
            return; // another request got here first
        }
        let n = counter.count.swap(0, Ordering::AcqRel);
        p.add_counted(counter, previous, n);
        counter.bucket.store(bucket, Ordering::Release);
    }

    /// Moves every counter's count and last use to the pending values, and forgets counters
    /// whose key copy is gone (after taking what they held).
    fn drain_counters(&self) {
        let (Ok(mut all), Ok(mut p)) = (self.counters.lock(), self.pending.lock()) else {
            return;
        };
        all.retain(|counter| {
            // Only this list holds it: no request can count into it any more. The fence pairs
            // with the release of the last other reference, so every count made through it is
            // seen below.
            let orphaned = Arc::strong_count(counter) == 1;
            if orphaned {
                fence(Ordering::Acquire);
            }
            let n = counter.count.swap(0, Ordering::AcqRel);
            p.add_counted(counter, counter.bucket.load(Ordering::Acquire), n);
            let at = counter.last_used.swap(0, Ordering::AcqRel);
            if at > 0 {
                p.used(counter.key_id, at);
            }
            let spent = counter.credits.swap(0, Ordering::AcqRel);
            if spent > 0 {
                p.credits
                    .entry(counter.key_id)
                    .or_insert((0, counter.shared.clone()))
                    .0 += spent as i64;
            }
            !orphaned
        });
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
        self.drain_counters();
        let (used, counts, credits) = match self.pending.lock() {
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
                p.credits.drain().collect::<Vec<_>>(),
            ),
            Err(_) => return,
        };
        if !credits.is_empty() {
            let spent: Vec<(Uuid, i64)> = credits.iter().map(|(id, (n, _))| (*id, *n)).collect();
            match self.store.spend_credits(&spent, self.clock.now_ms()).await {
                // The store has them now; every instance (this one too) reads what is left
                // when it follows the change.
                Ok(()) => {
                    for (_, (n, shared)) in credits {
                        if let Some(s) = shared {
                            s.spent.fetch_sub(n, Ordering::AcqRel);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, keys = credits.len(), "could not write spent credits; will retry");
                    if let Ok(mut p) = self.pending.lock() {
                        for (id, (n, shared)) in credits {
                            p.credits.entry(id).or_insert((0, shared)).0 += n;
                        }
                    }
                }
            }
        }
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
                    // Every minute: restore the credits of keys whose refill is due.
                    if flushes % 30 == 0 {
                        if let Err(e) = self.store.refill_credits(self.clock.now_ms()).await {
                            tracing::warn!(error = %e, "could not refill credits");
                        }
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use domain::clock::SystemClock;
    use domain::{Account, AccountNumber, ApiKey, Cors, Environment};

    /// Requests counted from many threads on key copies that come and go, across a change of
    /// minute, all reach the store exactly once, each in its minute (or, for a request racing the
    /// change of minute, the next), with the latest use time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_free_counts_are_all_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let account = Account {
            id: Uuid::now_v7(),
            name: "a".into(),
            number: AccountNumber::parse("0001").unwrap(),
            created_at: 1,
        };
        store.insert_account(&account).await.unwrap();
        let key = ApiKey {
            id: Uuid::now_v7(),
            account_id: account.id,
            name: "k".into(),
            environment: Environment::Production,
            prefix: "sg_production_abc".into(),
            cors: Cors::default(),
            created_at: 1,
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
            policy: Default::default(),
        };
        store.insert_api_key(&key, &[9; 32]).await.unwrap();
        let usage = Arc::new(UsageRecorder::new(store.clone(), Arc::new(SystemClock)));

        let minute = 1_800_000_000_000 - 1_800_000_000_000 % BUCKET_MS;
        let first = Arc::new(KeyInfo::from(&key));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (usage, first) = (usage.clone(), first.clone());
                std::thread::spawn(move || {
                    for i in 0..500 {
                        usage.record(&first, minute + t * 1_000 + i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        usage.flush().await;
        // A new copy of the key (as after a cache refill), the next minute; the old copy is gone.
        drop(first);
        let second = KeyInfo::from(&key);
        for i in 0..300 {
            usage.record(&second, minute + BUCKET_MS + i);
        }
        // The first request of the following minute moves the previous minute out of the counter.
        usage.record(&second, minute + 2 * BUCKET_MS + 5);
        usage.flush().await;
        usage.flush().await; // nothing new: nothing written twice
        assert_eq!(
            usage.counters.lock().unwrap().len(),
            1,
            "the gone copy is forgotten"
        );

        let series = store
            .usage_series(account.id, minute - BUCKET_MS, BUCKET_MS)
            .await
            .unwrap();
        let counts: Vec<(i64, i64)> = series
            .iter()
            .filter(|(k, kind, _, _)| *k == key.id && kind == REQUEST)
            .map(|(_, _, bucket, n)| (*bucket, *n))
            .collect();
        assert_eq!(
            counts,
            vec![
                (minute, 2_000),
                (minute + BUCKET_MS, 300),
                (minute + 2 * BUCKET_MS, 1)
            ]
        );
        let stored = store.api_key_by_id(key.id).await.unwrap().unwrap();
        assert_eq!(stored.last_used_at, Some(minute + 2 * BUCKET_MS + 5));
    }
}
