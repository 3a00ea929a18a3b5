//! Videos (api.video's videos, Livepeer's assets), as the store keeps them: the row, not the
//! bytes (those are in object storage). Every lookup a caller makes is scoped by account and
//! environment; the two unscoped ones serve credentials that name a video themselves (a
//! one-time upload URL, a public or private-token read).

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Scope, SqlStore, StoreError, StoreResult};
use domain::{Environment, Video, VideoPart, VideoPhase, VideoSource};

const COLUMNS: &str = "id, account_id, environment, title, description, tags, metadata, public, private_sealed, playback_id, phase, source_url, received, total, parts, task_id, error, created_at, updated_at";

/// What a list is filtered by (None or empty: not filtered).
#[derive(Debug, Clone, Default)]
pub struct VideoFilter {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Videos holding every one of these tags.
    pub tags: Vec<String>,
    /// Videos holding every one of these pairs.
    pub metadata: Vec<(String, String)>,
}

/// The column a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoSort {
    Title,
    #[default]
    CreatedAt,
    UpdatedAt,
}

/// What a metadata update changes (None: left as it is).
#[derive(Debug, Clone, Default)]
pub struct VideoPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Vec<(String, String)>>,
    pub public: Option<bool>,
}

/// A stored part of the source: the parts the writer saw (`expected`) and the video after it.
#[derive(Debug, Clone)]
pub struct PartWritten {
    pub expected_received: i64,
    pub expected_parts: Vec<VideoPart>,
    pub received: i64,
    pub parts: Vec<VideoPart>,
    pub total: Option<i64>,
    pub phase: VideoPhase,
}

