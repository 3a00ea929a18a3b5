//! Live streams, sessions and multistream targets of the caller's (account, environment).
//! Stream keys and target URLs are sealed by the vault before they reach the store.

use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::Services;
use crypto::{sha256, Aad, SecretString};
use domain::stream::CachedStream;
use domain::stream::{
    generate_playback_id, generate_stream_key, validate_object_name, validate_restreams,
    validate_target_url, MAX_SETTINGS_BYTES,
};
use domain::After;
use domain::{Action, Permission, Resource};
use domain::{Actor, Error, MultistreamTarget, Restream, Session, Stream};
use store::streams::{STREAM_RESUMED, STREAM_SUSPENDED};
use store::{Scope, StreamRecord, TargetRecord};

#[derive(Debug, Clone, Default)]
pub struct NewStream {
    pub name: String,
    pub record: bool,
    pub restreams: Vec<Restream>,
    /// Round-tripped settings (`profiles`, `multistream`, `userTags`, …), already shape-checked
    /// by the dialect.
    pub settings: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct StreamPatch {
    pub name: Option<String>,
    pub record: Option<bool>,
    pub suspended: Option<bool>,
    pub restreams: Option<Vec<Restream>>,
    /// Settings to replace; a `null` value removes the setting.
    pub settings: Map<String, Value>,
    /// One multistream target added to or removed from the stream's, on the stream as it is
    /// when the change is written (Livepeer's add/remove operations).
    pub target: Option<TargetEdit>,
}

/// A change to a stream's multistream targets.
#[derive(Debug, Clone)]
pub enum TargetEdit {
    /// `{profile, videoOnly?, id | spec: {name?, url}}`: a `spec` makes a new target.
    Add(Map<String, Value>),
    /// Every use of this target by the stream; none is `NotFound`.
    Remove(Uuid),
}

/// At most this many multistream targets per stream.
pub const MAX_STREAM_TARGETS: usize = 20;

/// Applies `edit` to a stream's settings.
fn edit_targets(settings: &mut Map<String, Value>, edit: &TargetEdit) -> Result<(), Error> {
    let ms = settings
        .entry("multistream")
        .or_insert_with(|| serde_json::json!({"targets": []}));
    let Value::Object(ms) = ms else {
        return Err(Error::Invalid("multistream must be an object".into()));
    };
    let targets = ms.entry("targets").or_insert_with(|| Value::Array(vec![]));
    let Value::Array(targets) = targets else {
        return Err(Error::Invalid(
            "multistream.targets must be an array".into(),
        ));
    };
    match edit {
        TargetEdit::Add(t) => {
            if targets.len() >= MAX_STREAM_TARGETS {
                return Err(Error::Invalid(format!(
                    "at most {MAX_STREAM_TARGETS} multistream targets per stream"
                )));
            }
            targets.push(Value::Object(t.clone()));
        }
        TargetEdit::Remove(id) => {
            let id = id.to_string();
            let before = targets.len();
            targets.retain(|t| t.get("id").and_then(Value::as_str) != Some(id.as_str()));
            if targets.len() == before {
                return Err(Error::NotFound("multistream target"));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct TargetPatch {
    pub name: Option<String>,
    pub url: Option<SecretString>,
    pub disabled: Option<bool>,
}

/// One page of a keyset-paged list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<After>,
}

pub const MAX_PAGE: i64 = 1000;

fn key_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "streams",
        id,
        field: "stream_key",
    }
}

/// Where sealed restreams live inside a stream's settings.
const RESTREAMS: &str = "restreams";

fn restream_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "streams",
        id,
        field: "restream_key",
    }
}

/// Is `s` one of the caller's live streams?
pub(crate) fn in_scope(actor: &Actor, s: &Stream) -> bool {
    s.account_id == actor.account_id()
        && s.environment == actor.environment()
        && s.deleted_at.is_none()
}

fn url_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "multistream_targets",
        id,
        field: "url",
    }
}

