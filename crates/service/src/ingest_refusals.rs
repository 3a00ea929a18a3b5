//! Refused (and throttled) publish decisions, audited in aggregate: counted in memory per
//! (ingest token, media server, client address, reason, account) and written as one audit row
//! per bucket at the end of each window, and at shutdown. The table is bounded: past
//! `MAX_BUCKETS` every further refusal of the window lands in one overflow bucket. So a flood of
//! refused hooks costs at most `MAX_BUCKETS + 1` small rows a window, whatever it sends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use uuid::Uuid;

use super::ingest::PublishRequest;
use super::Services;
use domain::clock::rfc3339;
use domain::ingest_token::{cap, caps};
use domain::AuditEvent;
use store::GroupWrite;

/// Distinct buckets a window holds before the rest overflow into one.
pub const MAX_BUCKETS: usize = 256;
/// How often the buckets are written out (the window).
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BucketKey {
    token: Uuid,
    ingest: &'static str,
    addr: String,
    reason: &'static str,
    account: Option<Uuid>,
}

#[derive(Debug, Clone)]
struct Bucket {
    count: u64,
    first_at: i64,
    last_at: i64,
    /// The application of the first refusal (capped), for the row's object.
    app: String,
}

impl Bucket {
    fn new(app: &str, at: i64) -> Self {
        Self {
            count: 0,
            first_at: at,
            last_at: at,
            app: cap(app, caps::AUDIT_FIELD).to_string(),
        }
    }

    fn add(&mut self, at: i64) {
        self.count += 1;
        self.first_at = self.first_at.min(at);
        self.last_at = self.last_at.max(at);
    }
}

#[derive(Default)]
struct Buckets {
    map: HashMap<BucketKey, Bucket>,
    overflow: Option<Bucket>,
}

/// The refusals of the current window, not yet written.
#[derive(Default)]
pub struct RefusalLog(Mutex<Buckets>);

impl RefusalLog {
    /// Counts one refusal of `req` (whose client address is already capped).
    pub(crate) fn record(
        &self,
        req: &PublishRequest,
        reason: &'static str,
        account: Option<Uuid>,
        at: i64,
    ) {
        let Ok(mut b) = self.0.lock() else {
            return;
        };
        let key = BucketKey {
            token: req.caller.token_id(),
            ingest: req.ingest,
            addr: cap(req.client_addr.as_deref().unwrap_or("unknown"), caps::ADDR).to_string(),
            reason,
            account,
        };
        let full = b.map.len() >= MAX_BUCKETS;
        let bucket = match b.map.get_mut(&key) {
            Some(bucket) => bucket,
            None if full => b.overflow.get_or_insert_with(|| Bucket::new("", at)),
            None => b
                .map
                .entry(key)
                .or_insert_with(|| Bucket::new(&req.app, at)),
        };
        bucket.add(at);
    }

    /// Refusals counted and not yet written (for tests and metrics).
    pub fn pending(&self) -> u64 {
        self.0
            .lock()
            .map(|b| {
                b.map.values().map(|x| x.count).sum::<u64>()
                    + b.overflow.as_ref().map_or(0, |o| o.count)
            })
            .unwrap_or(0)
    }

    /// Takes the window's buckets as audit rows, leaving the log empty.
    fn drain(&self, id: impl Fn() -> Uuid) -> Vec<AuditEvent> {
        let Ok(mut b) = self.0.lock() else {
            return Vec::new();
        };
        let taken = std::mem::take(&mut *b);
        drop(b);
        let detail = |n: &Bucket, token: Option<Uuid>| {
            serde_json::json!({
                "count": n.count,
                "ingestToken": token,
                "from": rfc3339(n.first_at),
                "to": rfc3339(n.last_at),
            })
            .to_string()
        };
        let mut rows: Vec<AuditEvent> = taken
            .map
            .into_iter()
            .map(|(k, n)| AuditEvent {
                id: id(),
                account_id: k.account,
                actor: format!("ingest:{}@{}", k.ingest, k.addr),
                action: "ingest.publish".into(),
                object: format!("app:{}", n.app),
                outcome: k.reason.into(),
                detail: detail(&n, Some(k.token)),
                at: n.last_at,
                environment: None,
            })
            .collect();
        if let Some(n) = taken.overflow {
            rows.push(AuditEvent {
                id: id(),
                account_id: None,
                actor: "ingest:overflow".into(),
                action: "ingest.publish".into(),
                object: "ingest:refusals".into(),
                outcome: "refused".into(),
                detail: detail(&n, None),
                at: n.last_at,
                environment: None,
            });
        }
        rows
    }
}

impl Services {
    /// Writes the refusals counted so far as audit rows, one per bucket (with its count), and
    /// when each ingest token was last used. The housekeeping task calls it at the end of each
    /// window and at shutdown; tests call it to see the rows at once.
    pub async fn flush_ingest_refusals(&self) {
        self.flush_ingest_token_uses().await;
        let rows = self.ingest_refusals.drain(Uuid::now_v7);
        if rows.is_empty() {
            return;
        }
        let n = rows.len();
        if let Err(e) = self
            .commit(rows.into_iter().map(GroupWrite::Audit).collect())
            .await
        {
            tracing::error!(error = %e, rows = n, "could not write the refused publishes' audit rows");
        }
    }

    /// Flushes the refusal log every `REFUSAL_WINDOW` until `shutdown` fires, and once more then.
    pub async fn run_ingest_housekeeping(
        self: std::sync::Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(REFUSAL_WINDOW) => self.flush_ingest_refusals().await,
                _ = shutdown.changed() => break,
            }
        }
        self.flush_ingest_refusals().await;
    }
}
