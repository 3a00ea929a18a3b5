//! "May this encoder publish?" — the one decision behind every media server's hook (nginx-rtmp,
//! SRS, MediaMTX). Allowed when the stream name is a live stream's key, or the path matches an
//! Edgecast DirPath and the query carries its key (or the account's global key), or the query
//! carries the user/pass of one of that account's Brightcove `rtmp` credentials. Secrets are
//! compared in constant time.
//!
//! Only a media server that presented a valid ingest token gets here (`IngestCaller`). Every
//! field it reports is held to a cap before it is used (`domain::ingest_token::caps`). Refusals
//! are throttled per (ingest token, reported client address), and audited in aggregate: one row
//! per (token, address, reason) and minute, written by `run_ingest_housekeeping` (see
//! `ingest_refusals`), so a flood of refused hooks cannot turn into a flood of writes.

use std::sync::Arc;

use uuid::Uuid;

pub use super::ingest_throttle::IngestThrottle;
use super::ingest_tokens::IngestCaller;
use super::Services;
use crypto::{sha256, Aad};
use domain::credential::CredentialType;
use domain::edgecast::dir_path_matches;
use domain::ingest_token::{cap, caps};
use domain::AuditEvent;
use domain::{Error, Session};
use store::{GroupWrite, Scope, StreamRecord};

/// What a media server tells us about a publish (or its end).
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The media server that asks (its ingest token).
    pub caller: IngestCaller,
    /// `nginx-rtmp`, `srs`, `mediamtx`.
    pub ingest: &'static str,
    /// The application (nginx-rtmp `app`, SRS `app`, first part of a MediaMTX path).
    pub app: String,
    /// The stream name.
    pub stream: String,
    /// The publish URL's query: `name=value` pairs, and bare tokens (`?KEY`) with no value.
    pub params: Vec<(String, Option<String>)>,
    pub client_addr: Option<String>,
}

