//! What the store keeps of streams, sessions and multistream targets. Secrets arrive here already
//! sealed by the vault (the store never sees a stream key or a target URL in clear).

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::{After, Environment, Session};

/// The (account, environment) world every lookup is confined to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub account_id: Uuid,
    pub environment: Environment,
}

#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub key_sealed: String,
    pub playback_id: String,
    pub record: bool,
    pub suspended: bool,
    pub is_active: bool,
    /// JSON object text.
    pub settings: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub name: String,
    pub url_sealed: String,
    pub disabled: bool,
    pub created_at: i64,
}

impl Scope {
    /// The world a caller's key lives in.
    pub fn of(actor: &domain::Actor) -> Self {
        Self {
            account_id: actor.account_id(),
            environment: actor.environment(),
        }
    }
}

/// Change-log kinds for streams, recorded with the stream key's hash: the ingest hooks' stream
/// cache drops that key on these. `insert_stream` records `STREAM_CREATED` itself.
pub const STREAM_CREATED: &str = "stream.created";
pub const STREAM_SUSPENDED: &str = "stream.suspended";
pub const STREAM_RESUMED: &str = "stream.resumed";
pub const STREAM_DELETED: &str = "stream.deleted";

use crate::rows::uuid;

fn env(s: &str) -> StoreResult<Environment> {
    Environment::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub const STREAM_COLUMNS: &str = "id, account_id, environment, name, key_hash, key_sealed, playback_id, record, suspended, is_active, settings, created_by, created_at, updated_at, last_seen_at, deleted_at";

#[derive(sqlx::FromRow)]
pub struct StreamRow {
    id: String,
    account_id: String,
    environment: String,
    name: String,
    key_hash: Vec<u8>,
    key_sealed: String,
    playback_id: String,
    record: bool,
    suspended: bool,
    is_active: bool,
    settings: String,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
    last_seen_at: Option<i64>,
    deleted_at: Option<i64>,
}

impl StreamRow {
    pub fn into_record(self) -> StoreResult<StreamRecord> {
        Ok(StreamRecord {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            environment: env(&self.environment)?,
            name: self.name,
            key_hash: self.key_hash,
            key_sealed: self.key_sealed,
            playback_id: self.playback_id,
            record: self.record,
            suspended: self.suspended,
            is_active: self.is_active,
            settings: self.settings,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_seen_at: self.last_seen_at,
            deleted_at: self.deleted_at,
        })
    }
}

pub const SESSION_COLUMNS: &str =
    "id, stream_id, account_id, environment, ingest, client_addr, started_at, ended_at";

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    id: String,
    stream_id: String,
    account_id: String,
    environment: String,
    ingest: String,
    client_addr: Option<String>,
    started_at: i64,
    ended_at: Option<i64>,
}

impl SessionRow {
    pub fn into_domain(self) -> StoreResult<Session> {
        Ok(Session {
            id: uuid(&self.id)?,
            stream_id: uuid(&self.stream_id)?,
            account_id: uuid(&self.account_id)?,
            environment: env(&self.environment)?,
            ingest: self.ingest,
            client_addr: self.client_addr,
            started_at: self.started_at,
            ended_at: self.ended_at,
        })
    }
}

pub const TARGET_COLUMNS: &str =
    "id, account_id, environment, name, url_sealed, disabled, created_at";

#[derive(sqlx::FromRow)]
pub struct TargetRow {
    id: String,
    account_id: String,
    environment: String,
    name: String,
    url_sealed: String,
    disabled: bool,
    created_at: i64,
}

