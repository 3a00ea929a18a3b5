//! What the store keeps of streams, sessions and multistream targets. Secrets arrive here already
//! sealed by the vault (the store never sees a stream key or a target URL in clear).

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::stream::StreamOrder;
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

/// Change-log kinds for streams, recorded with the stream's id and its key's hash: every cache of
/// a stream (by id, by playback id, by key, list pages) drops it on these. Every write to a
/// stream records one in its own transaction: `insert_stream` `STREAM_CREATED`, `update_stream`
/// the kind its edit names (else `STREAM_UPDATED`), `delete_stream` `STREAM_DELETED`, and a
/// publish starting or ending `STREAM_ACTIVITY`.
pub const STREAM_CREATED: &str = "stream.created";
pub const STREAM_SUSPENDED: &str = "stream.suspended";
pub const STREAM_RESUMED: &str = "stream.resumed";
pub const STREAM_UPDATED: &str = "stream.updated";
pub const STREAM_DELETED: &str = "stream.deleted";
/// A publish started or ended (`is_active`, `last_seen_at`): no list membership changes.
pub const STREAM_ACTIVITY: &str = "stream.activity";

/// Counts the live (not deleted) streams of each scope by `delta`, in the caller's transaction:
/// a list's total is one row's read, not a count over the scope's streams.
pub(crate) async fn count_live(
    tx: &mut crate::db::Tx,
    scope: Scope,
    delta: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO stream_counts (account_id, environment, live) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, environment) DO UPDATE SET live = stream_counts.live + $3",
        crate::args![
            scope.account_id.to_string(),
            scope.environment.as_str(),
            delta
        ],
    )
    .await?;
    Ok(())
}

use crate::rows::uuid;

fn env(s: &str) -> StoreResult<Environment> {
    Environment::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub const STREAM_COLUMNS: &str = "id, account_id, environment, name, key_hash, key_sealed, playback_id, record, suspended, is_active, settings, created_by, created_at, updated_at, last_seen_at, deleted_at";

/// A scope's live streams after a keyset cursor, oldest first (`list_streams`): on the index of
/// the scope's live streams (`streams_live_scope`), never scanning past deleted ones.
pub(crate) fn list_sql() -> String {
    format!(
        "SELECT {STREAM_COLUMNS} FROM streams WHERE account_id = $1 AND environment = $2 \
         AND deleted_at IS NULL AND (created_at > $3 OR (created_at = $3 AND id > $4)) \
         ORDER BY created_at, id LIMIT $5"
    )
}

/// The filters of `search_streams`: the scope's live streams, by exact name and key hash.
const SEARCH_WHERE: &str = "account_id = $1 AND environment = $2 AND deleted_at IS NULL \
    AND ($3 IS NULL OR name = $3) AND ($4 IS NULL OR key_hash = $4)";

/// A page of `search_streams` in `order`: oldest first after a keyset cursor (`$5`, `$6`),
/// skipping `$8` rows; in any other order skipping `$6` rows. Each order walks an index of the
/// scope's live streams (`streams_live_scope`, `…_name`, `…_updated`), forwards or backwards:
/// no sort.
pub(crate) fn search_sql(order: StreamOrder) -> String {
    let by = match order {
        StreamOrder::CreatedAsc => {
            return format!(
                "SELECT {STREAM_COLUMNS} FROM streams WHERE {SEARCH_WHERE} \
                 AND (created_at > $5 OR (created_at = $5 AND id > $6)) \
                 ORDER BY created_at, id LIMIT $7 OFFSET $8"
            )
        }
        StreamOrder::CreatedDesc => "created_at DESC, id DESC",
        StreamOrder::NameAsc => "name, created_at, id",
        StreamOrder::NameDesc => "name DESC, created_at DESC, id DESC",
        StreamOrder::UpdatedAsc => "updated_at, id",
        StreamOrder::UpdatedDesc => "updated_at DESC, id DESC",
    };
    format!(
        "SELECT {STREAM_COLUMNS} FROM streams WHERE {SEARCH_WHERE} \
         ORDER BY {by} LIMIT $5 OFFSET $6"
    )
}

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
    "id, stream_id, account_id, environment, ingest, client_addr, started_at, ended_at, record";

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
    record: bool,
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
            record: self.record,
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

/// What a stream update makes of the stream as it is: the stream to write and the change-log
/// kind to record, or a refusal.
pub type StreamEdit<'a> = dyn Fn(StreamRecord) -> Result<(StreamRecord, Option<&'static str>), domain::Error>
    + Send
    + Sync
    + 'a;

/// What a target update makes of the target as it is.
pub type TargetEdit<'a> =
    dyn Fn(TargetRecord) -> Result<TargetRecord, domain::Error> + Send + Sync + 'a;

