//! The audit log: who did what to which object, and refused authentications of known keys.
//! Append-only; never holds a secret (objects are named by id).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::Services;
use crate::domain::{Actor, Error, KeyInfo};
use crate::store::AuditEvent;

/// A refused key is audited at most this often (a client retrying a revoked key in a loop must
/// not turn into a write per request).
const AUTH_FAILURE_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct AuthFailureThrottle(Mutex<HashMap<Uuid, Instant>>);

impl AuthFailureThrottle {
    fn should_record(&self, key: Uuid) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < AUTH_FAILURE_EVERY);
        }
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < AUTH_FAILURE_EVERY => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

/// Group commit for the audit log: events from concurrent requests are written together, one
/// transaction (one fsync) per batch, and each caller returns only once its event is durable.
/// While a batch commits the next one gathers, so under load many events share a commit.
#[derive(Default)]
pub struct AuditWriter {
    tx: std::sync::OnceLock<
        tokio::sync::mpsc::Sender<(AuditEvent, tokio::sync::oneshot::Sender<bool>)>,
    >,
}

const AUDIT_BATCH: usize = 256;

impl AuditWriter {
    /// The queue, started on the current runtime at first use; None outside a runtime.
    fn queue(
        &self,
        store: &std::sync::Arc<dyn crate::store::Store>,
    ) -> Option<&tokio::sync::mpsc::Sender<(AuditEvent, tokio::sync::oneshot::Sender<bool>)>> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some(self.tx.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(4096);
            handle.spawn(Self::run(store.clone(), rx));
            tx
        }))
    }

    async fn run(
        store: std::sync::Arc<dyn crate::store::Store>,
        mut rx: tokio::sync::mpsc::Receiver<(AuditEvent, tokio::sync::oneshot::Sender<bool>)>,
    ) {
        let mut batch = Vec::with_capacity(AUDIT_BATCH);
        while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
            let (events, waiters): (Vec<AuditEvent>, Vec<_>) = batch.drain(..).unzip();
            let ok = match store.insert_audits(&events).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::error!(error = %err, events = events.len(), "could not write audit events");
                    false
                }
            };
            for w in waiters {
                let _ = w.send(ok);
            }
        }
    }
}

impl Services {
    /// Appends to the audit log; a failure is logged, never fatal to the request.
    /// Appends an event; returns once it is durable (or its write has failed and been logged).
    pub async fn audit(&self, e: AuditEvent) {
        if let Some(queue) = self.audit_writer.queue(&self.store) {
            let (done, wait) = tokio::sync::oneshot::channel();
            match queue.send((e, done)).await {
                Ok(()) => {
                    // The writer always answers unless its runtime is gone.
                    let _ = wait.await;
                    return;
                }
                Err(tokio::sync::mpsc::error::SendError((e, _))) => {
                    return self.audit_direct(e).await
                }
            }
        }
        self.audit_direct(e).await
    }

    async fn audit_direct(&self, e: AuditEvent) {
        if let Err(err) = self.store.insert_audit(&e).await {
            tracing::error!(error = %err, action = %e.action, "could not write an audit event");
        }
    }

    /// A successful change made by a key.
    pub async fn audit_by(&self, actor: &Actor, action: &str, object: String) {
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(actor.account_id()),
            actor: actor.label(),
            action: action.into(),
            object,
            outcome: "ok".into(),
            detail: String::new(),
            at: self.now_ms(),
        })
        .await;
    }

    /// A change made by an operator on the command line.
    pub async fn audit_operator(&self, account: Option<Uuid>, action: &str, object: String) {
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: account,
            actor: "operator".into(),
            action: action.into(),
            object,
            outcome: "ok".into(),
            detail: String::new(),
            at: self.now_ms(),
        })
        .await;
    }

    /// A known key was refused (revoked, expired): recorded once a minute per key.
    pub async fn audit_auth_failure(&self, key: &KeyInfo, reason: &str) {
        if !self.auth_failures.should_record(key.id) {
            return;
        }
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(key.account_id),
            actor: format!("key:{}", key.id),
            action: "auth.refused".into(),
            object: format!("api_key:{}", key.id),
            outcome: reason.into(),
            detail: "a request presented this key and was refused (recorded at most once a minute per key)".into(),
            at: self.now_ms(),
        })
        .await;
    }

    /// Newest first. `account: None` = every account.
    pub async fn query_audit(
        &self,
        account: Option<Uuid>,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, Error> {
        Ok(self
            .store
            .query_audit(account, since_ms, limit.clamp(1, 10_000))
            .await?)
    }
}
