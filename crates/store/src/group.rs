//! Writes that may share one transaction with other requests' writes: the group commit behind
//! the audit log and the ingest hooks (see `service::group_commit`). Under load, one durable
//! commit (one fsync, one write of each touched page) then serves many requests.

use async_trait::async_trait;
use uuid::Uuid;

use super::{DeliveryRecord, StoreResult};
use domain::{AuditEvent, Session};

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

    async fn insert_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        self.write_group(&[GroupWrite::Audit(e.clone())]).await?;
        Ok(())
    }
}
