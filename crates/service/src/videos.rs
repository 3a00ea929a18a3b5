//! Videos (api.video's `/videos`, Livepeer's assets and their tasks): created with an API key,
//! filled by an upload (with the key, with an upload token, or through a one-time upload URL)
//! or by an import from a URL, and served back as stored. Every upload credential is of one
//! account and environment, expiring, and audited; every byte goes through `objects`, streamed
//! and size-checked as it arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};
use uuid::Uuid;

use super::Services;
use crypto::{random_base62, Aad, SecretString};
use domain::video::{self, ChunkRange};
use domain::{Action, Actor, Environment, Error, Permission, Resource};
use domain::{Video, VideoPhase, VideoSource};
use store::{PartWritten, Scope};
/// A list's filter, a metadata update and a sort order: the dialects build them.
pub use store::{VideoFilter, VideoPatch, VideoSort};

/// How long a one-time upload URL (Livepeer's request-upload) may wait for its file.
pub const UPLOAD_URL_TTL_MS: i64 = 3600 * 1000;
/// Imports fetching at once, in all…
const IMPORTS: usize = 4;
/// …and per account.
const IMPORTS_PER_ACCOUNT: usize = 2;
/// A running import says so this often (its row's `updated_at`)…
const IMPORT_HEARTBEAT: Duration = Duration::from_secs(60);
/// …and one silent this long is taken for dead (its process stopped) and failed.
const IMPORT_STALL_MS: i64 = 10 * 60 * 1000;
/// The longest an import may take, whatever rate its source trickles at.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Parts being written at once, server-wide; beyond that, an upload is refused as busy.
pub const UPLOADS: usize = 64;

/// What a new video is made of.
#[derive(Debug, Clone, Default)]
pub struct NewVideo {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub metadata: Vec<(String, String)>,
    pub public: Option<bool>,
}

/// A list's filter, order and page.
#[derive(Debug, Clone, Default)]
pub struct VideoQuery {
    pub filter: VideoFilter,
    pub sort: VideoSort,
    pub descending: bool,
    pub page: i64,
    pub size: i64,
}

/// Imports running now: at most `IMPORTS`, `IMPORTS_PER_ACCOUNT` of one account.
#[derive(Default)]
pub struct Imports(Mutex<HashMap<Uuid, usize>>);

/// A running import's place, given back when its task ends.
struct ImportSlot {
    svc: Arc<Services>,
    account: Uuid,
}

impl Imports {
    /// Takes a place for an import of `account`; false when all are taken.
    fn take(&self, account: Uuid) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return false;
        };
        let all: usize = m.values().sum();
        let mine = m.get(&account).copied().unwrap_or(0);
        if all >= IMPORTS || mine >= IMPORTS_PER_ACCOUNT {
            return false;
        }
        m.insert(account, mine + 1);
        true
    }

    fn give_back(&self, account: Uuid) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(n) = m.get_mut(&account) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&account);
                }
            }
        }
    }
}

impl Drop for ImportSlot {
    fn drop(&mut self) {
        self.svc.imports.give_back(self.account);
    }
}

fn private_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "videos",
        id,
        field: "private_token",
    }
}

use crate::uploads::token_hash as hex_sha256;

/// The lookup key of an upload credential from a request (an upload token, a one-time URL's
/// token); one that cannot be one is refused before any lookup.
fn credential_hash(token: &str) -> Result<String, Error> {
    if token.is_empty() || token.len() > 256 {
        return Err(Error::Unauthenticated(domain::AuthFailure::Malformed));
    }
    Ok(hex_sha256(token))
}

fn video_ref(id: Uuid) -> String {
    format!("video:{id}")
}

/// How the audit log names a one-time upload URL's caller: by the video it was made for.
fn upload_url_actor(id: Uuid) -> String {
    format!("upload_url:{id}")
}

impl Services {
    fn scope_of(v: &Video) -> Scope {
        Scope {
            account_id: v.account_id,
            environment: v.environment,
        }
    }