#[async_trait]
pub trait VideoStore: Send + Sync {
    /// Inserts the video; with a one-time upload URL's token hash and its expiry, or the key
    /// its later chunks are found by.
    async fn insert_video(
        &self,
        v: &Video,
        upload: Option<(&str, i64)>,
        chunk_key: Option<&str>,
    ) -> StoreResult<()>;
    /// The newest video still uploading whose chunks are found by `chunk_key`.
    async fn video_by_chunk_key(&self, scope: Scope, chunk_key: &str)
        -> StoreResult<Option<Video>>;
    async fn video(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Video>>;
    /// A video by id in any account: for reads whose credential names the video itself.
    async fn video_any(&self, id: Uuid) -> StoreResult<Option<Video>>;
    async fn video_by_task(&self, scope: Scope, task_id: Uuid) -> StoreResult<Option<Video>>;
    /// A page of the scope's videos and how many match in all.
    async fn list_videos(
        &self,
        scope: Scope,
        filter: &VideoFilter,
        sort: VideoSort,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Video>, i64)>;
    async fn update_video(
        &self,
        scope: Scope,
        id: Uuid,
        patch: &VideoPatch,
        at: i64,
    ) -> StoreResult<Option<Video>>;
    /// Records a stored part, if the video still stands where the writer saw it (no other part
    /// landed meanwhile). False: it moved on, or the video is gone.
    async fn record_part(&self, id: Uuid, part: &PartWritten, at: i64) -> StoreResult<bool>;
    /// Sets the phase (and the error, when failed), unless the video is deleted.
    async fn set_video_phase(
        &self,
        id: Uuid,
        phase: VideoPhase,
        error: Option<&str>,
        at: i64,
    ) -> StoreResult<()>;
    /// Uses a one-time upload URL: the video it was made for, with the URL cleared and the video
    /// uploading, in one statement (a second use finds nothing). None: unknown, used or expired.
    async fn take_upload_url(&self, hash: &str, now: i64) -> StoreResult<Option<Video>>;
    /// Begins a resumable (tus) upload through a one-time URL: the video it was made for, now
    /// uploading a file of `total` bytes; the URL stays valid until the file is complete. None:
    /// unknown, used or expired.
    async fn start_resumable_upload(
        &self,
        hash: &str,
        total: i64,
        now: i64,
    ) -> StoreResult<Option<Video>>;
    /// The video a live one-time URL was made for, while it waits for its file or a resumable
    /// upload of it is under way.
    async fn video_by_upload_url(&self, hash: &str, now: i64) -> StoreResult<Option<Video>>;
    /// Marks the video deleted. False: no such video in the scope.
    async fn delete_video(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
    /// An import is still running (its heartbeat): `updated_at` moves on while it uploads.
    async fn touch_import(&self, id: Uuid, at: i64) -> StoreResult<()>;
    /// Fails the imports that have made no progress since `before` (their process died).
    async fn fail_stalled_imports(&self, before: i64, at: i64) -> StoreResult<u64>;
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    account_id: String,
    environment: String,
    title: String,
    description: String,
    tags: String,
    metadata: String,
    public: bool,
    private_sealed: String,
    playback_id: String,
    phase: String,
    source_url: Option<String>,
    received: i64,
    total: Option<i64>,
    parts: String,
    task_id: String,
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("videos: {e}"))
}

impl Row {
    fn into_domain(self) -> StoreResult<Video> {
        Ok(Video {
            id: crate::rows::uuid(&self.id)?,
            account_id: crate::rows::uuid(&self.account_id)?,
            environment: Environment::parse(&self.environment).map_err(corrupt)?,
            title: self.title,
            description: self.description,
            tags: serde_json::from_str(&self.tags).map_err(corrupt)?,
            metadata: serde_json::from_str(&self.metadata).map_err(corrupt)?,
            public: self.public,
            private_sealed: self.private_sealed,
            playback_id: self.playback_id,
            phase: VideoPhase::parse(&self.phase).map_err(corrupt)?,
            source: self
                .source_url
                .map_or(VideoSource::Upload, VideoSource::Url),
            received: self.received,
            total: self.total,
            parts: serde_json::from_str(&self.parts).map_err(corrupt)?,
            task_id: crate::rows::uuid(&self.task_id)?,
            error: self.error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl VideoStore for SqlStore {
    async fn insert_video(
        &self,
        v: &Video,
        upload: Option<(&str, i64)>,
        chunk_key: Option<&str>,
    ) -> StoreResult<()> {
        let source_url = match &v.source {
            VideoSource::Upload => None,
            VideoSource::Url(u) => Some(u.clone()),
        };
        self.db
            .execute(
                "INSERT INTO videos (id, account_id, environment, title, description, tags, metadata, public, private_sealed, playback_id, phase, source_url, received, total, parts, task_id, error, upload_hash, upload_expires_at, chunk_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
                crate::args![
                    v.id.to_string(),
                    v.account_id.to_string(),
                    v.environment.as_str(),
                    v.title.as_str(),
                    v.description.as_str(),
                    json(&v.tags),
                    json(&v.metadata),
                    v.public,
                    v.private_sealed.as_str(),
                    v.playback_id.as_str(),
                    v.phase.as_str(),
                    source_url,
                    v.received,
                    v.total,
                    json(&v.parts),
                    v.task_id.to_string(),
                    v.error.clone(),
                    upload.map(|(h, _)| h.to_string()),
                    upload.map(|(_, e)| e),
                    chunk_key.map(str::to_string),
                    v.created_at,
                    v.updated_at
                ],
            )
            .await?;
        Ok(())
    }

    async fn video(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Video>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM videos WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL"),
                crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn video_by_chunk_key(
        &self,
        scope: Scope,
        chunk_key: &str,
    ) -> StoreResult<Option<Video>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM videos WHERE chunk_key = $1 AND account_id = $2 AND environment = $3 AND phase = 'uploading' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1"),
                crate::args![chunk_key.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn video_any(&self, id: Uuid) -> StoreResult<Option<Video>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM videos WHERE id = $1 AND deleted_at IS NULL"),
                crate::args![id.to_string()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn video_by_task(&self, scope: Scope, task_id: Uuid) -> StoreResult<Option<Video>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM videos WHERE task_id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL"),
                crate::args![task_id.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn list_videos(
        &self,
        scope: Scope,
        filter: &VideoFilter,
        sort: VideoSort,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Video>, i64)> {
        let mut wh = String::from("account_id = $1 AND environment = $2 AND deleted_at IS NULL");
        let mut args = crate::args![scope.account_id.to_string(), scope.environment.as_str()];
        let mut n = 2;
        let mut push = |wh: &mut String, args: &mut crate::db::Args, clause: &str, v: String| {
            n += 1;
            wh.push_str(&clause.replace("$?", &format!("${n}")));
            args.0.push(crate::db::Arg::from(v));
        };
        if let Some(t) = &filter.title {
            push(&mut wh, &mut args, " AND title = $?", t.clone());
        }
        if let Some(d) = &filter.description {
            push(&mut wh, &mut args, " AND description = $?", d.clone());
        }
        // Tags and metadata are JSON arrays of strings: an element matches as its JSON text,
        // quotes included, so one tag never matches inside another; case-sensitively on both
        // backends (SQLite's LIKE would ignore case).
        let contains = match self.db.backend() {
            crate::db::Backend::Sqlite => "instr",
            crate::db::Backend::Postgres => "strpos",
        };
        for t in &filter.tags {
            let clause = format!(" AND {contains}(tags, $?) > 0");
            push(&mut wh, &mut args, &clause, json(t));
        }
        for pair in &filter.metadata {
            let clause = format!(" AND {contains}(metadata, $?) > 0");
            push(&mut wh, &mut args, &clause, json(&[&pair.0, &pair.1]));
        }
        let col = match sort {
            VideoSort::Title => format!("title{}", self.db.backend().bytewise()),
            VideoSort::CreatedAt => "created_at".to_string(),
            VideoSort::UpdatedAt => "updated_at".to_string(),
        };
        let dir = if descending { "DESC" } else { "ASC" };
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM videos WHERE {wh}"),
                args.clone(),
            )
            .await?;
        let mut page_args = args;
        page_args.0.push(crate::db::Arg::from(limit));
        page_args.0.push(crate::db::Arg::from(offset));
        let rows = self
            .db
            .fetch_all::<Row>(
                &format!(
                    "SELECT {COLUMNS} FROM videos WHERE {wh} ORDER BY {col} {dir}, id {dir} LIMIT ${} OFFSET ${}",
                    n + 1,
                    n + 2
                ),
                page_args,
            )
            .await?;
        let videos = rows
            .into_iter()
            .map(Row::into_domain)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((videos, total))
    }

    async fn update_video(
        &self,
        scope: Scope,
        id: Uuid,
        patch: &VideoPatch,
        at: i64,
    ) -> StoreResult<Option<Video>> {
        let updated = self
            .db
            .execute(
                "UPDATE videos SET title = COALESCE($1, title), description = COALESCE($2, description), \
                 tags = COALESCE($3, tags), metadata = COALESCE($4, metadata), public = COALESCE($5, public), updated_at = $6 \
                 WHERE id = $7 AND account_id = $8 AND environment = $9 AND deleted_at IS NULL",
                crate::args![
                    patch.title.clone(),
                    patch.description.clone(),
                    patch.tags.as_ref().map(json),
                    patch.metadata.as_ref().map(json),
                    patch.public,
                    at,
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        if updated == 0 {
            return Ok(None);
        }
        self.video(scope, id).await
    }

    async fn record_part(&self, id: Uuid, part: &PartWritten, at: i64) -> StoreResult<bool> {
        // The parts as the writer saw them are compared as stored (the same serialization): a
        // part recorded meanwhile by another request makes this one lose. A complete video takes
        // no more uploads: its one-time URL and chunk key go.
        let n = self
            .db
            .execute(
                "UPDATE videos SET received = $1, parts = $2, total = COALESCE($3, total), phase = $4, error = NULL, updated_at = $5, \
                 chunk_key = CASE WHEN $4 = 'ready' THEN NULL ELSE chunk_key END, \
                 upload_hash = CASE WHEN $4 = 'ready' THEN NULL ELSE upload_hash END \
                 WHERE id = $6 AND received = $7 AND parts = $8 AND phase <> 'ready' AND deleted_at IS NULL",
                crate::args![
                    part.received,
                    json(&part.parts),
                    part.total,
                    part.phase.as_str(),
                    at,
                    id.to_string(),
                    part.expected_received,
                    json(&part.expected_parts)
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn set_video_phase(
        &self,
        id: Uuid,
        phase: VideoPhase,
        error: Option<&str>,
        at: i64,
    ) -> StoreResult<()> {
        self.db
            .execute(
                "UPDATE videos SET phase = $1, error = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL",
                crate::args![phase.as_str(), error.map(str::to_string), at, id.to_string()],
            )
            .await?;
        Ok(())
    }

    async fn take_upload_url(&self, hash: &str, now: i64) -> StoreResult<Option<Video>> {
        // A write: in a transaction, so SQLite's one writer makes it.
        let mut tx = self.db.begin().await?;
        let found = tx
            .fetch_optional::<Row>(
                &format!(
                    "UPDATE videos SET upload_hash = NULL, upload_expires_at = NULL, phase = 'uploading', updated_at = $1 \
                     WHERE upload_hash = $2 AND upload_expires_at > $1 AND phase = 'waiting' AND deleted_at IS NULL RETURNING {COLUMNS}"
                ),
                crate::args![now, hash.to_string()],
            )
            .await?;
        tx.commit().await?;
        found.map(Row::into_domain).transpose()
    }

    async fn start_resumable_upload(
        &self,
        hash: &str,
        total: i64,
        now: i64,
    ) -> StoreResult<Option<Video>> {
        let mut tx = self.db.begin().await?;
        let found = tx
            .fetch_optional::<Row>(
                &format!(
                    "UPDATE videos SET phase = 'uploading', total = $3, updated_at = $1 \
                     WHERE upload_hash = $2 AND upload_expires_at > $1 AND phase = 'waiting' AND deleted_at IS NULL RETURNING {COLUMNS}"
                ),
                crate::args![now, hash.to_string(), total],
            )
            .await?;
        tx.commit().await?;
        found.map(Row::into_domain).transpose()
    }

    async fn video_by_upload_url(&self, hash: &str, now: i64) -> StoreResult<Option<Video>> {
        self.db
            .fetch_optional::<Row>(
                &format!(
                    "SELECT {COLUMNS} FROM videos WHERE upload_hash = $1 AND upload_expires_at > $2 AND phase IN ('waiting', 'uploading') AND deleted_at IS NULL"
                ),
                crate::args![hash.to_string(), now],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn delete_video(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool> {
        let n = self
            .db
            .execute(
                "UPDATE videos SET deleted_at = $1, upload_hash = NULL WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                crate::args![at, id.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn touch_import(&self, id: Uuid, at: i64) -> StoreResult<()> {
        self.db
            .execute(
                "UPDATE videos SET updated_at = $1 WHERE id = $2 AND phase = 'uploading' AND deleted_at IS NULL",
                crate::args![at, id.to_string()],
            )
            .await?;
        Ok(())
    }

    async fn fail_stalled_imports(&self, before: i64, at: i64) -> StoreResult<u64> {
        self.db
            .execute(
                "UPDATE videos SET phase = 'failed', error = 'the import was interrupted (the server stopped); import it again', updated_at = $1 \
                 WHERE source_url IS NOT NULL AND phase IN ('waiting', 'uploading') AND updated_at < $2 AND deleted_at IS NULL",
                crate::args![at, before],
            )
            .await
    }
}
