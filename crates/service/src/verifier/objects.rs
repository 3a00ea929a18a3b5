//! The read path's objects: streams by id and by playback id, and list pages, kept under the
//! verifier's discipline. Bounded; trusted only while the change follower keeps up (else every
//! read goes to the store); every write to a stream logs a change in its own transaction, which
//! drops the stream here on every instance; a read that raced a change is not remembered (the
//! generation check). So what clients poll is served without a store round trip, and never
//! staler than the change log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use quick_cache::sync::Cache;
use uuid::Uuid;

use super::{Cached, Verifier, NEGATIVE_TTL};
use domain::memo::EpochMemo;
use domain::stream::CachedStream;
use domain::{After, Environment, Stream};
use store::streams::{STREAM_CREATED, STREAM_DELETED, STREAM_UPDATED};
use store::{Change, StoreError, StreamRecord};

/// How many list pages are remembered at most…
const PAGE_CAPACITY: usize = 10_000;
/// …and how many ids they hold in all (16 bytes each: 8 MiB).
const PAGE_IDS: u64 = 500_000;

/// A page weighs the ids it holds (plus one), so many long pages cannot outgrow `PAGE_IDS`.
#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<PageKey, Arc<StreamPage>> for PageWeight {
    fn weight(&self, _key: &PageKey, page: &Arc<StreamPage>) -> u64 {
        page.ids.len() as u64 + 1
    }
}
/// What every stream change's kind starts with (`store::streams`).
const STREAM_KINDS: &str = "stream.";

/// Playback ids are generated short; a longer name is no playback id and is not looked up.
const MAX_PLAYBACK_ID: usize = 64;

/// A list query: the caller's scope and the query's canonical text (filters, cursor or page,
/// size). Filters by stream key are named by the key's hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub account_id: Uuid,
    pub environment: Environment,
    pub query: String,
}

/// One page of a list: its streams' ids in order, the total matching, and where the next
/// page starts (the keyset cursor after its last stream), when there is one; and its rendered
/// bodies, each valid at one epoch of the streams (`Verifier::page_epoch`).
#[derive(Debug)]
pub struct StreamPage {
    pub ids: Vec<Uuid>,
    pub total: i64,
    pub next: Option<After>,
    pub bodies: EpochMemo,
}

pub(crate) struct Objects {
    streams: Cache<Uuid, Cached<Arc<CachedStream>>>,
    /// Playback id → stream id: fixed for a stream's life, so never stale (the stream itself is
    /// looked up by id, deleted or not, and the caller checks).
    playback_ids: Cache<String, Uuid>,
    /// Playback ids found to name no stream, until a stream is created or `NEGATIVE_TTL`.
    playback_missing: Cache<String, Instant>,
    pages: Cache<PageKey, Arc<StreamPage>, PageWeight>,
    /// Bumped whenever any stream may have changed (every stream change, a cleared cache): a
    /// page's rendered body is served only at the epoch it was rendered at.
    epoch: AtomicU64,
}

impl Objects {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            streams: Cache::new(capacity),
            playback_ids: Cache::new(capacity),
            playback_missing: Cache::new(capacity.min(PAGE_CAPACITY)),
            pages: Cache::with_weighter(capacity.min(PAGE_CAPACITY), PAGE_IDS, PageWeight),
            epoch: AtomicU64::new(0),
        }
    }

    pub(crate) fn clear(&self) {
        self.streams.clear();
        self.playback_ids.clear();
        self.playback_missing.clear();
        self.pages.clear();
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops what `c` may have made stale.
    pub(crate) fn apply(&self, c: &Change) {
        if let Ok(id) = Uuid::parse_str(&c.object_id) {
            self.streams.remove(&id);
        }
        match c.kind.as_str() {
            STREAM_CREATED => {
                self.playback_missing.clear();
                self.pages.clear();
            }
            // Membership (deletion) or what a filter matches (the name) may have changed.
            STREAM_DELETED | STREAM_UPDATED => self.pages.clear(),
            _ => {}
        }
        if c.kind.starts_with(STREAM_KINDS) {
            // Any page's body may show this stream: rendered again, from the stream as it is
            // now. Bumped after the stream is dropped, so a body rendered at the new epoch
            // cannot hold the stream as it was.
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }
}

impl Verifier {
    /// The stream with this id, in any scope, deleted or not (the caller checks both), opened
    /// by `open` when it has to be read from the store.
    pub(crate) async fn stream_object<E: From<StoreError>>(
        &self,
        id: Uuid,
        open: impl FnOnce(StreamRecord) -> Result<Stream, E>,
    ) -> Result<Option<Arc<CachedStream>>, E> {
        self.through(&self.objects.streams, id, async {
            match self.store.stream_by_id(id).await? {
                Some(r) => Ok(Some(Arc::new(CachedStream::new(open(r)?)))),
                None => Ok(None),
            }
        })
        .await
    }

    /// The live (not deleted) stream with this playback id, in any scope; deleted ones may be
    /// returned from the cache too (the caller checks).
    pub(crate) async fn stream_by_playback_id<E: From<StoreError>>(
        &self,
        playback_id: &str,
        open: impl FnOnce(StreamRecord) -> Result<Stream, E>,
    ) -> Result<Option<Arc<CachedStream>>, E> {
        if playback_id.is_empty() || playback_id.len() > MAX_PLAYBACK_ID {
            return Ok(None);
        }
        let trusted = self.cache_is_trusted();
        if trusted {
            if let Some(id) = self.objects.playback_ids.get(playback_id) {
                return self.stream_object(id, open).await;
            }
            if let Some(at) = self.objects.playback_missing.get(playback_id) {
                if at.elapsed() < NEGATIVE_TTL {
                    return Ok(None);
                }
            }
        }
        let generation = self.generation();
        self.count_store_lookup();
        match self.store.stream_by_playback_id(playback_id).await? {
            Some(r) => {
                let s = Arc::new(CachedStream::new(open(r)?));
                if trusted {
                    self.objects
                        .playback_ids
                        .insert(playback_id.to_string(), s.stream.id);
                }
                self.remember_stream(generation, &s);
                Ok(Some(s))
            }
            None => {
                self.remember_if_current(generation, || {
                    self.objects
                        .playback_missing
                        .insert(playback_id.to_string(), Instant::now())
                });
                Ok(None)
            }
        }
    }

    /// Remembers a stream read (with a list page, say) while the generation was `generation`.
    pub(crate) fn remember_stream(&self, generation: u64, s: &Arc<CachedStream>) {
        self.remember_if_current(generation, || {
            self.objects
                .streams
                .insert(s.stream.id, Cached::Found(s.clone()))
        });
    }

    /// A remembered list page, while the cache is trusted.
    pub(crate) fn stream_page(&self, key: &PageKey) -> Option<Arc<StreamPage>> {
        if self.cache_is_trusted() {
            self.objects.pages.get(key)
        } else {
            None
        }
    }

    /// Remembers a list page read while the generation was `generation`.
    pub(crate) fn remember_stream_page(
        &self,
        generation: u64,
        key: PageKey,
        page: Arc<StreamPage>,
    ) {
        self.remember_if_current(generation, || self.objects.pages.insert(key, page));
    }

    /// The streams' epoch: read before gathering the streams a page body is rendered from.
    pub(crate) fn page_epoch(&self) -> u64 {
        self.objects.epoch.load(Ordering::SeqCst)
    }

    /// Streams held in the object cache.
    pub fn cached_streams(&self) -> usize {
        self.objects.len()
    }
}
