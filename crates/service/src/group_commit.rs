//! Group commit: writes from concurrent requests (audit events, publish starts and ends) are
//! applied together, one store transaction (one durable commit) per group, and each caller
//! returns only once its own writes are durable. While a group commits the next one gathers, so
//! the busier the server, the more requests share a commit.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::Services;
use domain::Error;
use store::{GroupWrite, Store, StoreError};

/// At most this many callers' writes share one transaction.
const MAX_CALLERS: usize = 256;

type Answer = oneshot::Sender<Result<Vec<bool>, Error>>;

#[derive(Default)]
pub struct GroupCommit {
    tx: OnceLock<mpsc::Sender<(Vec<GroupWrite>, Answer)>>,
    stats: Arc<GroupStats>,
}

/// Counters since start, for `/metrics` (their ratio is the mean group size).
#[derive(Default, Debug)]
pub struct GroupStats {
    /// Transactions committed for groups.
    pub groups: AtomicU64,
    /// Callers whose writes were committed.
    pub callers: AtomicU64,
    /// Callers written again on their own after their group failed on a bad write.
    pub retried_alone: AtomicU64,
}

/// A write refused for what it contains (a constraint): the group may go again without it. Any
/// other failure (connection lost, busy, a commit that may or may not have happened) is final for
/// the whole group, so that a struggling database is not asked once per caller.
fn bad_write(e: &StoreError) -> bool {
    e.is_refused_content()
}

impl GroupCommit {
    /// The queue, started on the current runtime at first use; None outside a runtime.
    fn queue(&self, store: &Arc<dyn Store>) -> Option<&mpsc::Sender<(Vec<GroupWrite>, Answer)>> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some(self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4096);
            handle.spawn(Self::run(store.clone(), rx, self.stats.clone()));
            tx
        }))
    }

    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }

    async fn run(
        store: Arc<dyn Store>,
        mut rx: mpsc::Receiver<(Vec<GroupWrite>, Answer)>,
        stats: Arc<GroupStats>,
    ) {
        let mut callers = Vec::with_capacity(MAX_CALLERS);
        while rx.recv_many(&mut callers, MAX_CALLERS).await > 0 {
            let mut counts = Vec::with_capacity(callers.len());
            let mut answers = Vec::with_capacity(callers.len());
            let mut writes = Vec::new();
            for (w, answer) in callers.drain(..) {
                // A publish whose hook request is gone (the media server gave up waiting) must not
                // start: nobody would be told, and the stream would stay active with no encoder.
                let starts = w
                    .iter()
                    .any(|w| matches!(w, GroupWrite::StartPublish { .. }));
                if starts && answer.is_closed() {
                    continue;
                }
                counts.push(w.len());
                answers.push(answer);
                writes.extend(w);
            }
            if answers.is_empty() {
                continue;
            }
            match store.write_group(&writes).await {
                Ok(done) => {
                    stats.groups.fetch_add(1, Relaxed);
                    stats.callers.fetch_add(answers.len() as u64, Relaxed);
                    let mut done = done.into_iter();
                    for (n, answer) in counts.into_iter().zip(answers) {
                        let _ = answer.send(Ok(done.by_ref().take(n).collect()));
                    }
                }
                // One caller's bad write must not fail the others': each goes again on its own.
                Err(e) if answers.len() > 1 && bad_write(&e) => {
                    tracing::warn!(error = %e, callers = answers.len(), "group commit refused a write; writing one caller at a time");
                    let mut writes = writes.into_iter();
                    for (n, answer) in counts.into_iter().zip(answers) {
                        let own: Vec<GroupWrite> = writes.by_ref().take(n).collect();
                        stats.retried_alone.fetch_add(1, Relaxed);
                        let result = store.write_group(&own).await;
                        if result.is_ok() {
                            stats.groups.fetch_add(1, Relaxed);
                            stats.callers.fetch_add(1, Relaxed);
                        }
                        let _ = answer.send(result.map_err(Error::from));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, callers = answers.len(), "group commit failed");
                    let message = e.to_string();
                    let mut first = Some(e);
                    for answer in answers {
                        let err = match first.take() {
                            Some(e) => Error::from(e),
                            None => Error::from(StoreError::SharedWrite(message.clone())),
                        };
                        let _ = answer.send(Err(err));
                    }
                }
            }
        }
    }
}

