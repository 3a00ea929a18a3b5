//! Writes that may share one transaction with other requests' writes: the group commit behind
//! the audit log and the ingest hooks (see `service::group_commit`). Under load, one durable
//! commit (one fsync, one write of each touched page) then serves many requests.

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{DeliveryRecord, StoreResult};
use domain::{AuditEvent, Session};

/// Closes a stream's open sessions: on the index of open sessions (`sessions_open`).
pub(crate) const END_SESSIONS: &str =
    "UPDATE sessions SET ended_at = $1 WHERE stream_id = $2 AND ended_at IS NULL";

/// One write of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupWrite {
    /// Appends to the audit log. Always takes effect.
    Audit(AuditEvent),
    /// Marks a live stream (not deleted or suspended) active and opens `session`; queues
    /// `deliveries` (the "went live" webhooks) and appends `audit`. Takes effect only when the
    /// stream can be published now (not gone, not suspended, and not already active unless
    /// `allow_concurrent`); otherwise nothing of it is written.
    StartPublish {
        session: Session,
        allow_concurrent: bool,
        deliveries: Vec<DeliveryRecord>,
        audit: AuditEvent,
    },
    /// Closes the stream's open sessions and marks it idle; appends `audit`. Takes effect (and
    /// queues `deliveries`, the "went idle" webhooks) only when the stream was active.
    EndPublish {
        stream_id: Uuid,
        at: i64,
        deliveries: Vec<DeliveryRecord>,
        audit: AuditEvent,
    },
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Applies `writes` in order in one transaction: all of them are durable when this returns
    /// Ok, none of them on Err. Returns, per write, whether it took effect.
    async fn write_group(&self, writes: &[GroupWrite]) -> StoreResult<Vec<bool>>;
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn write_group(
        &self,
        writes: &[crate::group::GroupWrite],
    ) -> crate::StoreResult<Vec<bool>> {
        use crate::group::GroupWrite;
        let mut tx = self.db.begin().await?;
        let mut done = Vec::with_capacity(writes.len());
        // The audit events go in last, together: the table is append-only, so their
        // order within the transaction does not matter.
        let mut audits = Vec::with_capacity(writes.len());
        for w in writes {
            done.push(match w {
                GroupWrite::Audit(e) => {
                    audits.push(e);
                    true
                }
                GroupWrite::StartPublish {
                    session,
                    allow_concurrent,
                    deliveries,
                    audit,
                } => {
                    let started =
                        Self::start_publish_in(&mut tx, session, *allow_concurrent, deliveries)
                            .await?;
                    if started {
                        audits.push(audit);
                    }
                    started
                }
                GroupWrite::EndPublish {
                    stream_id,
                    at,
                    deliveries,
                    audit,
                } => {
                    audits.push(audit);
                    Self::end_publish_in(&mut tx, *stream_id, *at, deliveries).await?
                }
            });
        }
        Self::insert_audits_in(&mut tx, &audits).await?;
        tx.commit().await?;
        Ok(done)
    }
}

impl SqlStore {
    async fn start_publish_in(
        tx: &mut crate::db::Tx,
        s: &domain::Session,
        allow_concurrent: bool,
        deliveries: &[crate::DeliveryRecord],
    ) -> crate::StoreResult<bool> {
        let updated = tx
            .execute(
                "UPDATE streams SET is_active = TRUE, last_seen_at = $1 WHERE id = $2 \
             AND deleted_at IS NULL AND NOT suspended AND (NOT is_active OR $3)",
                crate::args![s.started_at, s.stream_id.to_string(), allow_concurrent],
            )
            .await?;
        if updated != 1 {
            return Ok(false);
        }
        // Readers' caches of the stream (isActive, lastSeen) drop it on every instance.
        tx.record_change(
            crate::streams::STREAM_ACTIVITY,
            &s.stream_id.to_string(),
            None,
            s.started_at,
        )
        .await?;
        Self::insert_session_in(tx, s).await?;
        Self::insert_deliveries(tx, deliveries).await?;
        Ok(true)
    }

    async fn end_publish_in(
        tx: &mut crate::db::Tx,
        stream_id: uuid::Uuid,
        at: i64,
        deliveries: &[crate::DeliveryRecord],
    ) -> crate::StoreResult<bool> {
        let was_active = tx.execute("UPDATE streams SET is_active = FALSE, last_seen_at = $1 WHERE id = $2 AND is_active", crate::args![at, stream_id.to_string()]).await?
            == 1;
        tx.execute(END_SESSIONS, crate::args![at, stream_id.to_string()])
            .await?;
        if was_active {
            tx.record_change(
                crate::streams::STREAM_ACTIVITY,
                &stream_id.to_string(),
                None,
                at,
            )
            .await?;
            Self::insert_deliveries(tx, deliveries).await?;
        }
        Ok(was_active)
    }
}
