//! Use-cases. They take the store, the clock and the verifier, decide authorization from an
//! `Actor`, and return domain types. Handlers call exactly one of these per request.

pub mod accounts;
pub mod audit;
pub mod clips;
pub mod credential_uses;
pub mod credentials;
pub mod dashboard;
pub mod deliveries;
pub mod delivery_pool;
pub mod ffmpeg;
pub mod ftp;
pub mod group_commit;
pub mod health;
pub mod ingest;
pub mod ingest_refusals;
pub mod ingest_throttle;
pub mod ingest_tokens;
pub mod keys;
pub mod live_jobs;
pub mod livepeer_events;
pub mod objects;
pub mod passwords;
pub mod playback;
pub mod playback_keys;
pub mod ratelimits;
pub mod recordings;
pub mod retention;
pub mod settings;
pub mod stream_keys;
pub mod stream_pages;
pub mod streams;
pub mod terminate;
pub mod thumbnails;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod vault;
pub mod verifier;
pub mod videos;
pub mod webhooks;

use std::sync::Arc;

use crypto::Vault;
use domain::clock::Clock;
use store::Store;

pub use health::StoreHealth;
pub use ingest_tokens::{CreatedIngestToken, IngestCaller};
pub use keys::{CreatedKey, KeyChange, NewKey, VerifyOutcome};
pub use settings::Settings;
pub use usage::UsageRecorder;
pub use verifier::{Verified, Verifier};

pub struct Services {
    store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub verifier: Arc<Verifier>,
    pub usage: Arc<UsageRecorder>,
    pub vault: Arc<Vault>,
    pub tokens: tokens::TokenKeys,
    /// Webhooks may target internal addresses (tests, labs).
    webhooks_allow_private: bool,
    pub auth_failures: audit::AuthFailureThrottle,
    /// Group commit of audit events and publish starts and ends.
    group_commit: group_commit::GroupCommit,
    pub ingest_throttle: ingest::IngestThrottle,
    /// Viewers' guessed credentials, throttled apart from publishes: a viewer's refusals never
    /// lock out an encoder behind the same address, nor fill the publish throttle's table.
    pub read_throttle: ingest::IngestThrottle,
    /// Refused publishes, counted until the housekeeping writes them in aggregate.
    pub ingest_refusals: ingest_refusals::RefusalLog,
    /// When each ingest token was last used, until it is written back.
    ingest_token_uses: ingest_tokens::IngestTokenUses,
    /// A second simultaneous publish of a key is allowed.
    pub ingest_allow_concurrent: bool,
    /// What configuration said.
    pub settings: Settings,
    /// Rate-limit counts exchanged with the other instances.
    pub rate_sync: Arc<ratelimits::RateSync>,
    /// Access tokens fetched for notification endpoints' `oauth` credentials.
    pub oauth_tokens: deliveries::OAuthTokenCache,
    /// Every password hash and check, behind a bounded queue.
    pub passwords: passwords::PasswordHasher,
    /// When `sign_in_attempts` was last pruned (ms).
    sign_in_pruned_at: std::sync::atomic::AtomicI64,
    /// Webhook attempts in flight, under their caps.
    pub delivery_pool: delivery_pool::DeliveryPool,
    /// Uses of stored secrets, counted for the audit log.
    pub credential_uses: credential_uses::CredentialUses,
    /// The store's health, as the background probe last found it (`/healthz`, `/readyz`).
    health: health::HealthState,
    /// The read decision's bounded memories (checked JWTs, webhook answers).
    playback: playback::PlaybackCaches,
    /// Uploaded bytes: video sources, thumbnails.
    pub objects: objects::Objects,
    /// Imports from URLs running at once, in all and per account.
    imports: videos::Imports,
    /// Upload parts being written at once (`videos::UPLOADS`).
    upload_slots: tokio::sync::Semaphore,
    /// Clip deliveries running (`clips::CLIP_SLOTS` at most).
    clip_workers: clips::ClipWorkers,
    /// Recordings being taken into storage.
    recording_takes: recordings::Takes,
    /// When the recordings directory was last swept.
    recordings_swept: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        vault: Arc<Vault>,
        settings: &Settings,
    ) -> Result<Arc<Self>, domain::Error> {
        let objects = objects::Objects::open(&settings.objects)?;
        let verifier = Arc::new(Verifier::with_capacity(
            store.clone(),
            clock.clone(),
            settings.cache_capacity,
        ));
        let usage = Arc::new(UsageRecorder::new(store.clone(), clock.clone()));
        let health = health::HealthState::new(clock.now_ms());
        Ok(Arc::new(Self {
            store,
            clock,
            verifier,
            usage,
            vault,
            tokens: tokens::TokenKeys::new(settings.access_token_ttl),
            webhooks_allow_private: settings.webhook_allow_private,
            auth_failures: audit::AuthFailureThrottle::default(),
            group_commit: group_commit::GroupCommit::default(),
            ingest_throttle: ingest::IngestThrottle::new(
                settings.ingest_max_failures,
                settings.ingest_failure_window,
            ),
            read_throttle: ingest::IngestThrottle::new(
                settings.ingest_max_failures,
                settings.ingest_failure_window,
            ),
            ingest_refusals: Default::default(),
            ingest_token_uses: Default::default(),
            ingest_allow_concurrent: settings.ingest_allow_concurrent,
            oauth_tokens: deliveries::OAuthTokenCache::default(),
            delivery_pool: delivery_pool::DeliveryPool::default(),
            credential_uses: credential_uses::CredentialUses::default(),
            settings: settings.clone(),
            rate_sync: Arc::new(ratelimits::RateSync::default()),
            passwords: passwords::PasswordHasher::new(
                settings.password_hash_concurrency,
                settings.password_hash_queue,
            ),
            sign_in_pruned_at: Default::default(),
            health,
            playback: Default::default(),
            objects,
            imports: Default::default(),
            upload_slots: tokio::sync::Semaphore::new(videos::UPLOADS),
            clip_workers: Default::default(),
            recording_takes: Default::default(),
            recordings_swept: Default::default(),
        }))
    }

    /// May webhooks target internal addresses (labs, tests)?
    pub fn webhooks_allow_private(&self) -> bool {
        self.webhooks_allow_private
    }

    /// Exchanges rate-limit counts with the other instances until `shutdown` fires.
    pub async fn run_rate_sync(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        self.rate_sync
            .clone()
            .run(self.store.clone(), self.clock.clone(), shutdown)
            .await
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
