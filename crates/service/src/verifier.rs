//! The verify path: checksum → SHA-256 → bounded in-process cache → store on a miss. The ingest
//! hooks' lookups (streams by key hash, Edgecast stream keys by instance) go the same way.
//!
//! Invalidation is explicit: every revoke (or other change that must reach caches) appends to the
//! store's `changes` log, and `follow_changes` drops the affected entries. The cache is trusted
//! only while the follower is keeping up; if it falls behind (store unreachable, not started, as
//! in a one-shot CLI process) every verification goes to the store, so revocation fails closed.

mod objects;

pub(crate) use objects::PageKey;
pub use objects::StreamPage;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crypto::ParsedKey;
use domain::clock::Clock;
use domain::{IngestToken, KeyCounters, KeyInfo, PlaybackKey, VerifyCode};
use store::stream_keys::STREAM_KEY_CHANGED;
use store::{Store, StoreResult, StreamKeyRecord, StreamRecord};

/// How many key hashes the cache holds at most.
pub const CACHE_CAPACITY: usize = 200_000;
/// How many instances' Edgecast stream keys the ingest cache holds at most.
const INSTANCE_CAPACITY: usize = 10_000;
/// How many ingest-token hashes (known and unknown) the ingest cache holds at most.
const INGEST_TOKEN_CAPACITY: usize = 10_000;
/// How long an unknown key is remembered as unknown.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// The follower wakes at least this often even without a notification.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);
/// Past this without a successful sync, the cache is bypassed.
const STALE_AFTER: Duration = Duration::from_secs(2);
/// Change-log entries are kept this long (ms), then pruned by the follower.
pub const CHANGE_RETENTION_MS: i64 = 24 * 3_600_000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub(crate) enum Cached<V> {
    Found(V),
    Missing(Instant),
}

#[derive(Debug, Clone)]
pub enum Verified {
    Valid(Arc<KeyInfo>),
    Revoked(Arc<KeyInfo>),
    Expired(Arc<KeyInfo>),
    NotFound,
    Malformed,
}

impl Verified {
    pub fn code(&self) -> VerifyCode {
        match self {
            Verified::Valid(_) => VerifyCode::Valid,
            Verified::Revoked(_) => VerifyCode::Revoked,
            Verified::Expired(_) => VerifyCode::Expired,
            Verified::NotFound => VerifyCode::NotFound,
            Verified::Malformed => VerifyCode::Malformed,
        }
    }

    pub fn key(&self) -> Option<&Arc<KeyInfo>> {
        match self {
            Verified::Valid(k) | Verified::Revoked(k) | Verified::Expired(k) => Some(k),
            Verified::NotFound | Verified::Malformed => None,
        }
    }
}

pub struct Verifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cache: Cache<[u8; 32], Cached<Arc<KeyInfo>>>,
    /// The same keys by id, for access tokens (which name their key by id, not by secret).
    by_id: Cache<uuid::Uuid, Arc<KeyInfo>>,
    /// Streams by the hash of their stream key (ingest hooks).
    streams: Cache<[u8; 32], Cached<Arc<StreamRecord>>>,
    /// Edgecast stream keys whose DirPath could match an instance (ingest hooks).
    instances: Cache<String, Cached<Arc<Vec<StreamKeyRecord>>>>,
    /// Media servers' ingest tokens by the hash of their secret (ingest hooks).
    ingest_tokens: Cache<[u8; 32], Cached<Arc<IngestToken>>>,
    /// Playback signing keys by the hash of their public key (playback JWTs name it).
    playback_keys: Cache<[u8; 32], Cached<Arc<PlaybackKey>>>,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last successful sync with the change log; -1 = never.
    synced_at: AtomicI64,
    /// Bumped before the follower drops entries, so a concurrent miss can tell its read may be stale.
    generation: AtomicU64,
    /// The last change-log sequence applied; `None` until the follower has started.
    applied: tokio::sync::Mutex<Option<i64>>,
    /// Verifications that had to ask the store (cache misses and untrusted-cache reads).
    store_lookups: AtomicU64,
    /// Bumped whenever a signing key was added (by any process): keyrings reload on a change.
    signing_epoch: AtomicU64,
    /// Bumped whenever a vault data key was added (by any process).
    vault_epoch: AtomicU64,
    /// Mirror of `applied` readable without a lock (for metrics and tests); -1 = not following.
    applied_seq: AtomicI64,
    /// Refresh-token families revoked for a replay (their access tokens are refused).
    revoked_families: Cache<String, ()>,
    /// Each key's admission counters, shared by all its cached copies (bounded like the cache).
    counters: Cache<uuid::Uuid, Arc<KeyCounters>>,
    /// The read path's objects (streams by id, by playback id, list pages): `verifier/objects.rs`.
    pub(crate) objects: objects::Objects,
}

