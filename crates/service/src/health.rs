//! The store's health, kept fresh in the background: `/healthz` and `/readyz` read it and never
//! query the store themselves, so a probe costs nothing and answers at once however the store
//! is doing (a hung database cannot hang the probes, nor can probes pile onto a struggling one).
//!
//! A task (`run_health`, started by the server) probes every `PROBE_EVERY`: a read of a real
//! table on the writer's connection (`Store::ping`) and the migrations applied
//! (`Store::migrations_applied`), each bounded by `PROBE_TIMEOUT`. It records whether the store
//! answered and since when that has been so.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Services;

/// How often the store is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// A probe that takes longer than this counts as a failure.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the last probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreHealth {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// None before the first probe finished.
    pub reachable: Option<bool>,
    /// When (service clock, Unix ms) the store became reachable or unreachable, as last probed;
    /// the process's start before the first probe.
    pub since_ms: i64,
    /// How long it has been so (ms).
    pub for_ms: u64,
    /// Every migration this binary carries is applied (as of the last successful probe).
    pub migrations_applied: bool,
    /// The change-log follower is keeping up, so cached keys can be trusted (see `verifier`).
    pub change_log_synced: bool,
}

impl StoreHealth {
    /// Ready to serve: the store answers, its schema is this binary's, and the caches follow it.
    pub fn ready(&self) -> bool {
        self.reachable == Some(true) && self.migrations_applied && self.change_log_synced
    }
}

/// The state the probe task keeps.
pub struct HealthState {
    probed: AtomicBool,
    reachable: AtomicBool,
    migrations_applied: AtomicBool,
    since_ms: AtomicI64,
    since: Mutex<Instant>,
}

impl HealthState {
    pub fn new(now_ms: i64) -> Self {
        Self {
            probed: AtomicBool::new(false),
            reachable: AtomicBool::new(false),
            migrations_applied: AtomicBool::new(false),
            since_ms: AtomicI64::new(now_ms),
            since: Mutex::new(Instant::now()),
        }
    }

    fn record(&self, reachable: bool, migrations_applied: Option<bool>, now_ms: i64) {
        let first = !self.probed.swap(true, Ordering::AcqRel);
        let was = self.reachable.swap(reachable, Ordering::AcqRel);
        if first || was != reachable {
            self.since_ms.store(now_ms, Ordering::Release);
            if let Ok(mut since) = self.since.lock() {
                *since = Instant::now();
            }
            if reachable {
                tracing::info!("store reachable");
            } else {
                tracing::error!("store unreachable");
            }
        }
        if let Some(applied) = migrations_applied {
            self.migrations_applied.store(applied, Ordering::Release);
        }
    }
}

impl Services {
    /// The store's health as last probed (no store query).
    pub fn store_health(&self) -> StoreHealth {
        let h = &self.health;
        let for_ms = h
            .since
            .lock()
            .map(|s| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        StoreHealth {
            backend: self.store.backend(),
            reachable: h
                .probed
                .load(Ordering::Acquire)
                .then(|| h.reachable.load(Ordering::Acquire)),
            since_ms: h.since_ms.load(Ordering::Acquire),
            for_ms,
            migrations_applied: h.migrations_applied.load(Ordering::Acquire),
            change_log_synced: self.verifier.is_synced(),
        }
    }

    /// One probe: does the store answer, and is its schema current?
    pub async fn probe_store(&self) {
        let ping = tokio::time::timeout(PROBE_TIMEOUT, self.store.ping()).await;
        let reachable = match ping {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "store probe failed");
                false
            }
            Err(_) => {
                tracing::debug!("store probe timed out");
                false
            }
        };
        let migrations = if reachable {
            match tokio::time::timeout(PROBE_TIMEOUT, self.store.migrations_applied()).await {
                Ok(Ok(applied)) => Some(applied),
                _ => None,
            }
        } else {
            None
        };
        self.health.record(reachable, migrations, self.now_ms());
    }

    /// Probes the store every `PROBE_EVERY` until `stop`.
    pub async fn run_health(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            self.probe_store().await;
            tokio::select! {
                _ = tokio::time::sleep(PROBE_EVERY) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
