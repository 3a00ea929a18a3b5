//! What the store keeps of streams, sessions and multistream targets. Secrets arrive here already
//! sealed by the vault (the store never sees a stream key or a target URL in clear).

use async_trait::async_trait;
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

    async fn insert_session(&self, s: &Session) -> StoreResult<()>;
    async fn session(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Session>>;
    async fn list_sessions(&self, scope: Scope, stream_id: Uuid) -> StoreResult<Vec<Session>>;
    /// The scope's latest sessions across all its streams that were still open at `since` (or
    /// started after it), newest first.
    async fn recent_sessions(
        &self,
        scope: Scope,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<Session>>;

    async fn insert_target(&self, t: &TargetRecord) -> StoreResult<()>;
    async fn target(&self, scope: Scope, id: Uuid) -> StoreResult<Option<TargetRecord>>;
    async fn list_targets(&self, scope: Scope) -> StoreResult<Vec<TargetRecord>>;
    async fn update_target(&self, t: &TargetRecord) -> StoreResult<bool>;
    async fn delete_target(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
}

fn uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

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