impl Services {
    pub fn group_commit_stats(&self) -> &GroupStats {
        self.group_commit.stats()
    }

    /// Applies `writes` in one transaction, possibly together with other callers' writes; returns
    /// once they are durable, with whether each took effect (see `GroupWrite`).
    pub async fn commit(&self, writes: Vec<GroupWrite>) -> Result<Vec<bool>, Error> {
        if let Some(queue) = self.group_commit.queue(&self.store) {
            let (answer, wait) = oneshot::channel();
            match queue.send((writes, answer)).await {
                Ok(()) => {
                    return wait.await.unwrap_or_else(|_| {
                        Err(Error::Internal(
                            "the group commit writer has stopped".into(),
                        ))
                    })
                }
                Err(mpsc::error::SendError((writes, _))) => {
                    return Ok(self.store.write_group(&writes).await?)
                }
            }
        }
        Ok(self.store.write_group(&writes).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::AuditEvent;
    use domain::{Account, AccountNumber, Environment, Session};
    use store::{Scope, StreamRecord};
    use uuid::Uuid;

    fn audit(account: Uuid, outcome: &str) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(account),
            actor: "test".into(),
            action: "ingest.publish".into(),
            object: "app:live".into(),
            outcome: outcome.into(),
            detail: String::new(),
            at: 1,
            environment: None,
        }
    }

    /// A publish start whose caller has gone (its hook request was dropped while it waited) is
    /// not applied; the other callers' writes of the same group are.
    #[tokio::test]
    async fn a_start_nobody_waits_for_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let a = Account {
            id: Uuid::now_v7(),
            name: "a".into(),
            number: AccountNumber::parse("0001").unwrap(),
            created_at: 1,
        };
        store.insert_account(&a).await.unwrap();
        let s = StreamRecord {
            id: Uuid::now_v7(),
            account_id: a.id,
            environment: Environment::Production,
            name: "cam".into(),
            key_hash: crypto::sha256(b"cam").to_vec(),
            key_sealed: "v1.1.sealed".into(),
            playback_id: "pbcam".into(),
            record: false,
            suspended: false,
            is_active: false,
            settings: "{}".into(),
            created_by: None,
            created_at: 1,
            updated_at: 1,
            last_seen_at: None,
            deleted_at: None,
        };
        store.insert_stream(&s).await.unwrap();
        let start = GroupWrite::StartPublish {
            session: Session {
                id: Uuid::now_v7(),
                stream_id: s.id,
                account_id: a.id,
                environment: Environment::Production,
                ingest: "nginx-rtmp".into(),
                client_addr: None,
                started_at: 2,
                ended_at: None,
                record: false,
            },
            allow_concurrent: false,
            deliveries: vec![],
            audit: audit(a.id, "stream_key"),
        };

        let (tx, rx) = mpsc::channel(8);
        let (gone, dropped) = oneshot::channel();
        drop(dropped);
        tx.send((vec![start], gone)).await.unwrap();
        let (waiting, answer) = oneshot::channel();
        tx.send((vec![GroupWrite::Audit(audit(a.id, "kept"))], waiting))
            .await
            .unwrap();
        drop(tx);
        let stats = Arc::new(GroupStats::default());
        GroupCommit::run(store.clone(), rx, stats.clone()).await;

        assert_eq!(answer.await.unwrap().unwrap(), [true]);
        let scope = Scope {
            account_id: a.id,
            environment: Environment::Production,
        };
        let stream = store.stream(scope, s.id).await.unwrap().unwrap();
        assert!(!stream.is_active, "the abandoned start was not applied");
        assert!(store
            .list_sessions(scope, s.id, None)
            .await
            .unwrap()
            .is_empty());
        let outcomes: Vec<String> = store
            .list_audit(a.id, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes, ["kept"]);
        assert_eq!(stats.callers.load(Relaxed), 1);
        assert_eq!(stats.groups.load(Relaxed), 1);
    }
}