#[async_trait]
pub trait StreamStore: Send + Sync {
    /// Inserts the stream and records a `STREAM_CREATED` change in one transaction.
    async fn insert_stream(&self, s: &StreamRecord) -> StoreResult<()>;
    /// Inserts many streams in one transaction without change-log entries: seeding for
    /// benchmarks (`streamgate dev seed-streams`).
    async fn insert_streams_bulk(&self, streams: &[StreamRecord]) -> StoreResult<()>;
    /// A stream of the scope that is not deleted.
    async fn stream(&self, scope: Scope, id: Uuid) -> StoreResult<Option<StreamRecord>>;
    /// Any stream, deleted or not, by id, in any scope: the object cache's load (the service
    /// checks the caller's scope on what it returns).
    async fn stream_by_id(&self, id: Uuid) -> StoreResult<Option<StreamRecord>>;
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
    /// Page-numbered listing with optional exact filters, in `order`: `limit` streams after
    /// skipping `offset` past the keyset cursor `after` (oldest first only: a page's start found
    /// by an earlier page, so the skip is short); also returns the total matching (without
    /// filters, from `stream_counts`, so its cost does not grow with the scope).
    #[allow(clippy::too_many_arguments)]
    async fn search_streams(
        &self,
        scope: Scope,
        name: Option<&str>,
        key_hash: Option<&[u8]>,
        order: StreamOrder,
        after: Option<&After>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<StreamRecord>, i64)>;
    /// Read-modify-write of a live (not deleted) stream of the scope, in one transaction that
    /// locks its row first, so concurrent updates never lose each other's changes: `edit` gets
    /// the stream as it is and returns it changed, with the change to log (recorded with the key
    /// hash in the same transaction), or refuses. Writes name, record, suspended, settings and
    /// updated_at (never what publishing changes). The stream as written; None when there is no
    /// such stream.
    async fn update_stream(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &StreamEdit<'_>,
    ) -> StoreResult<Option<StreamRecord>>;
    /// Soft-deletes a live stream of the scope (it goes idle) and records `STREAM_DELETED` with
    /// its key hash, in one transaction. False when there is no such stream.
    async fn delete_stream(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
    async fn insert_target(&self, t: &TargetRecord) -> StoreResult<()>;
    async fn target(&self, scope: Scope, id: Uuid) -> StoreResult<Option<TargetRecord>>;
    async fn list_targets(&self, scope: Scope) -> StoreResult<Vec<TargetRecord>>;
    /// Read-modify-write of a target of the scope under its row's lock (as `update_stream`);
    /// writes name, url_sealed and disabled. None when there is no such target.
    async fn update_target(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &TargetEdit<'_>,
    ) -> StoreResult<Option<TargetRecord>>;
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
        let scope = Scope {
            account_id: s.account_id,
            environment: s.environment,
        };
        count_live(&mut tx, scope, 1).await?;
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

    async fn insert_streams_bulk(&self, streams: &[StreamRecord]) -> StoreResult<()> {
        const COLS: usize = 16;
        let mut tx = self.db.begin().await?;
        // SQLite binds at most 32766 parameters per statement.
        for chunk in streams.chunks(1000) {
            let mut args = crate::db::Args::default();
            for s in chunk {
                args.push(s.id.to_string())
                    .push(s.account_id.to_string())
                    .push(s.environment.as_str())
                    .push(s.name.clone())
                    .push(s.key_hash.clone())
                    .push(s.key_sealed.clone())
                    .push(s.playback_id.clone())
                    .push(s.record)
                    .push(s.suspended)
                    .push(s.is_active)
                    .push(s.settings.clone())
                    .push(s.created_by.clone())
                    .push(s.created_at)
                    .push(s.updated_at)
                    .push(s.last_seen_at)
                    .push(s.deleted_at);
            }
            tx.execute(
                &format!(
                    "INSERT INTO streams ({STREAM_COLUMNS}) {}",
                    crate::db::values(chunk.len(), COLS)
                ),
                args,
            )
            .await
            .map_err(|e| crate::map_unique(e, "stream"))?;
        }
        let mut scopes: std::collections::HashMap<(Uuid, Environment), i64> = Default::default();
        for s in streams.iter().filter(|s| s.deleted_at.is_none()) {
            *scopes.entry((s.account_id, s.environment)).or_default() += 1;
        }
        for ((account_id, environment), n) in scopes {
            let scope = Scope {
                account_id,
                environment,
            };
            count_live(&mut tx, scope, n).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn stream_by_id(&self, id: Uuid) -> StoreResult<Option<StreamRecord>> {
        self.db
            .fetch_optional::<StreamRow>(
                &format!("SELECT {STREAM_COLUMNS} FROM streams WHERE id = $1"),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
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
        self.db
            .fetch_all::<crate::streams::StreamRow>(
                &crate::streams::list_sql(),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    at,
                    id,
                    limit
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }

    async fn search_streams(
        &self,
        scope: crate::streams::Scope,
        name: Option<&str>,
        key_hash: Option<&[u8]>,
        order: StreamOrder,
        after: Option<&After>,
        offset: i64,
        limit: i64,
    ) -> crate::StoreResult<(Vec<crate::streams::StreamRecord>, i64)> {
        const WHERE: &str = SEARCH_WHERE;
        let filters = || {
            crate::args![
                scope.account_id.to_string(),
                scope.environment.as_str(),
                name,
                key_hash
            ]
        };
        let total = if name.is_none() && key_hash.is_none() {
            let row: Option<(i64,)> = self
                .db
                .fetch_optional(
                    "SELECT live FROM stream_counts WHERE account_id = $1 AND environment = $2",
                    crate::args![scope.account_id.to_string(), scope.environment.as_str()],
                )
                .await?;
            row.map_or(0, |(n,)| n)
        } else {
            // Filtered: the name and key-hash indexes bound what is counted.
            let (n,): (i64,) = self
                .db
                .fetch_one(
                    &format!("SELECT COUNT(*) FROM streams WHERE {WHERE}"),
                    filters(),
                )
                .await?;
            n
        };
        let (at, id) = after.map_or((i64::MIN, String::new()), |a| {
            (a.created_at, a.id.to_string())
        });
        let mut args = filters();
        if order == StreamOrder::CreatedAsc {
            args.push(at).push(id);
        }
        args.push(limit).push(offset);
        let rows = self
            .db
            .fetch_all::<StreamRow>(&search_sql(order), args)
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    async fn update_stream(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &StreamEdit<'_>,
    ) -> StoreResult<Option<StreamRecord>> {
        const WHERE: &str =
            "id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL";
        let at = || {
            crate::args![
                id.to_string(),
                scope.account_id.to_string(),
                scope.environment.as_str()
            ]
        };
        let mut tx = self.db.begin().await?;
        let Some(now) = tx
            .lock_one::<StreamRow>("streams", STREAM_COLUMNS, WHERE, at)
            .await?
        else {
            return Ok(None);
        };
        let now = now.into_record()?;
        let (s, change) = edit(now).map_err(StoreError::Refused)?;
        tx.execute(
            &format!(
                "UPDATE streams SET name = $4, record = $5, suspended = $6, settings = $7, \
                 updated_at = $8 WHERE {WHERE}"
            ),
            crate::args![
                id.to_string(),
                scope.account_id.to_string(),
                scope.environment.as_str(),
                &s.name,
                s.record,
                s.suspended,
                &s.settings,
                s.updated_at
            ],
        )
        .await?;
        tx.record_change(
            change.unwrap_or(STREAM_UPDATED),
            &id.to_string(),
            Some(&s.key_hash),
            s.updated_at,
        )
        .await?;
        let select = format!("SELECT {STREAM_COLUMNS} FROM streams WHERE {WHERE}");
        let written = tx
            .fetch_one::<StreamRow>(&select, at())
            .await?
            .into_record()?;
        tx.commit().await?;
        Ok(Some(written))
    }

    async fn delete_stream(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let key_hash: Option<(Vec<u8>,)> = tx
            .fetch_optional(
                "UPDATE streams SET deleted_at = $4, is_active = $5, updated_at = $4 \
                 WHERE id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL \
                 RETURNING key_hash",
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    at,
                    false
                ],
            )
            .await?;
        let Some((key_hash,)) = key_hash else {
            return Ok(false);
        };
        count_live(&mut tx, scope, -1).await?;
        tx.record_change(STREAM_DELETED, &id.to_string(), Some(&key_hash), at)
            .await?;
        tx.commit().await?;
        Ok(true)
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

    async fn update_target(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &TargetEdit<'_>,
    ) -> StoreResult<Option<TargetRecord>> {
        const WHERE: &str =
            "id = $1 AND account_id = $2 AND environment = $3 AND deleted_at IS NULL";
        let at = || {
            crate::args![
                id.to_string(),
                scope.account_id.to_string(),
                scope.environment.as_str()
            ]
        };
        let mut tx = self.db.begin().await?;
        let Some(now) = tx
            .lock_one::<TargetRow>("multistream_targets", TARGET_COLUMNS, WHERE, at)
            .await?
        else {
            return Ok(None);
        };
        let now = now.into_record()?;
        let t = edit(now).map_err(StoreError::Refused)?;
        tx.execute(
            &format!(
                "UPDATE multistream_targets SET name = $4, url_sealed = $5, disabled = $6 \
                 WHERE {WHERE}"
            ),
            crate::args![
                id.to_string(),
                scope.account_id.to_string(),
                scope.environment.as_str(),
                &t.name,
                &t.url_sealed,
                t.disabled
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(t))
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