    /// A new, empty video of (account, environment).
    fn new_video(
        &self,
        account_id: Uuid,
        environment: Environment,
        new: NewVideo,
        source: VideoSource,
    ) -> Result<Video, Error> {
        let id = Uuid::now_v7();
        let private = SecretString::new(random_base62(24));
        let now = self.now_ms();
        Ok(Video {
            id,
            account_id,
            environment,
            title: video::validate_title(&new.title)?,
            description: video::validate_description(&new.description)?,
            tags: video::validate_tags(&new.tags)?,
            metadata: video::validate_metadata(&new.metadata)?,
            public: new.public.unwrap_or(true),
            private_sealed: self
                .vault
                .seal(&private_aad(&id.to_string()), private.expose()),
            playback_id: domain::stream::generate_playback_id(),
            phase: VideoPhase::Waiting,
            source,
            received: 0,
            total: None,
            parts: Vec::new(),
            task_id: Uuid::now_v7(),
            error: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// The private token a private video's URLs carry.
    pub fn video_private_token(&self, v: &Video) -> Result<SecretString, Error> {
        self.vault
            .open(&private_aad(&v.id.to_string()), &v.private_sealed)
            .map_err(|e| Error::Internal(format!("video {}: {e}", v.id)))
    }

    /// Creates a video awaiting its source (api.video `POST /videos`).
    pub async fn create_video(&self, actor: &Actor, new: NewVideo) -> Result<Video, Error> {
        actor.require(Permission(Resource::Uploads, Action::Create))?;
        let v = self.new_video(
            actor.account_id(),
            actor.environment(),
            new,
            VideoSource::Upload,
        )?;
        self.store.insert_video(&v, None, None).await?;
        self.audit_by(actor, "video.create", video_ref(v.id)).await;
        self.announce_asset(&v, "asset.created").await;
        Ok(v)
    }

    /// Creates a video and a one-time URL its file may be PUT to without an API key (Livepeer's
    /// request-upload). The URL's token is returned this once; only its hash is kept.
    pub async fn request_upload(
        &self,
        actor: &Actor,
        new: NewVideo,
    ) -> Result<(Video, SecretString), Error> {
        actor.require(Permission(Resource::Uploads, Action::Create))?;
        let v = self.new_video(
            actor.account_id(),
            actor.environment(),
            new,
            VideoSource::Upload,
        )?;
        let token = SecretString::new(format!("up{}", random_base62(32)));
        let expires = self.now_ms() + UPLOAD_URL_TTL_MS;
        self.store
            .insert_video(&v, Some((&hex_sha256(token.expose()), expires)), None)
            .await?;
        self.audit_by(actor, "video.upload_url", video_ref(v.id))
            .await;
        self.announce_asset(&v, "asset.created").await;
        Ok((v, token))
    }

    pub async fn get_video(&self, actor: &Actor, id: Uuid) -> Result<Video, Error> {
        actor.require(Permission(Resource::Uploads, Action::Read))?;
        self.store
            .video(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("video"))
    }

    /// The video whose upload or import is this task (Livepeer's `/api/task/{id}`).
    pub async fn video_task(&self, actor: &Actor, task_id: Uuid) -> Result<Video, Error> {
        actor.require(Permission(Resource::Uploads, Action::Read))?;
        self.store
            .video_by_task(Scope::of(actor), task_id)
            .await?
            .ok_or(Error::NotFound("task"))
    }

    pub async fn list_videos(
        &self,
        actor: &Actor,
        q: &VideoQuery,
    ) -> Result<(Vec<Video>, i64), Error> {
        actor.require(Permission(Resource::Uploads, Action::List))?;
        let size = q.size.clamp(1, 100);
        for t in &q.filter.tags {
            if t.len() > video::MAX_TAG {
                return Err(Error::Invalid(format!(
                    "a tag is at most {} bytes",
                    video::MAX_TAG
                )));
            }
        }
        Ok(self
            .store
            .list_videos(
                Scope::of(actor),
                &q.filter,
                q.sort,
                q.descending,
                (q.page.max(1) - 1) * size,
                size,
            )
            .await?)
    }

    pub async fn update_video(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: VideoPatch,
    ) -> Result<Video, Error> {
        actor.require(Permission(Resource::Uploads, Action::Update))?;
        let patch = VideoPatch {
            title: patch
                .title
                .as_deref()
                .map(video::validate_title)
                .transpose()?,
            description: patch
                .description
                .as_deref()
                .map(video::validate_description)
                .transpose()?,
            tags: patch
                .tags
                .as_deref()
                .map(video::validate_tags)
                .transpose()?,
            metadata: patch
                .metadata
                .as_deref()
                .map(video::validate_metadata)
                .transpose()?,
            public: patch.public,
        };
        let v = self
            .store
            .update_video(Scope::of(actor), id, &patch, self.now_ms())
            .await?
            .ok_or(Error::NotFound("video"))?;
        self.audit_by(actor, "video.update", video_ref(id)).await;
        Ok(v)
    }

    /// Deletes the video, then its stored bytes.
    pub async fn delete_video(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Uploads, Action::Delete))?;
        let v = self
            .store
            .video(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("video"))?;
        if !self
            .store
            .delete_video(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("video"));
        }
        self.audit_by(actor, "video.delete", video_ref(id)).await;
        let mut gone = v;
        gone.updated_at = self.now_ms();
        self.announce_asset(&gone, "asset.deleted").await;
        if let Err(e) = self.objects.delete_all(&video::source_prefix(id)).await {
            // The row is gone, so nothing serves the bytes; they are only space.
            tracing::warn!(error = %e, video = %id, "could not delete a deleted video's files");
        }
        Ok(())
    }