impl Services {
    pub(crate) fn open_stream(&self, r: StreamRecord) -> Result<Stream, Error> {
        let id = r.id.to_string();
        let stream_key = self
            .vault
            .open(&key_aad(&id), &r.key_sealed)
            .map_err(|e| Error::Internal(format!("stream {id}: {e}")))?;
        let mut settings = match serde_json::from_str(&r.settings) {
            Ok(Value::Object(m)) => m,
            _ => return Err(Error::Internal(format!("stream {id}: corrupt settings"))),
        };
        let mut restreams = Vec::new();
        if let Some(Value::Array(list)) = settings.remove(RESTREAMS) {
            for x in list {
                let field = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let stream_key = self
                    .vault
                    .open(&restream_aad(&id), &field("streamKeySealed"))
                    .map_err(|e| Error::Internal(format!("stream {id} restream: {e}")))?;
                restreams.push(Restream {
                    name: field("name"),
                    server_url: field("serverUrl"),
                    stream_key,
                });
            }
        }
        Ok(Stream {
            id: r.id,
            account_id: r.account_id,
            environment: r.environment,
            name: r.name,
            stream_key,
            playback_id: r.playback_id,
            record: r.record,
            suspended: r.suspended,
            is_active: r.is_active,
            settings,
            restreams,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_seen_at: r.last_seen_at,
            deleted_at: r.deleted_at,
        })
    }