impl PublishRequest {
    /// The first value of a parameter (media servers may repeat them).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, v)| k == name && v.is_some())
            .and_then(|(_, v)| v.as_deref())
    }

    /// Everything in the query that could be a key: bare tokens first, then values.
    fn candidates(&self) -> impl Iterator<Item = &str> {
        let bare = self
            .params
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str());
        let values = self.params.iter().filter_map(|(_, v)| v.as_deref());
        bare.chain(values)
    }

    /// Are the application, stream name and query within their caps?
    fn within_caps(&self) -> bool {
        self.app.len() <= caps::APP
            && self.stream.len() <= caps::STREAM
            && self.params.len() <= caps::PARAMS
            && self.params.iter().all(|(k, v)| {
                k.len() <= caps::PARAM && v.as_ref().is_none_or(|v| v.len() <= caps::PARAM)
            })
    }

    /// The reported client address cut to its cap ("unknown" when none was reported).
    fn addr(&self) -> &str {
        cap(self.client_addr.as_deref().unwrap_or("unknown"), caps::ADDR)
    }

    /// This request with its client address cut to its cap (it is stored with the session).
    fn with_capped_addr(&self) -> Option<Self> {
        let a = self.client_addr.as_deref()?;
        (a.len() > caps::ADDR).then(|| Self {
            client_addr: Some(cap(a, caps::ADDR).to_string()),
            ..self.clone()
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishDecision {
    /// `via`: `stream_key`, `edgecast`, `edgecast_global`, `rtmp_credential`.
    Allowed {
        via: &'static str,
        /// The account whose stream or key allowed it.
        account: Uuid,
        session: Option<Uuid>,
        /// The name the stream must be published under instead of the one asked for: its
        /// playback id, when it was asked for by stream key (nginx-rtmp renames it on a 3xx), so
        /// the key never names what viewers fetch.
        rename: Option<String>,
    },
    /// Why; and the account whose stream was refused, when the stream is known.
    Refused(&'static str, Option<Uuid>),
    /// Too many refusals for this (ingest token, client address) lately: refused without looking.
    Throttled,
}

/// Why a stream may not be published at all, if so.
fn unpublishable(rec: &StreamRecord) -> Option<&'static str> {
    if rec.deleted_at.is_some() {
        Some("stream_deleted")
    } else if rec.suspended {
        Some("stream_suspended")
    } else {
        None
    }
}

/// Equal without revealing where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Services {
    /// The decision for a publish, with its effects: on allow through a stream key the stream
    /// becomes active and a session opens, audited with it; other allowed publishes are audited
    /// at once; refusals are counted and audited in aggregate (`ingest_refusals`).
    pub async fn authorize_publish(&self, req: &PublishRequest) -> Result<PublishDecision, Error> {
        let capped = req.with_capped_addr();
        let req = capped.as_ref().unwrap_or(req);
        let token = req.caller.token_id();
        let addr = req.addr();
        if self.ingest_throttle.blocked(token, addr) {
            self.ingest_refusals
                .record(req, "throttled", None, self.now_ms());
            return Ok(PublishDecision::Throttled);
        }
        let decision = if req.within_caps() {
            self.decide(req).await?
        } else {
            PublishDecision::Refused("field_too_long", None)
        };
        match &decision {
            PublishDecision::Refused(reason, account) => {
                self.ingest_throttle.refused(token, addr);
                self.ingest_refusals
                    .record(req, reason, *account, self.now_ms());
            }
            // A publish that opened a session was audited in the session's own transaction.
            PublishDecision::Allowed {
                session: Some(_), ..
            } => {}
            PublishDecision::Allowed {
                via,
                account,
                session: None,
                ..
            } => self.audit_publish(req, Some(*account), via).await,
            PublishDecision::Throttled => {}
        }
        Ok(decision)
    }

    /// The stream a publish names by its key: either the stream name is the key, or the stream
    /// name is the stream's playback id and the query carries its key (`live/<playbackId>?key=…`,
    /// the scheme for media servers that cannot rename a publish: SRS, MediaMTX). With the
    /// name the stream must be published under, when that is not the one asked for.
    async fn keyed_stream(
        &self,
        req: &PublishRequest,
    ) -> Result<Option<(Arc<StreamRecord>, [u8; 32], Option<String>)>, Error> {
        let key_hash = sha256(req.stream.as_bytes());
        if let Some(rec) = self.verifier.stream_by_key_hash(&key_hash).await? {
            let rename = Some(rec.playback_id.clone()).filter(|p| *p != req.stream);
            return Ok(Some((rec, key_hash, rename)));
        }
        let Some(s) = self.stream_by_playback_id(&req.stream).await? else {
            return Ok(None);
        };
        let key = s.stream.stream_key.expose().as_bytes();
        if !req
            .candidates()
            .any(|c| constant_time_eq(c.as_bytes(), key))
        {
            return Ok(None);
        }
        let key_hash = sha256(key);
        Ok(self
            .verifier
            .stream_by_key_hash(&key_hash)
            .await?
            .map(|rec| (rec, key_hash, None)))
    }

    async fn decide(&self, req: &PublishRequest) -> Result<PublishDecision, Error> {
        // A Brightcove Live job's ingest point: decided by its job alone.
        if self.is_job_app(&req.app) {
            return self.decide_job_publish(req).await;
        }
        // (a) The stream name is a stream key (or a playback id, with the key in the query).
        if let Some((rec, key_hash, rename)) = self.keyed_stream(req).await? {
            if let Some(why) = unpublishable(&rec) {
                return Ok(PublishDecision::Refused(why, Some(rec.account_id)));
            }
            let session = Session {
                id: Uuid::now_v7(),
                stream_id: rec.id,
                account_id: rec.account_id,
                environment: rec.environment,
                ingest: req.ingest.into(),
                client_addr: req.client_addr.clone(),
                started_at: self.now_ms(),
                ended_at: None,
                record: rec.record,
            };
            let deliveries = self
                .broadcast_deliveries(&rec, super::deliveries::EVENT_STARTED)
                .await?;
            let id = session.id;
            let started = self
                .commit(vec![GroupWrite::StartPublish {
                    session,
                    allow_concurrent: self.ingest_allow_concurrent,
                    deliveries,
                    audit: self.publish_audit(req, Some(rec.account_id), "stream_key"),
                }])
                .await?;
            if started.first() != Some(&true) {
                // The cache may not know yet that it was suspended or deleted: ask the store why.
                let why = match self.store.stream_by_key_hash(&key_hash).await? {
                    Some(now) => unpublishable(&now).unwrap_or("already_publishing"),
                    None => "stream_deleted",
                };
                return Ok(PublishDecision::Refused(why, Some(rec.account_id)));
            }
            // The stream is live now: readers here see it on their next request.
            self.apply_changes().await;
            return Ok(PublishDecision::Allowed {
                via: "stream_key",
                account: rec.account_id,
                session: Some(id),
                rename,
            });
        }
        // (b), (c) The path is an Edgecast DirPath of the account (and environment) that owns
        // the instance: the lookup returns no other's. Where stream keys publish, no DirPath
        // governs (one stored before that rule is ignored).
        let path = format!("{}/{}", req.app, req.stream);
        let candidates = if self.is_stream_key_app(&req.app) {
            Default::default()
        } else {
            self.verifier.stream_keys_for_instance(&req.app).await?
        };
        let matches: Vec<_> = candidates
            .iter()
            .filter(|k| dir_path_matches(&k.dir_path, &path))
            .collect();
        for k in &matches {
            let key = self
                .vault
                .open(
                    &Aad {
                        table: "edgecast_stream_keys",
                        id: &k.id.to_string(),
                        field: "key",
                    },
                    &k.key_sealed,
                )
                .map_err(|e| Error::Internal(format!("stream key {}: {e}", k.id)))?;
            if req
                .candidates()
                .any(|c| constant_time_eq(c.as_bytes(), key.expose().as_bytes()))
            {
                return Ok(PublishDecision::Allowed {
                    via: "edgecast",
                    account: k.account_id,
                    session: None,
                    rename: None,
                });
            }
            let scope = Scope {
                account_id: k.account_id,
                environment: k.environment,
            };
            if let Some(sealed) = self.store.global_key(scope).await? {
                let aad_id = format!("{}:{}", k.account_id, k.environment);
                let global = self
                    .vault
                    .open(
                        &Aad {
                            table: "edgecast_global_keys",
                            id: &aad_id,
                            field: "key",
                        },
                        &sealed,
                    )
                    .map_err(|e| Error::Internal(format!("global key: {e}")))?;
                if req
                    .candidates()
                    .any(|c| constant_time_eq(c.as_bytes(), global.expose().as_bytes()))
                {
                    return Ok(PublishDecision::Allowed {
                        via: "edgecast_global",
                        account: k.account_id,
                        session: None,
                        rename: None,
                    });
                }
            }
            if let (Some(user), Some(pass)) = (req.param("user"), req.param("pass")) {
                for c in self.store.list_credentials(scope).await? {
                    if c.kind != CredentialType::Rtmp.as_str() {
                        continue;
                    }
                    let cred = self.resolve_credential(
                        k.account_id,
                        k.environment,
                        super::credentials::CredentialRef::Label(&c.label),
                    );
                    let cred = cred.await?;
                    if constant_time_eq(cred.public.as_bytes(), user.as_bytes())
                        && constant_time_eq(cred.private.expose().as_bytes(), pass.as_bytes())
                    {
                        return Ok(PublishDecision::Allowed {
                            via: "rtmp_credential",
                            account: k.account_id,
                            session: None,
                            rename: None,
                        });
                    }
                }
            }
        }
        let reason = if matches.is_empty() {
            "unknown_stream"
        } else {
            "wrong_key"
        };
        Ok(PublishDecision::Refused(reason, None))
    }

    /// The publish ended (nginx-rtmp `publish_done`, SRS `on_unpublish`): close the session and
    /// mark the stream idle.
    pub async fn end_publish(&self, req: &PublishRequest) -> Result<(), Error> {
        if req.stream.len() > caps::STREAM {
            return Ok(());
        }
        let capped = req.with_capped_addr();
        let req = capped.as_ref().unwrap_or(req);
        if self.is_job_app(&req.app) {
            return self.end_job_publish(req).await;
        }
        // Named by its key, or by its playback id with its key in the query (as it was
        // published): a playback id alone is public and ends nothing.
        if let Some((rec, ..)) = self.keyed_stream(req).await? {
            let audit = self.publish_audit(req, Some(rec.account_id), "publish_done");
            self.close_publish(&rec, audit).await?;
        }
        Ok(())
    }

    /// Closes the stream's open session and marks it idle, with its "ended" webhooks and
    /// `audit`, in one transaction; this instance's caches see it at once. A media server's
    /// report of the end and a terminate from the API alike.
    pub(crate) async fn close_publish(
        &self,
        rec: &StreamRecord,
        audit: AuditEvent,
    ) -> Result<(), Error> {
        let deliveries = self
            .broadcast_deliveries(rec, super::deliveries::EVENT_ENDED)
            .await?;
        self.commit(vec![GroupWrite::EndPublish {
            stream_id: rec.id,
            at: self.now_ms(),
            deliveries,
            audit,
        }])
        .await?;
        self.apply_changes().await;
        Ok(())
    }

    async fn audit_publish(&self, req: &PublishRequest, account: Option<Uuid>, outcome: &str) {
        self.audit(self.publish_audit(req, account, outcome)).await;
    }

    pub(crate) fn publish_audit(
        &self,
        req: &PublishRequest,
        account: Option<Uuid>,
        outcome: &str,
    ) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            account_id: account,
            actor: format!("ingest:{}@{}", req.ingest, req.addr()),
            action: "ingest.publish".into(),
            // The path, never the stream name itself (it may be a stream key).
            object: format!("app:{}", cap(&req.app, caps::AUDIT_FIELD)),
            outcome: outcome.into(),
            detail: format!("ingest_token:{}", req.caller.token_id()),
            at: self.now_ms(),
            environment: None,
        }
    }
}
