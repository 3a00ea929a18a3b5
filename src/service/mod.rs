//! Use-cases. They take the store, the clock and the verifier, decide authorization from an
//! `Actor`, and return domain types. Handlers call exactly one of these per request.

pub mod accounts;
pub mod audit;
pub mod credentials;
pub mod dashboard;
pub mod deliveries;
pub mod group_commit;
pub mod ingest;
pub mod keys;
pub mod stream_keys;
pub mod streams;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod vault;
pub mod verifier;

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::Vault;
use crate::store::Store;

pub use keys::{CreatedKey, NewKey, VerifyOutcome};
pub use usage::UsageRecorder;
pub use verifier::{Verified, Verifier};

pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub verifier: Arc<Verifier>,
    pub usage: Arc<UsageRecorder>,
    pub vault: Arc<Vault>,
    pub tokens: tokens::TokenKeys,
    /// `STREAMGATE_WEBHOOK_ALLOW_PRIVATE=1`: webhooks may target internal addresses (tests, labs).
    webhooks_allow_private: std::sync::atomic::AtomicBool,
    pub auth_failures: audit::AuthFailureThrottle,
    /// Group commit of audit events and publish starts and ends.
    group_commit: group_commit::GroupCommit,
    pub ingest_throttle: ingest::IngestThrottle,
    /// `STREAMGATE_INGEST_ALLOW_CONCURRENT=1`: a second simultaneous publish of a key is allowed.
    pub ingest_allow_concurrent: bool,
    /// Access tokens fetched for notification endpoints' `oauth` credentials.
    pub oauth_tokens: deliveries::OAuthTokenCache,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, vault: Arc<Vault>) -> Arc<Self> {
        let verifier = Arc::new(Verifier::new(store.clone(), clock.clone()));
        let usage = Arc::new(UsageRecorder::new(store.clone(), clock.clone()));
        Arc::new(Self {
            store,
            clock,
            verifier,
            usage,
            vault,
            tokens: tokens::TokenKeys::default(),
            webhooks_allow_private: std::sync::atomic::AtomicBool::new(
                std::env::var("STREAMGATE_WEBHOOK_ALLOW_PRIVATE")
                    .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            ),
            auth_failures: audit::AuthFailureThrottle::default(),
            group_commit: group_commit::GroupCommit::default(),
            ingest_throttle: ingest::IngestThrottle::new(
                crate::config::env_u32("STREAMGATE_INGEST_MAX_FAILURES", 10),
                std::time::Duration::from_secs(u64::from(crate::config::env_u32(
                    "STREAMGATE_INGEST_FAILURE_WINDOW_SECS",
                    60,
                ))),
            ),
            ingest_allow_concurrent: std::env::var("STREAMGATE_INGEST_ALLOW_CONCURRENT")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            oauth_tokens: deliveries::OAuthTokenCache::default(),
        })
    }

    /// May webhooks target internal addresses (labs, tests)?
    pub fn webhooks_allow_private(&self) -> bool {
        self.webhooks_allow_private
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_webhooks_allow_private(&self, allow: bool) {
        self.webhooks_allow_private
            .store(allow, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Applies this process's own change-log entries to its caches at once (revocations,
    /// suspended or deleted streams, changed stream keys), so the very next request honours them.
    async fn apply_changes(&self) {
        if let Err(e) = self.verifier.catch_up().await {
            // The follower will apply it within its next tick.
            tracing::warn!(error = %e, "could not apply a change to the local caches at once");
        }
    }
}