    fn seal_stream(&self, s: &Stream) -> Result<StreamRecord, Error> {
        let mut settings = s.settings.clone();
        if !s.restreams.is_empty() {
            let id = s.id.to_string();
            let sealed: Vec<Value> = s
                .restreams
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name,
                        "serverUrl": r.server_url,
                        "streamKeySealed": self.vault.seal(&restream_aad(&id), r.stream_key.expose()),
                    })
                })
                .collect();
            settings.insert(RESTREAMS.into(), Value::Array(sealed));
        }
        let settings = Value::Object(settings).to_string();
        if settings.len() > MAX_SETTINGS_BYTES {
            return Err(Error::Invalid(format!(
                "stream settings must be at most {MAX_SETTINGS_BYTES} bytes of JSON"
            )));
        }
        Ok(StreamRecord {
            id: s.id,
            account_id: s.account_id,
            environment: s.environment,
            name: s.name.clone(),
            key_hash: sha256(s.stream_key.expose().as_bytes()).to_vec(),
            key_sealed: self
                .vault
                .seal(&key_aad(&s.id.to_string()), s.stream_key.expose()),
            playback_id: s.playback_id.clone(),
            record: s.record,
            suspended: s.suspended,
            is_active: s.is_active,
            settings,
            created_by: s.created_by.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            last_seen_at: s.last_seen_at,
            deleted_at: s.deleted_at,
        })
    }

    /// Multistream references must name targets of the caller's scope; an inline `spec`
    /// (`{name, url}`) creates the target and is replaced by its id.
    async fn resolve_multistream(
        &self,
        actor: &Actor,
        settings: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        let Some(Value::Object(ms)) = settings.get_mut("multistream") else {
            return Ok(());
        };
        let Some(Value::Array(targets)) = ms.get_mut("targets") else {
            return Ok(());
        };
        for t in targets.iter_mut() {
            let Value::Object(t) = t else {
                return Err(Error::Invalid("multistream.targets must be objects".into()));
            };
            if let Some(Value::Object(spec)) = t.remove("spec") {
                let name = spec.get("name").and_then(Value::as_str).unwrap_or("target");
                let url = spec.get("url").and_then(Value::as_str).ok_or_else(|| {
                    Error::Invalid("multistream.targets[].spec.url is required".into())
                })?;
                let created = self
                    .create_target(actor, name, SecretString::new(url.to_string()), false)
                    .await?;
                t.insert("id".into(), Value::String(created.id.to_string()));
            }
            let id = t
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| {
                    Error::Invalid("multistream.targets[] needs an id or a spec".into())
                })?;
            if self.store.target(Scope::of(actor), id).await?.is_none() {
                return Err(Error::Invalid(format!(
                    "multistream target {id} does not exist"
                )));
            }
            if !t.get("profile").is_some_and(Value::is_string) {
                return Err(Error::Invalid(
                    "multistream.targets[].profile is required (e.g. \"source\")".into(),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_stream(&self, actor: &Actor, req: NewStream) -> Result<Stream, Error> {
        actor.require(Permission(Resource::Streams, Action::Create))?;
        let name = validate_object_name("stream", &req.name)?;
        validate_restreams(&req.restreams)?;
        let mut settings = req.settings;
        settings.remove(RESTREAMS);
        self.resolve_multistream(actor, &mut settings).await?;
        self.validate_playback_settings(Scope::of(actor), &mut settings)
            .await?;
        let now = self.now_ms();
        let stream = Stream {
            id: Uuid::now_v7(),
            account_id: actor.account_id(),
            environment: actor.environment(),
            name,
            stream_key: generate_stream_key(),
            playback_id: generate_playback_id(),
            record: req.record,
            suspended: false,
            is_active: false,
            settings,
            restreams: req.restreams,
            created_by: Some(actor.key.name.clone()),
            created_at: now,
            updated_at: now,
            last_seen_at: None,
            deleted_at: None,
        };
        self.store
            .insert_stream(&self.seal_stream(&stream)?)
            .await?;
        self.apply_changes().await;
        tracing::info!(stream_id = %stream.id, account_id = %stream.account_id, "stream created");
        self.audit_by(actor, "stream.create", format!("stream:{}", stream.id))
            .await;
        Ok(stream)
    }

    pub async fn get_stream(&self, actor: &Actor, id: Uuid) -> Result<Stream, Error> {
        Ok(self.read_stream(actor, id).await?.stream.clone())
    }

    /// The caller's stream as the read path serves it: one shared copy per version of the
    /// stream, with the bodies rendered from it, from the object cache (no store round trip
    /// while it holds the stream; see `verifier/objects.rs`).
    pub async fn read_stream(&self, actor: &Actor, id: Uuid) -> Result<Arc<CachedStream>, Error> {
        actor.require(Permission(Resource::Streams, Action::Read))?;
        self.verifier
            .stream_object(id, |r| self.open_stream(r))
            .await?
            .filter(|s| in_scope(actor, &s.stream))
            .ok_or(Error::NotFound("stream"))
    }

    /// A live stream of any scope by its public playback id (what viewers and media servers
    /// name), through the object cache.
    pub async fn stream_by_playback_id(
        &self,
        playback_id: &str,
    ) -> Result<Option<Arc<CachedStream>>, Error> {
        Ok(self
            .verifier
            .stream_by_playback_id(playback_id, |r| self.open_stream(r))
            .await?
            .filter(|s| s.stream.deleted_at.is_none()))
    }

    /// A stream of the caller's account and environment by its playback id (Livepeer's
    /// playback info): what a viewer would be asked for, never its key.
    pub async fn playback_stream(
        &self,
        actor: &Actor,
        playback_id: &str,
    ) -> Result<Arc<CachedStream>, Error> {
        actor.require(Permission(Resource::Streams, Action::Read))?;
        self.stream_by_playback_id(playback_id)
            .await?
            .filter(|s| in_scope(actor, &s.stream))
            .ok_or(Error::NotFound("playback id"))
    }

    /// Changes only what the patch names, on the stream as it is when the change is written
    /// (under its row's lock), so two concurrent patches (a suspension and a rename, say) both
    /// hold.
    pub async fn update_stream(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: StreamPatch,
    ) -> Result<Stream, Error> {
        actor.require(Permission(Resource::Streams, Action::Update))?;
        // Not found before any inline multistream target is made for it.
        self.get_stream(actor, id).await?;
        let name = patch
            .name
            .as_deref()
            .map(|n| validate_object_name("stream", n))
            .transpose()?;
        if let Some(r) = &patch.restreams {
            validate_restreams(r)?;
        }
        let mut settings = patch.settings;
        settings.remove(RESTREAMS);
        self.resolve_multistream(actor, &mut settings).await?;
        self.validate_playback_settings(Scope::of(actor), &mut settings)
            .await?;
        // A target to add is checked (and a `spec` made into a target) like the targets of a
        // whole `multistream`.
        let target = match patch.target {
            Some(TargetEdit::Add(t)) => {
                let mut one = Map::new();
                one.insert(
                    "multistream".into(),
                    serde_json::json!({ "targets": [Value::Object(t)] }),
                );
                self.resolve_multistream(actor, &mut one).await?;
                let resolved = one
                    .get("multistream")
                    .and_then(|m| m.get("targets"))
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| Error::Invalid("a multistream target is required".into()))?;
                Some(TargetEdit::Add(resolved))
            }
            other => other,
        };
        let now = self.now_ms();
        let edit = |rec: StreamRecord| {
            let mut s = self.open_stream(rec)?;
            if let Some(name) = &name {
                s.name = name.clone();
            }
            if let Some(record) = patch.record {
                s.record = record;
            }
            let change = match patch.suspended {
                Some(true) if !s.suspended => Some(STREAM_SUSPENDED),
                Some(false) if s.suspended => Some(STREAM_RESUMED),
                _ => None,
            };
            if let Some(suspended) = patch.suspended {
                s.suspended = suspended;
            }
            if let Some(r) = &patch.restreams {
                s.restreams = r.clone();
            }
            for (k, v) in &settings {
                if v.is_null() {
                    s.settings.remove(k);
                } else {
                    s.settings.insert(k.clone(), v.clone());
                }
            }
            if let Some(t) = &target {
                edit_targets(&mut s.settings, t)?;
            }
            s.updated_at = now;
            Ok((self.seal_stream(&s)?, change))
        };
        let written = self
            .store
            .update_stream(Scope::of(actor), id, &edit)
            .await?
            .ok_or(Error::NotFound("stream"))?;
        // Every update is logged: this instance's caches drop the stream before the answer.
        self.apply_changes().await;
        self.audit_by(actor, "stream.update", format!("stream:{id}"))
            .await;
        self.open_stream(written)
    }

    /// Inserts `count` generated streams (named `seed-{first}`…) into (`account_id`,
    /// `environment`) in one transaction, without change-log entries: seeding for benchmarks
    /// (`streamgate dev seed-streams`). The operator only.
    pub async fn seed_streams(
        &self,
        actor: &Actor,
        account_id: Uuid,
        environment: domain::Environment,
        first: usize,
        count: usize,
    ) -> Result<(), Error> {
        crate::accounts::require_operator(actor)?;
        let now = self.now_ms();
        let records = (0..count)
            .map(|i| {
                self.seal_stream(&Stream {
                    id: Uuid::now_v7(),
                    account_id,
                    environment,
                    name: format!("seed-{}", first + i),
                    stream_key: generate_stream_key(),
                    playback_id: generate_playback_id(),
                    record: false,
                    suspended: false,
                    is_active: false,
                    settings: Map::new(),
                    restreams: vec![],
                    created_by: Some("seed".into()),
                    created_at: now,
                    updated_at: now,
                    last_seen_at: None,
                    deleted_at: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.store.insert_streams_bulk(&records).await?)
    }

    /// Soft delete: the stream disappears from the API and its key stops working.
    pub async fn delete_stream(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Streams, Action::Delete))?;
        if !self
            .store
            .delete_stream(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("stream"));
        }
        self.apply_changes().await;
        tracing::info!(stream_id = %id, "stream deleted");
        self.audit_by(actor, "stream.delete", format!("stream:{id}"))
            .await;
        // Its uploaded thumbnail, if any, goes too (nothing serves it any more).
        if let Err(e) = self
            .objects
            .delete(&domain::stream::thumbnail_key(id))
            .await
        {
            tracing::warn!(error = %e, stream_id = %id, "could not delete a deleted stream's thumbnail");
        }
        Ok(())
    }

    /// A stream's latest sessions, newest first; only those recorded (or not) when `record`
    /// says.
    pub async fn list_sessions(
        &self,
        actor: &Actor,
        stream_id: Uuid,
        record: Option<bool>,
    ) -> Result<Vec<Session>, Error> {
        actor.require(Permission(Resource::Sessions, Action::Read))?;
        // The stream must be the caller's (and not deleted) for its sessions to be visible.
        self.get_stream(actor, stream_id).await?;
        Ok(self
            .store
            .list_sessions(Scope::of(actor), stream_id, record)
            .await?)
    }

    /// A page of the caller's sessions across its streams, newest first, after `before` (the
    /// last session of the previous page); with the cursor of the next page when there is one.
    pub async fn sessions_page(
        &self,
        actor: &Actor,
        before: Option<After>,
        limit: i64,
    ) -> Result<(Vec<Session>, Option<After>), Error> {
        actor.require(Permission(Resource::Sessions, Action::List))?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut rows = self
            .store
            .sessions_page(Scope::of(actor), before.as_ref(), limit + 1)
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more
            .then(|| {
                rows.last().map(|s| After {
                    created_at: s.started_at,
                    id: s.id,
                })
            })
            .flatten();
        Ok((rows, next))
    }

    /// The caller's latest sessions across its streams that were still open at `since` (ms) or
    /// started after it, newest first.
    pub async fn recent_sessions(
        &self,
        actor: &Actor,
        since: i64,
        limit: i64,
    ) -> Result<Vec<Session>, Error> {
        actor.require(Permission(Resource::Sessions, Action::List))?;
        Ok(self
            .store
            .recent_sessions(Scope::of(actor), since, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    pub async fn get_session(&self, actor: &Actor, id: Uuid) -> Result<Session, Error> {
        actor.require(Permission(Resource::Sessions, Action::Read))?;
        self.store
            .session(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("session"))
    }

    /// Opens a publish session (called by the ingest hooks).
    pub async fn open_session(
        &self,
        stream: &Stream,
        ingest: &str,
        client_addr: Option<String>,
    ) -> Result<Session, Error> {
        let session = Session {
            id: Uuid::now_v7(),
            stream_id: stream.id,
            account_id: stream.account_id,
            environment: stream.environment,
            ingest: ingest.to_string(),
            client_addr,
            started_at: self.now_ms(),
            ended_at: None,
            record: stream.record,
        };
        self.store.insert_session(&session).await?;
        Ok(session)
    }

    fn open_target(&self, r: TargetRecord) -> Result<MultistreamTarget, Error> {
        let id = r.id.to_string();
        let url = self
            .vault
            .open(&url_aad(&id), &r.url_sealed)
            .map_err(|e| Error::Internal(format!("multistream target {id}: {e}")))?;
        Ok(MultistreamTarget {
            id: r.id,
            account_id: r.account_id,
            environment: r.environment,
            name: r.name,
            url,
            disabled: r.disabled,
            created_at: r.created_at,
        })
    }

    fn seal_target(&self, t: &MultistreamTarget) -> TargetRecord {
        TargetRecord {
            id: t.id,
            account_id: t.account_id,
            environment: t.environment,
            name: t.name.clone(),
            url_sealed: self.vault.seal(&url_aad(&t.id.to_string()), t.url.expose()),
            disabled: t.disabled,
            created_at: t.created_at,
        }
    }

    pub async fn create_target(
        &self,
        actor: &Actor,
        name: &str,
        url: SecretString,
        disabled: bool,
    ) -> Result<MultistreamTarget, Error> {
        actor.require(Permission(Resource::Multistream, Action::Create))?;
        let t = MultistreamTarget {
            id: Uuid::now_v7(),
            account_id: actor.account_id(),
            environment: actor.environment(),
            name: validate_object_name("multistream target", name)?,
            url: SecretString::new(validate_target_url(url.expose())?),
            disabled,
            created_at: self.now_ms(),
        };
        self.store.insert_target(&self.seal_target(&t)).await?;
        self.audit_by(
            actor,
            "multistream_target.create",
            format!("multistream_target:{}", t.id),
        )
        .await;
        Ok(t)
    }

    pub async fn get_target(&self, actor: &Actor, id: Uuid) -> Result<MultistreamTarget, Error> {
        actor.require(Permission(Resource::Multistream, Action::Read))?;
        let r = self
            .store
            .target(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("multistream target"))?;
        self.open_target(r)
    }

    pub async fn list_targets(&self, actor: &Actor) -> Result<Vec<MultistreamTarget>, Error> {
        actor.require(Permission(Resource::Multistream, Action::List))?;
        self.store
            .list_targets(Scope::of(actor))
            .await?
            .into_iter()
            .map(|r| self.open_target(r))
            .collect()
    }

    /// Changes only what the patch names, on the target as it is (under its row's lock).
    pub async fn update_target(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: TargetPatch,
    ) -> Result<MultistreamTarget, Error> {
        actor.require(Permission(Resource::Multistream, Action::Update))?;
        let name = patch
            .name
            .as_deref()
            .map(|n| validate_object_name("multistream target", n))
            .transpose()?;
        let url = patch
            .url
            .as_ref()
            .map(|u| validate_target_url(u.expose()).map(SecretString::new))
            .transpose()?;
        let edit = |rec: TargetRecord| {
            let mut t = self.open_target(rec)?;
            if let Some(name) = &name {
                t.name = name.clone();
            }
            if let Some(url) = &url {
                t.url = url.clone();
            }
            if let Some(disabled) = patch.disabled {
                t.disabled = disabled;
            }
            Ok(self.seal_target(&t))
        };
        let written = self
            .store
            .update_target(Scope::of(actor), id, &edit)
            .await?
            .ok_or(Error::NotFound("multistream target"))?;
        self.audit_by(
            actor,
            "multistream_target.update",
            format!("multistream_target:{id}"),
        )
        .await;
        self.open_target(written)
    }

    pub async fn delete_target(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Multistream, Action::Delete))?;
        if !self
            .store
            .delete_target(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("multistream target"));
        }
        self.audit_by(
            actor,
            "multistream_target.delete",
            format!("multistream_target:{id}"),
        )
        .await;
        Ok(())
    }
}