impl TargetRow {
    pub fn into_record(self) -> StoreResult<TargetRecord> {
        Ok(TargetRecord {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            environment: env(&self.environment)?,
            name: self.name,
            url_sealed: self.url_sealed,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

#[async_trait]
pub trait StreamStore: Send + Sync {
    /// Inserts the stream and records a `STREAM_CREATED` change in one transaction.
    async fn insert_stream(&self, s: &StreamRecord) -> StoreResult<()>;
    /// A stream of the scope that is not deleted.
    async fn stream(&self, scope: Scope, id: Uuid) -> StoreResult<Option<StreamRecord>>;
    /// Any stream, deleted or not, by the SHA-256 of its key (the ingest hooks' lookup).
    async fn stream_by_key_hash(&self, key_hash: &[u8]) -> StoreResult<Option<StreamRecord>>;
    /// A live stream (not deleted) by its public playback id.
    async fn stream_by_playback_id(&self, playback_id: &str) -> StoreResult<Option<StreamRecord>>;
    /// Oldest first, after `after`, at most `limit`.
    async fn list_streams(
        &self,
        scope: Scope,
        after: Option<&After>,
        limit: i64,
    ) -> StoreResult<Vec<StreamRecord>>;
    /// Page-numbered listing with optional exact filters; also returns the total matching.
    async fn search_streams(
        &self,
        scope: Scope,
        name: Option<&str>,
        key_hash: Option<&[u8]>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<StreamRecord>, i64)>;
    /// Writes the mutable fields of a live (not deleted) stream; records `change` (with the key
    /// hash) in the same transaction when given. False when there was no such stream.
    async fn update_stream(&self, s: &StreamRecord, change: Option<&str>) -> StoreResult<bool>;
    async fn insert_target(&self, t: &TargetRecord) -> StoreResult<()>;
    async fn target(&self, scope: Scope, id: Uuid) -> StoreResult<Option<TargetRecord>>;
    async fn list_targets(&self, scope: Scope) -> StoreResult<Vec<TargetRecord>>;
    async fn update_target(&self, t: &TargetRecord) -> StoreResult<bool>;
    async fn delete_target(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
}

#[async_trait]
impl StreamStore for SqlStore {
    async fn insert_stream(&self, s: &crate::streams::StreamRecord) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(&format!(
            "INSERT INTO streams ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            crate::streams::STREAM_COLUMNS
        ), crate::args![s.id.to_string(), s.account_id.to_string(), s.environment.as_str(), &s.name, &s.key_hash, &s.key_sealed, &s.playback_id, s.record, s.suspended, s.is_active, &s.settings, &s.created_by, s.created_at, s.updated_at, s.last_seen_at, s.deleted_at]).await
        .map_err(|e| crate::map_unique(e, "stream"))?;
        tx.record_change(
            crate::streams::STREAM_CREATED,
            &s.id.to_string(),
            Some(&s.key_hash),
            s.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stream(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db.fetch_optional::<crate::streams::StreamRow>(&format!(
            "SELECT {} FROM streams WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            crate::streams::STREAM_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn stream_by_key_hash(
        &self,
        key_hash: &[u8],
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db
            .fetch_optional::<crate::streams::StreamRow>(
                &format!(
                    "SELECT {} FROM streams WHERE key_hash = $1",
                    crate::streams::STREAM_COLUMNS
                ),
                crate::args![key_hash],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn stream_by_playback_id(
        &self,
        playback_id: &str,
    ) -> crate::StoreResult<Option<crate::streams::StreamRecord>> {
        self.db
            .fetch_optional::<crate::streams::StreamRow>(
                &format!(
                    "SELECT {} FROM streams WHERE playback_id = $1 AND deleted_at IS NULL",
                    crate::streams::STREAM_COLUMNS
                ),
                crate::args![playback_id],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn list_streams(
        &self,
        scope: crate::streams::Scope,
        after: Option<&domain::After>,
        limit: i64,
    ) -> crate::StoreResult<Vec<crate::streams::StreamRecord>> {
        let (at, id) = after.map_or((i64::MIN, String::new()), |a| {
            (a.created_at, a.id.to_string())
        });
        self.db.fetch_all::<crate::streams::StreamRow>(&format!(
            "SELECT {} FROM streams WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             AND (created_at > $3 OR (created_at = $3 AND id > $4)) ORDER BY created_at, id LIMIT $5",
            crate::streams::STREAM_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str(), at, id, limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn search_streams(
        &self,
        scope: crate::streams::Scope,
        name: Option<&str>,
        key_hash: Option<&[u8]>,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<crate::streams::StreamRecord>, i64)> {
        const WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
            AND ($3 IS NULL OR name = $3) AND ($4 IS NULL OR key_hash = $4)";
        let (total,): (i64,) = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) FROM streams WHERE {WHERE}"),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    name,
                    key_hash
                ],
            )
            .await?;
        let rows = self
            .db
            .fetch_all::<crate::streams::StreamRow>(
                &format!(
            "SELECT {} FROM streams WHERE {WHERE} ORDER BY created_at, id LIMIT $5 OFFSET $6",
            crate::streams::STREAM_COLUMNS
        ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    name,
                    key_hash,
                    limit,
                    offset
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn update_stream(
        &self,
        s: &crate::streams::StreamRecord,
        change: Option<&str>,
    ) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let updated = tx.execute("UPDATE streams SET name = $1, record = $2, suspended = $3, is_active = $4, settings = $5, \
             updated_at = $6, last_seen_at = $7, deleted_at = $8 WHERE id = $9 AND deleted_at IS NULL", crate::args![&s.name, s.record, s.suspended, s.is_active, &s.settings, s.updated_at, s.last_seen_at, s.deleted_at, s.id.to_string()]).await?;
        if updated == 1 {
            if let Some(kind) = change {
                tx.record_change(kind, &s.id.to_string(), Some(&s.key_hash), s.updated_at)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(updated == 1)
    }

    async fn insert_target(&self, t: &crate::streams::TargetRecord) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO multistream_targets ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    crate::streams::TARGET_COLUMNS
                ),
                crate::args![
                    t.id.to_string(),
                    t.account_id.to_string(),
                    t.environment.as_str(),
                    &t.name,
                    &t.url_sealed,
                    t.disabled,
                    t.created_at
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "multistream target"))?;
        Ok(())
    }

    async fn target(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<crate::streams::TargetRecord>> {
        self.db.fetch_optional::<crate::streams::TargetRow>(&format!(
            "SELECT {} FROM multistream_targets WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL",
            crate::streams::TARGET_COLUMNS
        ), crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn list_targets(
        &self,
        scope: crate::streams::Scope,
    ) -> crate::StoreResult<Vec<crate::streams::TargetRecord>> {
        self.db.fetch_all::<crate::streams::TargetRow>(&format!(
            "SELECT {} FROM multistream_targets WHERE account_id = $1 AND environment = $2 AND deleted_at IS NULL \
             ORDER BY created_at, id LIMIT 1000",
            crate::streams::TARGET_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str()]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn update_target(&self, t: &crate::streams::TargetRecord) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE multistream_targets SET name = $1, url_sealed = $2, disabled = $3 \
             WHERE id = $4 AND account_id = $5 AND environment = $6 AND deleted_at IS NULL",
                crate::args![
                    &t.name,
                    &t.url_sealed,
                    t.disabled,
                    t.id.to_string(),
                    t.account_id.to_string(),
                    t.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_target(
        &self,
        scope: crate::streams::Scope,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE multistream_targets SET deleted_at = $1 \
             WHERE id = $2 AND account_id = $3 AND environment = $4 AND deleted_at IS NULL",
                crate::args![
                    at,
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }
}
