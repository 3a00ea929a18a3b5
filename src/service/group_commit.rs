//! Group commit: writes from concurrent requests (audit events, publish starts and ends) are
//! applied together, one store transaction (one durable commit) per group, and each caller
//! returns only once its own writes are durable. While a group commits the next one gathers, so
//! the busier the server, the more requests share a commit.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::Services;
use crate::domain::Error;
use crate::store::{GroupWrite, Store};

/// At most this many callers' writes share one transaction.
const MAX_CALLERS: usize = 256;

type Answer = oneshot::Sender<Result<Vec<bool>, Error>>;

#[derive(Default)]
pub struct GroupCommit {
    tx: OnceLock<mpsc::Sender<(Vec<GroupWrite>, Answer)>>,
}

impl GroupCommit {
    /// The queue, started on the current runtime at first use; None outside a runtime.
    fn queue(&self, store: &Arc<dyn Store>) -> Option<&mpsc::Sender<(Vec<GroupWrite>, Answer)>> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some(self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4096);
            handle.spawn(Self::run(store.clone(), rx));
            tx
        }))
    }

    async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(Vec<GroupWrite>, Answer)>) {
        let mut callers = Vec::with_capacity(MAX_CALLERS);
        while rx.recv_many(&mut callers, MAX_CALLERS).await > 0 {
            let mut counts = Vec::with_capacity(callers.len());
            let mut answers = Vec::with_capacity(callers.len());
            let mut writes = Vec::new();
            for (w, answer) in callers.drain(..) {
                counts.push(w.len());
                answers.push(answer);
                writes.extend(w);
            }
            match store.write_group(&writes).await {
                Ok(done) => {
                    let mut done = done.into_iter();
                    for (n, answer) in counts.into_iter().zip(answers) {
                        let _ = answer.send(Ok(done.by_ref().take(n).collect()));
                    }
                }
                // One caller's bad write must not fail the others': each goes again on its own.
                Err(e) if answers.len() > 1 => {
                    tracing::warn!(error = %e, callers = answers.len(), "group commit failed; writing one caller at a time");
                    let mut writes = writes.into_iter();
                    for (n, answer) in counts.into_iter().zip(answers) {
                        let own: Vec<GroupWrite> = writes.by_ref().take(n).collect();
                        let _ = answer.send(store.write_group(&own).await.map_err(Error::from));
                    }
                }
                Err(e) => {
                    if let Some(answer) = answers.into_iter().next() {
                        let _ = answer.send(Err(Error::from(e)));
                    }
                }
            }
        }
    }
}

impl Services {
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