    /// Uploads (a chunk of) the source with an API key (api.video `POST /videos/{id}/source`).
    pub async fn upload_source<S, E>(
        &self,
        actor: &Actor,
        id: Uuid,
        range: Option<ChunkRange>,
        body: S,
    ) -> Result<Video, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        actor.require(Permission(Resource::Uploads, Action::Update))?;
        let v = self
            .store
            .video(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("video"))?;
        let v = self.store_part(v, range, body).await?;
        self.audit_by_detail(
            actor,
            "video.upload",
            video_ref(id),
            format!("{{\"received\":{}}}", v.received),
        )
        .await;
        Ok(v)
    }

    /// The account and environment an upload token uploads into, if it is live.
    pub async fn upload_token_scope(&self, token: &str) -> Result<Scope, Error> {
        let t = self
            .store
            .upload_token_by_hash(&credential_hash(token)?, self.now_ms())
            .await?
            .ok_or(Error::Unauthenticated(domain::AuthFailure::NotFound))?;
        Ok(Scope {
            account_id: t.account_id,
            environment: t.environment,
        })
    }

    /// A delegated upload (api.video `POST /upload?token=`): the first chunk (no `video_id`)
    /// makes the video, titled with the file's name; later chunks name the video it returned,
    /// which must be of the token's account and environment.
    pub async fn upload_with_token<S, E>(
        &self,
        token: &str,
        video_id: Option<Uuid>,
        file_name: &str,
        range: Option<ChunkRange>,
        body: S,
    ) -> Result<Video, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let scope = self.upload_token_scope(token).await?;
        let actor = crate::uploads::token_ref(token);
        // The clients' chunked uploads (`part k/N`) name no video after the first chunk: the
        // chunks of one file are found by (token, N, file name).
        let chunk_key = match range {
            Some(ChunkRange::Part { count: Some(n), .. }) if n > 1 => Some(hex_sha256(&format!(
                "chunks\n{token}\n{n}\n{}",
                domain::text::cap(file_name, 1024)
            ))),
            _ => None,
        };
        let first = match range {
            None => true,
            Some(ChunkRange::Part { n, .. }) => n == 1,
            Some(ChunkRange::Bytes { first, .. }) => first == 0,
            // (Only a tus PATCH makes one, never a form's Content-Range.)
            Some(ChunkRange::From { first }) => first == 0,
        };
        let v = match (video_id, &chunk_key) {
            (Some(id), _) => self
                .store
                .video(scope, id)
                .await?
                .ok_or(Error::NotFound("video"))?,
            (None, Some(key)) if !first => self
                .store
                .video_by_chunk_key(scope, key)
                .await?
                .ok_or_else(|| {
                    Error::Invalid(
                        "no upload of this file is in progress: send its first chunk first".into(),
                    )
                })?,
            (None, _) if !first => {
                return Err(Error::Invalid(
                    "a chunk after the first must name its video (the videoId field)".into(),
                ))
            }
            (None, _) => {
                let title = domain::text::cap(file_name.trim(), video::MAX_TITLE);
                let new = NewVideo {
                    title: if title.is_empty() {
                        "video".into()
                    } else {
                        title.to_string()
                    },
                    ..Default::default()
                };
                let v = self.new_video(
                    scope.account_id,
                    scope.environment,
                    new,
                    VideoSource::Upload,
                )?;
                self.store
                    .insert_video(&v, None, chunk_key.as_deref())
                    .await?;
                self.audit_system(
                    scope,
                    &actor,
                    "video.create",
                    video_ref(v.id),
                    String::new(),
                )
                .await;
                v
            }
        };
        let v = self.store_part(v, range, body).await?;
        self.audit_system(
            scope,
            &actor,
            "video.upload",
            video_ref(v.id),
            format!("{{\"received\":{}}}", v.received),
        )
        .await;
        Ok(v)
    }

    /// A one-time upload URL's PUT: the whole file, no API key. The URL is spent as the upload
    /// begins; an upload that fails leaves the video failed (request another URL).
    pub async fn upload_with_url<S, E>(&self, token: &str, body: S) -> Result<Video, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let v = self
            .store
            .take_upload_url(&credential_hash(token)?, self.now_ms())
            .await?
            .ok_or(Error::Unauthenticated(domain::AuthFailure::NotFound))?;
        let scope = Self::scope_of(&v);
        let id = v.id;
        match self.store_part(v, None, body).await {
            Ok(v) => {
                self.audit_system(
                    scope,
                    &upload_url_actor(id),
                    "video.upload",
                    video_ref(id),
                    format!("{{\"received\":{}}}", v.received),
                )
                .await;
                Ok(v)
            }
            Err(e) => {
                let msg = e.to_string();
                self.store
                    .set_video_phase(id, VideoPhase::Failed, Some(&msg), self.now_ms())
                    .await?;
                if let Some(failed) = self.store.video_any(id).await? {
                    self.announce_asset(&failed, "asset.failed").await;
                }
                Err(e)
            }
        }
    }

    /// Creates a resumable (tus) upload of `total` bytes through a one-time URL (Livepeer's
    /// `tusEndpoint`): the URL then stays valid, for this video, until its file is complete.
    pub async fn start_resumable_upload(&self, token: &str, total: i64) -> Result<Video, Error> {
        let max = self.settings.upload_max_bytes;
        if total < 0 || total as u64 > max {
            return Err(Error::TooLarge(format!(
                "the file is larger than the {max} bytes this server accepts"
            )));
        }
        let v = self
            .store
            .start_resumable_upload(&credential_hash(token)?, total, self.now_ms())
            .await?
            .ok_or(Error::Unauthenticated(domain::AuthFailure::NotFound))?;
        self.audit_system(
            Self::scope_of(&v),
            &upload_url_actor(v.id),
            "video.upload_resumable",
            video_ref(v.id),
            format!("{{\"total\":{total}}}"),
        )
        .await;
        Ok(v)
    }

    /// The video a live one-time URL's token was made for (its file not complete yet).
    pub async fn upload_url_video(&self, token: &str) -> Result<Video, Error> {
        self.store
            .video_by_upload_url(&credential_hash(token)?, self.now_ms())
            .await?
            .ok_or(Error::Unauthenticated(domain::AuthFailure::NotFound))
    }

    /// The video of a resumable upload under way, by its URL's token; `id` must be it.
    pub async fn resumable_upload(&self, token: &str, id: Uuid) -> Result<Video, Error> {
        Some(self.upload_url_video(token).await?)
            .filter(|v| v.id == id && v.phase == VideoPhase::Uploading)
            .ok_or(Error::Unauthenticated(domain::AuthFailure::NotFound))
    }

    /// A tus `PATCH`: the bytes from `offset` (which must be where the file ends so far).
    pub async fn resume_upload<S, E>(
        &self,
        token: &str,
        id: Uuid,
        offset: i64,
        body: S,
    ) -> Result<Video, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let v = self.resumable_upload(token, id).await?;
        let scope = Self::scope_of(&v);
        let v = self
            .store_part(v, Some(ChunkRange::From { first: offset }), body)
            .await?;
        self.audit_system(
            scope,
            &upload_url_actor(id),
            "video.upload",
            video_ref(id),
            format!("{{\"received\":{}}}", v.received),
        )
        .await;
        Ok(v)
    }

    /// Stores one part of `v`'s source where `range` says (None: the whole file) and records
    /// it. A part must begin where the source ends so far, or where the last part began (the
    /// same chunk sent again replaces it).
    async fn store_part<S, E>(
        &self,
        v: Video,
        range: Option<ChunkRange>,
        body: S,
    ) -> Result<Video, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        if v.phase == VideoPhase::Ready {
            return Err(Error::Conflict(
                "this video's source is complete; upload to a new video".into(),
            ));
        }
        if matches!(v.source, VideoSource::Url(_)) {
            return Err(Error::Conflict(
                "this video's source is imported from a URL".into(),
            ));
        }
        // At most `UPLOADS` parts are written at once, server-wide.
        let _slot = self
            .upload_slots
            .try_acquire()
            .map_err(|_| Error::Busy { retry_after: 5 })?;
        // Where the part begins, and whether it replaces the last one (the same chunk sent again).
        let last = v.parts.last();
        let (start, replaces) = match range {
            None if v.parts.is_empty() => (0, false),
            None => {
                return Err(Error::Conflict(
                    "this video holds part of a file already: send the rest in chunks".into(),
                ))
            }
            Some(ChunkRange::Bytes { first, .. }) if first == v.received => (first, false),
            Some(ChunkRange::Bytes { first, .. }) if last.is_some_and(|p| p.start == first) => {
                (first, true)
            }
            Some(ChunkRange::Bytes { first, .. }) => {
                return Err(Error::Invalid(format!(
                    "this chunk begins at byte {first}, but the video holds {} bytes: send the chunk that begins there",
                    v.received
                )))
            }
            Some(ChunkRange::From { first }) if first == v.received => (first, false),
            Some(ChunkRange::From { .. }) => {
                return Err(Error::Conflict(format!(
                    "Upload-Offset must be {}, where the file ends so far",
                    v.received
                )))
            }
            Some(ChunkRange::Part { n, .. }) if n == v.parts.len() as i64 + 1 => {
                (v.received, false)
            }
            Some(ChunkRange::Part { n, .. }) if n == v.parts.len() as i64 && n > 0 => {
                (last.map_or(0, |p| p.start), true)
            }
            Some(ChunkRange::Part { n, .. }) => {
                return Err(Error::Invalid(format!(
                    "this is part {n}, but the video holds {} parts: send part {}",
                    v.parts.len(),
                    v.parts.len() + 1
                )))
            }
        };
        let max = self.settings.upload_max_bytes;
        let room = max.saturating_sub(start as u64);
        // Every attempt writes an object of its own: only the one recorded below is served, and
        // one that loses (or is refused) is deleted.
        let key = video::part_key(v.id, start);
        let size = self
            .objects
            .write(&key, body, room)
            .await
            .map_err(|e| match e {
                crate::objects::WriteError::TooLarge { .. } => Error::TooLarge(format!(
                    "the file is larger than the {max} bytes this server accepts"
                )),
                e => e.into(),
            })? as i64;
        let refuse = |e: Error| async {
            if let Err(d) = self.objects.delete(&key).await {
                tracing::warn!(error = %d, "could not delete a refused part");
            }
            Err(e)
        };
        let (received, total) = match range {
            Some(ChunkRange::Bytes { first, last, total }) => {
                if size != last - first + 1 {
                    return refuse(Error::Invalid(format!(
                        "Content-Range announced {} bytes but the chunk held {size}",
                        last - first + 1
                    )))
                    .await;
                }
                (start + size, total)
            }
            Some(r @ ChunkRange::Part { .. }) => {
                (start + size, r.is_last_part().then_some(start + size))
            }
            None => (size, Some(size)),
            Some(ChunkRange::From { .. }) => (start + size, v.total),
        };
        if total.is_some_and(|t| received > t) {
            return refuse(Error::Invalid(format!(
                "the file is larger than the {} bytes announced",
                total.unwrap_or_default()
            )))
            .await;
        }
        if size == 0 && total != Some(received) {
            return refuse(Error::Invalid("the chunk is empty".into())).await;
        }
        let complete = total == Some(received);
        let mut parts = v.parts.clone();
        let replaced = if replaces { parts.pop() } else { None };
        parts.push(video::VideoPart {
            start,
            size,
            key: key.clone(),
        });
        let part = PartWritten {
            expected_received: v.received,
            expected_parts: v.parts.clone(),
            received,
            parts,
            total,
            phase: if complete {
                VideoPhase::Ready
            } else {
                VideoPhase::Uploading
            },
        };
        if !self.store.record_part(v.id, &part, self.now_ms()).await? {
            return refuse(Error::Conflict(
                "another chunk of this video landed meanwhile; send chunks one after the other"
                    .into(),
            ))
            .await;
        }
        if let Some(old) = replaced {
            if let Err(e) = self.objects.delete(&old.key).await {
                tracing::warn!(error = %e, "could not delete a replaced part");
            }
        }
        let v = self
            .store
            .video_any(v.id)
            .await?
            .ok_or(Error::NotFound("video"))?;
        if complete {
            self.announce_asset(&v, "asset.ready").await;
        }
        Ok(v)
    }

    /// Announces `event` (`asset.created`, `asset.ready`, `asset.failed`, `asset.deleted`) to
    /// the account's Livepeer webhooks, right after the change (a failure to queue is logged; the
    /// change stands).
    async fn announce_asset(&self, v: &Video, event: &str) {
        let mut status = serde_json::json!({"phase": match v.phase {
            VideoPhase::Waiting | VideoPhase::Uploading => "uploading",
            VideoPhase::Ready => "ready",
            VideoPhase::Failed => "failed",
        }, "updatedAt": v.updated_at});
        if let Some(e) = &v.error {
            status["errorMessage"] = serde_json::json!(e);
        }
        let asset = serde_json::json!({
            "id": v.id.to_string(),
            "name": v.title,
            "playbackId": v.playback_id,
            "status": status,
            "createdAt": v.created_at,
        });
        if let Err(e) = self
            .queue_livepeer_event(
                Self::scope_of(v),
                event,
                None,
                serde_json::json!({"asset": asset}),
            )
            .await
        {
            tracing::warn!(error = %e, video = %v.id, event, "could not queue an asset event");
        }
    }

    /// An audit event of a caller that is a credential rather than a key (an upload token, a
    /// one-time URL).
    async fn audit_system(
        &self,
        scope: Scope,
        actor: &str,
        action: &str,
        object: String,
        detail: String,
    ) {
        self.audit(domain::AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(scope.account_id),
            actor: actor.to_string(),
            action: action.into(),
            object,
            outcome: "ok".into(),
            detail,
            at: self.now_ms(),
            environment: Some(scope.environment),
        })
        .await;
    }

    /// Creates a video and imports its source from `url` in the background (Livepeer `POST
    /// /api/asset/url`): fetched under the webhook rules (public addresses only unless private
    /// targets are allowed, resolved once and pinned, no redirects) and the upload size limit.
    /// At most a few imports run at once; beyond that, refused as busy.
    pub async fn import_video(
        self: &Arc<Self>,
        actor: &Actor,
        new: NewVideo,
        url: &str,
    ) -> Result<Video, Error> {
        actor.require(Permission(Resource::Uploads, Action::Create))?;
        let url = domain::webhook::validate_url(url, self.webhooks_allow_private())
            .map_err(|_| Error::Invalid("url must be a public http(s) URL".into()))?;
        let v = self.new_video(
            actor.account_id(),
            actor.environment(),
            new,
            VideoSource::Url(url.clone()),
        )?;
        // Taken before anything is written; held by the task until it ends.
        if !self.imports.take(actor.account_id()) {
            return Err(Error::Busy { retry_after: 30 });
        }
        let slot = ImportSlot {
            svc: self.clone(),
            account: actor.account_id(),
        };
        self.store.insert_video(&v, None, None).await?;
        self.audit_by_detail(
            actor,
            "video.import",
            video_ref(v.id),
            serde_json::json!({"host": reqwest::Url::parse(&url).map(|u| crate::deliveries::host_of(&u)).unwrap_or_default()}).to_string(),
        )
        .await;
        self.announce_asset(&v, "asset.created").await;
        let svc = self.clone();
        let id = v.id;
        tokio::spawn(async move {
            let _slot = slot;
            let outcome = svc.fetch_import(id, &url).await;
            let now = svc.now_ms();
            let result = match outcome {
                Ok((key, size)) => {
                    let part = PartWritten {
                        expected_received: 0,
                        expected_parts: Vec::new(),
                        received: size,
                        parts: vec![video::VideoPart {
                            start: 0,
                            size,
                            key,
                        }],
                        total: Some(size),
                        phase: VideoPhase::Ready,
                    };
                    svc.store.record_part(id, &part, now).await.map(|_| ())
                }
                Err(msg) => {
                    tracing::info!(video = %id, error = %msg, "import failed");
                    svc.store
                        .set_video_phase(id, VideoPhase::Failed, Some(&msg), now)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(video = %id, error = %e, "could not record an import's end");
            }
            if let Ok(Some(v)) = svc.store.video_any(id).await {
                let event = if v.phase == VideoPhase::Ready {
                    "asset.ready"
                } else {
                    "asset.failed"
                };
                svc.announce_asset(&v, event).await;
            }
        });
        Ok(v)
    }

    /// Fetches an import's source into object storage, within `IMPORT_TIMEOUT`; its object and
    /// size, or why not (for the task; never the URL, which may carry a credential).
    async fn fetch_import(&self, id: Uuid, url: &str) -> Result<(String, i64), String> {
        let fetch = tokio::time::timeout(IMPORT_TIMEOUT, self.fetch_import_now(id, url));
        tokio::pin!(fetch);
        // While it runs, a heartbeat tells other instances (and the next start) it is alive.
        let mut beat = tokio::time::interval(IMPORT_HEARTBEAT);
        beat.tick().await;
        loop {
            tokio::select! {
                r = &mut fetch => {
                    return match r {
                        Ok(r) => r,
                        Err(_) => Err(format!(
                            "the file did not arrive within {} s",
                            IMPORT_TIMEOUT.as_secs()
                        )),
                    };
                }
                _ = beat.tick() => {
                    if let Err(e) = self.store.touch_import(id, self.now_ms()).await {
                        tracing::warn!(error = %e, video = %id, "could not record an import's heartbeat");
                    }
                }
            }
        }
    }

    async fn fetch_import_now(&self, id: Uuid, url: &str) -> Result<(String, i64), String> {
        self.store
            .set_video_phase(id, VideoPhase::Uploading, None, self.now_ms())
            .await
            .map_err(|e| e.to_string())?;
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        let client = self
            .pinned_client_builder(&parsed)
            .await
            .map_err(|(m, _)| m)?
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.without_url().to_string())?;
        let res = client
            .get(parsed)
            .send()
            .await
            .map_err(|e| format!("cannot fetch the file: {}", e.without_url()))?;
        if !res.status().is_success() {
            return Err(format!("fetching the file answered {}", res.status()));
        }
        let max = self.settings.upload_max_bytes;
        if res.content_length().is_some_and(|n| n > max) {
            return Err(format!(
                "the file is larger than the {max} bytes this server accepts"
            ));
        }
        let key = video::part_key(id, 0);
        let size = self
            .objects
            .write(
                &key,
                res.bytes_stream()
                    .map(|r| r.map_err(|e| e.without_url().to_string())),
                max,
            )
            .await
            .map_err(|e| Error::from(e).to_string())?;
        Ok((key, size as i64))
    }

    /// Imports whose process died (no heartbeat for `IMPORT_STALL_MS`) are failed (their task
    /// says so); at start-up and with the hourly housekeeping.
    pub async fn fail_stalled_imports(&self) -> Result<u64, Error> {
        let now = self.now_ms();
        Ok(self
            .store
            .fail_stalled_imports(now - IMPORT_STALL_MS, now)
            .await?)
    }

    /// The stored source of a video for a viewer: public, or private with its private token.
    /// None: no such video, not ready, or the token is wrong (one answer for all, so ids cannot
    /// be probed).
    /// With `range` (`first`, `last` inclusive; `last` clamped to the file), only those bytes;
    /// the caller checks `first` against the video's size first (416).
    pub async fn video_source_for_viewer(
        &self,
        id: Uuid,
        token: Option<&str>,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Option<(Video, crate::objects::ObjectRead)>, Error> {
        let Some(v) = self.store.video_any(id).await? else {
            return Ok(None);
        };
        if v.phase != VideoPhase::Ready {
            return Ok(None);
        }
        if !v.public {
            let want = self.video_private_token(&v)?;
            let ok = token.is_some_and(|t| {
                t.len() == want.expose().len()
                    && crate::ingest::constant_time_eq(t.as_bytes(), want.expose().as_bytes())
            });
            if !ok {
                return Ok(None);
            }
        }
        let parts: Vec<(String, u64)> = v
            .parts
            .iter()
            .map(|p| (p.key.clone(), p.size.max(0) as u64))
            .collect();
        let len = v.received.max(0) as u64;
        let (from, to) = match range {
            None => (0, len.saturating_sub(1)),
            Some((first, last)) => (first, last.unwrap_or(u64::MAX).min(len.saturating_sub(1))),
        };
        let read = if len == 0 {
            self.objects.read_parts(Vec::new(), 1, 0)?
        } else {
            self.objects.read_parts(parts, from, to)?
        };
        Ok(Some((v, read)))
    }
}

impl Services {
    /// The caller's account and how many videos its environment holds (api.video's `GET
    /// /account`).
    pub async fn account_with_videos(
        &self,
        actor: &Actor,
    ) -> Result<(domain::Account, i64), Error> {
        let account = self.own_account(actor).await?;
        let (_, videos) = self
            .store
            .list_videos(
                Scope::of(actor),
                &VideoFilter::default(),
                VideoSort::CreatedAt,
                false,
                0,
                1,
            )
            .await?;
        Ok((account, videos))
    }
}