impl Verifier {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(store, clock, CACHE_CAPACITY)
    }

    /// A verifier whose key and object caches each hold at most `capacity` entries.
    pub fn with_capacity(store: Arc<dyn Store>, clock: Arc<dyn Clock>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            store,
            clock,
            cache: Cache::new(capacity),
            by_id: Cache::new(capacity),
            streams: Cache::new(capacity),
            instances: Cache::new(INSTANCE_CAPACITY),
            ingest_tokens: Cache::new(INGEST_TOKEN_CAPACITY),
            playback_keys: Cache::new(INGEST_TOKEN_CAPACITY),
            epoch: Instant::now(),
            synced_at: AtomicI64::new(-1),
            generation: AtomicU64::new(0),
            applied: tokio::sync::Mutex::new(None),
            store_lookups: AtomicU64::new(0),
            applied_seq: AtomicI64::new(-1),
            signing_epoch: AtomicU64::new(0),
            vault_epoch: AtomicU64::new(0),
            revoked_families: Cache::new(capacity),
            counters: Cache::new(capacity),
            objects: objects::Objects::new(capacity),
        }
    }

    /// The admission counters of `key` (its copy remembers them, so this is one atomic load
    /// after the copy's first request).
    pub fn counters_of<'k>(&self, key: &'k KeyInfo) -> &'k Arc<KeyCounters> {
        key.memo.counters.get_or_init(|| {
            match self.counters.get_or_insert_with(&key.id, || {
                Ok::<_, std::convert::Infallible>(Arc::new(KeyCounters::default()))
            }) {
                Ok(c) => c,
                Err(never) => match never {},
            }
        })
    }

    /// Was this token family revoked (a replayed refresh token)?
    pub fn family_revoked(&self, family: &str) -> bool {
        self.revoked_families.get(family).is_some()
    }

    pub(crate) fn cache_is_trusted(&self) -> bool {
        let at = self.synced_at.load(Ordering::Acquire);
        at >= 0 && (self.epoch.elapsed().as_millis() as i64 - at) < STALE_AFTER.as_millis() as i64
    }

    /// Is the change-log follower keeping up (cached entries trusted)? Readiness.
    pub fn is_synced(&self) -> bool {
        self.cache_is_trusted()
    }

    fn mark_synced(&self) {
        self.synced_at
            .store(self.epoch.elapsed().as_millis() as i64, Ordering::Release);
    }

    pub async fn verify(&self, presented: &str) -> StoreResult<Verified> {
        let Some(parsed) = ParsedKey::parse(presented) else {
            return Ok(Verified::Malformed);
        };
        let info = match self.lookup(&parsed.hash).await? {
            Some(info) if info.environment == parsed.environment => info,
            _ => return Ok(Verified::NotFound),
        };
        Ok(self.classify(info))
    }

    async fn lookup(&self, hash: &[u8; 32]) -> StoreResult<Option<Arc<KeyInfo>>> {
        self.through(&self.cache, *hash, async {
            Ok(self
                .store
                .api_key_by_hash(hash)
                .await?
                .map(|k| Arc::new(KeyInfo::from(&k))))
        })
        .await
    }

    /// The stream whose key hashes to `hash` (deleted and suspended ones too: the caller tells
    /// why it refuses). Cached; the change log drops a stream on creation, suspension, resumption
    /// and deletion. Publishing itself re-checks in its own transaction, so a stale entry can
    /// never open a session on a stream that may not be published.
    pub async fn stream_by_key_hash(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<Arc<StreamRecord>>> {
        self.through(&self.streams, *hash, async {
            Ok(self.store.stream_by_key_hash(hash).await?.map(Arc::new))
        })
        .await
    }

    /// The Edgecast stream keys of `instance`'s owner whose DirPath could match it. Cached; any
    /// stream-key change (ownership changes only with one) drops them all, on every instance.
    pub async fn stream_keys_for_instance(
        &self,
        instance: &str,
    ) -> StoreResult<Arc<Vec<StreamKeyRecord>>> {
        let found = self
            .through(&self.instances, instance.to_string(), async {
                StoreResult::Ok(Some(Arc::new(
                    self.store.stream_keys_for_instance(instance).await?,
                )))
            })
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// The ingest token whose secret hashes to `hash` (revoked ones too: the caller refuses
    /// them). Cached; the change log drops a token when it is created or revoked.
    pub async fn ingest_token_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<Arc<IngestToken>>> {
        self.through(&self.ingest_tokens, *hash, async {
            Ok(self.store.ingest_token_by_hash(hash).await?.map(Arc::new))
        })
        .await
    }

    /// The playback signing key whose public key hashes to `hash` (disabled ones too: the
    /// caller refuses them). Cached; the change log drops a key when it is created, changed or
    /// deleted, on every instance.
    pub async fn playback_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<Arc<PlaybackKey>>> {
        self.through(&self.playback_keys, *hash, async {
            Ok(self.store.playback_key_by_hash(hash).await?.map(Arc::new))
        })
        .await
    }

    /// One read through a cache: from the cache while it is trusted, else from the store (and
    /// remembered, unless a change was applied meanwhile). Absence is remembered `NEGATIVE_TTL`.
    pub(crate) async fn through<K, V, E>(
        &self,
        cache: &Cache<K, Cached<V>>,
        key: K,
        load: impl std::future::Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E>
    where
        K: Eq + std::hash::Hash + Clone,
        V: Clone,
    {
        let trusted = self.cache_is_trusted();
        if trusted {
            match cache.get(&key) {
                Some(Cached::Found(v)) => return Ok(Some(v)),
                Some(Cached::Missing(at)) if at.elapsed() < NEGATIVE_TTL => return Ok(None),
                _ => {}
            }
        }
        let generation = self.generation();
        self.store_lookups.fetch_add(1, Ordering::Relaxed);
        let found = load.await?;
        if trusted {
            let entry = match &found {
                Some(v) => Cached::Found(v.clone()),
                None => Cached::Missing(Instant::now()),
            };
            cache.insert(key.clone(), entry);
            // A change applied while we read may have made what we read stale: drop it again.
            if self.generation.load(Ordering::SeqCst) != generation {
                cache.remove(&key);
            }
        }
        Ok(found)
    }

    /// Bumped before every batch of changes is applied: a read made while it moved may be stale
    /// and must not be remembered.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers `f` only if no change was applied since `generation` was read (before the
    /// read whose result is being remembered) and the cache is trusted.
    pub(crate) fn remember_if_current(&self, generation: u64, f: impl FnOnce()) {
        if self.cache_is_trusted() && self.generation() == generation {
            f();
        }
    }

    /// The state of the key with this id (for access tokens), through the same cache rules.
    pub async fn verify_id(&self, id: uuid::Uuid) -> StoreResult<Verified> {
        let trusted = self.cache_is_trusted();
        let cached = if trusted { self.by_id.get(&id) } else { None };
        let info = match cached {
            Some(info) => Some(info),
            None => {
                let generation = self.generation.load(Ordering::SeqCst);
                self.store_lookups.fetch_add(1, Ordering::Relaxed);
                let found = self
                    .store
                    .api_key_by_id(id)
                    .await?
                    .map(|k| Arc::new(KeyInfo::from(&k)));
                if let (true, Some(info)) = (trusted, &found) {
                    self.by_id.insert(id, info.clone());
                    if self.generation.load(Ordering::SeqCst) != generation {
                        self.by_id.remove(&id);
                    }
                }
                found
            }
        };
        Ok(info.map_or(Verified::NotFound, |info| self.classify(info)))
    }

    /// A found key's state now.
    fn classify(&self, info: Arc<KeyInfo>) -> Verified {
        // Only a key that can expire needs the time.
        let now = if info.expires_at.is_some() {
            self.clock.now_ms()
        } else {
            0
        };
        match info.status(now) {
            VerifyCode::Valid => Verified::Valid(info),
            VerifyCode::Revoked => Verified::Revoked(info),
            _ => Verified::Expired(info),
        }
    }

    /// Changes whenever any process added a vault data key.
    pub fn vault_epoch(&self) -> u64 {
        self.vault_epoch.load(Ordering::Acquire)
    }

    /// Changes whenever any process added a signing key.
    pub fn signing_epoch(&self) -> u64 {
        self.signing_epoch.load(Ordering::Acquire)
    }

    pub fn cached_entries(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn count_store_lookup(&self) {
        self.store_lookups.fetch_add(1, Ordering::Relaxed);
    }

    pub fn store_lookups(&self) -> u64 {
        self.store_lookups.load(Ordering::Relaxed)
    }

    /// The last change-log sequence number this instance has applied; -1 before it follows the log.
    pub fn applied_seq(&self) -> i64 {
        self.applied_seq.load(Ordering::Acquire)
    }

    /// Applies every change logged since the last one applied. Writers in this process call it
    /// right after their own write, so their change is honoured here on the very next request.
    pub async fn catch_up(&self) -> StoreResult<()> {
        let mut applied = self.applied.lock().await;
        let Some(mut last) = *applied else {
            // Not following (e.g. a one-shot CLI process): the cache is never trusted there.
            return Ok(());
        };
        loop {
            let changes = self.store.changes_since(last, 1000).await?;
            let full = changes.len() == 1000;
            if !changes.is_empty() {
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
            // A gap means entries we never saw (pruned while we were cut off, or a rolled-back
            // write's sequence number): we cannot tell what they invalidated, so drop everything.
            if changes.first().is_some_and(|c| c.seq > last + 1) {
                self.cache.clear();
                self.by_id.clear();
                self.streams.clear();
                self.instances.clear();
                self.ingest_tokens.clear();
                self.playback_keys.clear();
                self.objects.clear();
            }
            for c in changes {
                if let Some(h) = c
                    .key_hash
                    .as_deref()
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                {
                    self.cache.remove(&h);
                    self.streams.remove(&h);
                    self.ingest_tokens.remove(&h);
                    self.playback_keys.remove(&h);
                }
                if c.kind == STREAM_KEY_CHANGED {
                    self.instances.clear();
                }
                if c.kind == store::tokens::SIGNING_KEY_ADDED {
                    self.signing_epoch.fetch_add(1, Ordering::AcqRel);
                }
                if c.kind == store::tokens::TOKEN_FAMILY_REVOKED {
                    self.revoked_families.insert(c.object_id.clone(), ());
                }
                if c.kind == store::vault::VAULT_KEY_ADDED {
                    self.vault_epoch.fetch_add(1, Ordering::AcqRel);
                }
                if let Ok(id) = uuid::Uuid::parse_str(&c.object_id) {
                    self.by_id.remove(&id);
                }
                self.objects.apply(&c);
                last = c.seq;
            }
            *applied = Some(last);
            self.applied_seq.store(last, Ordering::Release);
            if !full {
                break;
            }
        }
        self.mark_synced();
        Ok(())
    }

    /// Follows the store's change log until `shutdown` fires.
    pub async fn follow_changes(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let start = async {
                let seq = self.store.latest_change().await?;
                // Families revoked before this instance started: their tokens may still live.
                let since = self.clock.now_ms() - CHANGE_RETENTION_MS;
                let families = self.store.revoked_families_since(since).await?;
                StoreResult::Ok((seq, families))
            };
            match start.await {
                Ok((seq, families)) => {
                    for f in families {
                        self.revoked_families.insert(f, ());
                    }
                    *self.applied.lock().await = Some(seq);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the change log; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        }
        let mut listener = None;
        let mut last_prune = Instant::now();
        loop {
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                let before = self.clock.now_ms() - CHANGE_RETENTION_MS;
                match self.store.prune_changes(before).await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "change log pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not prune the change log"),
                }
            }
            if listener.is_none() {
                match self.store.listener().await {
                    Ok(l) => listener = Some(l),
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes; polling"),
                }
            }
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "cannot read the change log");
            }
            let wait = async {
                match listener.as_mut() {
                    Some(l) => l.wait(FOLLOW_INTERVAL).await,
                    None => tokio::time::sleep(FOLLOW_INTERVAL).await,
                }
            };
            tokio::select! {
                _ = wait => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
