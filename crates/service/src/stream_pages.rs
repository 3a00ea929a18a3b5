//! Lists of streams as the read path serves them: pages remembered under the verifier's
//! discipline (`verifier::objects`), each with its streams' ids, total and next cursor, and its
//! rendered bodies, so that a polled page is neither read from the store nor assembled again
//! while none of the streams it can show has changed.

use std::sync::Arc;

use bytes::Bytes;

use super::streams::{in_scope, Page, MAX_PAGE};
use super::Services;
use crate::verifier::{PageKey, StreamPage};
use crypto::sha256;
use domain::memo::{EpochMemo, Rendering};
use domain::stream::{CachedStream, StreamOrder};
use domain::{Action, Actor, After, Error, Permission, Resource, Stream};
use store::{Scope, StreamRecord};

/// api.video's largest page.
const MAX_SEARCH_PAGE: i64 = 100;

fn page_key(actor: &Actor, query: String) -> PageKey {
    PageKey {
        account_id: actor.account_id(),
        environment: actor.environment(),
        query,
    }
}

/// A page as found: remembered (its streams resolved only if a body must be rendered) or just
/// read from the store (with its streams).
struct Found {
    page: Arc<StreamPage>,
    items: Option<Vec<Arc<CachedStream>>>,
}

/// A rendered list page and where the next page starts, if there is one.
pub struct RenderedPage {
    pub body: Bytes,
    pub next: Option<After>,
}

fn unrenderable() -> Error {
    Error::Internal("a list page could not be rendered".into())
}

impl Services {
    /// Opens the rows of a page read at `generation` and remembers each stream.
    fn open_page(
        &self,
        generation: u64,
        rows: Vec<StreamRecord>,
    ) -> Result<Vec<Arc<CachedStream>>, Error> {
        rows.into_iter()
            .map(|r| {
                let s = Arc::new(CachedStream::new(self.open_stream(r)?));
                self.verifier.remember_stream(generation, &s);
                Ok(s)
            })
            .collect()
    }

    /// A page from `rows` read at `generation` (up to `limit` of them, one more if there is a
    /// next page): its streams opened, and the page remembered under `key` with where the next
    /// page starts.
    fn remember_page(
        &self,
        generation: u64,
        key: PageKey,
        mut rows: Vec<StreamRecord>,
        limit: i64,
        total: i64,
    ) -> Result<Found, Error> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let items = self.open_page(generation, rows)?;
        let next = more.then(|| items.last()).flatten().map(|s| After {
            created_at: s.stream.created_at,
            id: s.stream.id,
        });
        let page = Arc::new(StreamPage {
            ids: items.iter().map(|s| s.stream.id).collect(),
            total,
            next,
            bodies: EpochMemo::default(),
        });
        self.verifier
            .remember_stream_page(generation, key, page.clone());
        Ok(Found {
            page,
            items: Some(items),
        })
    }

    /// The streams of a remembered page, each from the object cache (or the store, if it was
    /// evicted); one deleted meanwhile is left out.
    async fn resolve_page(
        &self,
        actor: &Actor,
        page: &StreamPage,
    ) -> Result<Vec<Arc<CachedStream>>, Error> {
        let mut items = Vec::with_capacity(page.ids.len());
        for id in &page.ids {
            if let Some(s) = self
                .verifier
                .stream_object(*id, |r| self.open_stream(r))
                .await?
                .filter(|s| in_scope(actor, &s.stream))
            {
                items.push(s);
            }
        }
        Ok(items)
    }

    /// A found page's streams: those read with it, else resolved.
    async fn items_of(
        &self,
        actor: &Actor,
        found: Found,
    ) -> Result<(Vec<Arc<CachedStream>>, Arc<StreamPage>), Error> {
        match found.items {
            Some(items) => Ok((items, found.page)),
            None => Ok((self.resolve_page(actor, &found.page).await?, found.page)),
        }
    }

    /// A found page's body in `rendering` for `variant`: the one kept with the page if it was
    /// rendered at `epoch` (read before the page was found, so no stream has changed since),
    /// else rendered by `render` from the page's streams and kept.
    async fn body_of(
        &self,
        actor: &Actor,
        epoch: u64,
        found: Found,
        rendering: Rendering,
        variant: &str,
        render: impl FnOnce(&[Arc<CachedStream>], &StreamPage) -> Option<Bytes>,
    ) -> Result<RenderedPage, Error> {
        let (body, page) = match found.page.bodies.get(rendering, variant, epoch) {
            Some(body) => (body, found.page),
            None => {
                let (items, page) = self.items_of(actor, found).await?;
                let body = render(&items, &page).ok_or_else(unrenderable)?;
                page.bodies.set(rendering, variant, epoch, body.clone());
                (body, page)
            }
        };
        Ok(RenderedPage {
            body,
            next: page.next.clone(),
        })
    }

    /// Up to `limit` of the caller's streams, oldest first, after the cursor `after`.
    pub async fn list_streams(
        &self,
        actor: &Actor,
        after: Option<After>,
        limit: i64,
    ) -> Result<Page<Stream>, Error> {
        let page = self.stream_page(actor, after, limit).await?;
        Ok(Page {
            items: page.items.iter().map(|s| s.stream.clone()).collect(),
            next: page.next,
        })
    }

    /// `list_streams` as the read path serves it: shared copies, the page remembered until a
    /// stream is created, renamed or deleted.
    pub async fn stream_page(
        &self,
        actor: &Actor,
        after: Option<After>,
        limit: i64,
    ) -> Result<Page<Arc<CachedStream>>, Error> {
        let found = self.keyset_page(actor, after, limit).await?;
        let (items, page) = self.items_of(actor, found).await?;
        Ok(Page {
            items,
            next: page.next.clone(),
        })
    }

    /// `stream_page`'s body in `rendering` for `variant`, kept with the page while none of the
    /// streams changes (`render` makes it from the page's streams when it must).
    pub async fn stream_page_body(
        &self,
        actor: &Actor,
        after: Option<After>,
        limit: i64,
        (rendering, variant): (Rendering, &str),
        render: impl FnOnce(&[Arc<CachedStream>]) -> Option<Bytes>,
    ) -> Result<RenderedPage, Error> {
        let epoch = self.verifier.page_epoch();
        let found = self.keyset_page(actor, after, limit).await?;
        self.body_of(actor, epoch, found, rendering, variant, |items, _| {
            render(items)
        })
        .await
    }

    async fn keyset_page(
        &self,
        actor: &Actor,
        after: Option<After>,
        limit: i64,
    ) -> Result<Found, Error> {
        actor.require(Permission(Resource::Streams, Action::List))?;
        let limit = limit.clamp(1, MAX_PAGE);
        let cursor = after.as_ref().map(|a| (a.created_at, a.id));
        let key = page_key(actor, format!("keyset {cursor:?} {limit}"));
        if let Some(page) = self.verifier.stream_page(&key) {
            return Ok(Found { page, items: None });
        }
        let generation = self.verifier.generation();
        let rows = self
            .store
            .list_streams(Scope::of(actor), after.as_ref(), limit + 1)
            .await?;
        self.remember_page(generation, key, rows, limit, -1)
    }

    /// The body of page `page` (from 1) of `page_size`, filtered by exact name and/or stream
    /// key, in `order`, in `rendering` for `variant`: kept with the page while none of the
    /// streams changes (`render` makes it from the page's streams and the total matching when
    /// it must).
    #[allow(clippy::too_many_arguments)]
    pub async fn search_streams_body(
        &self,
        actor: &Actor,
        (name, stream_key): (Option<&str>, Option<&str>),
        order: StreamOrder,
        page: i64,
        page_size: i64,
        (rendering, variant): (Rendering, &str),
        render: impl FnOnce(&[Arc<CachedStream>], i64) -> Option<Bytes>,
    ) -> Result<Bytes, Error> {
        let epoch = self.verifier.page_epoch();
        let rendered = match self
            .search_page(actor, (name, stream_key), order, page, page_size)
            .await?
        {
            None => render(&[], 0).ok_or_else(unrenderable)?,
            Some(found) => {
                self.body_of(actor, epoch, found, rendering, variant, |items, p| {
                    render(items, p.total)
                })
                .await?
                .body
            }
        };
        Ok(rendered)
    }

    /// The page `search_streams_body` names; `None` when no stream can match. A page starts
    /// where the previous page ended when that page is remembered (keyset: its cost does not
    /// grow with the page number or the scope), else after skipping the pages before it on the
    /// index.
    async fn search_page(
        &self,
        actor: &Actor,
        (name, stream_key): (Option<&str>, Option<&str>),
        order: StreamOrder,
        page: i64,
        page_size: i64,
    ) -> Result<Option<Found>, Error> {
        actor.require(Permission(Resource::Streams, Action::List))?;
        let page_size = page_size.clamp(1, MAX_SEARCH_PAGE);
        let page = page.max(1);
        // No stream has a longer name: nothing to look up, or to remember under it.
        if name.is_some_and(|n| n.chars().count() > domain::stream::MAX_NAME) {
            return Ok(None);
        }
        let hash = stream_key.map(|k| sha256(k.as_bytes()).to_vec());
        // The key's hash names a stream-key filter, never the key.
        let key = |p: i64| {
            page_key(
                actor,
                format!("pages {name:?} {hash:?} {order:?} {page_size} {p}"),
            )
        };
        if let Some(cached) = self.verifier.stream_page(&key(page)) {
            return Ok(Some(Found {
                page: cached,
                items: None,
            }));
        }
        // Only oldest-first pages continue where the previous one ended (the keyset).
        let start = (page > 1 && order == StreamOrder::CreatedAsc)
            .then(|| self.verifier.stream_page(&key(page - 1)))
            .flatten()
            .and_then(|p| p.next.clone());
        let offset = if start.is_some() {
            0
        } else {
            (page - 1).saturating_mul(page_size)
        };
        let generation = self.verifier.generation();
        let (rows, total) = self
            .store
            .search_streams(
                Scope::of(actor),
                name,
                hash.as_deref(),
                order,
                start.as_ref(),
                offset,
                page_size + 1,
            )
            .await?;
        self.remember_page(generation, key(page), rows, page_size, total)
            .map(Some)
    }
}
