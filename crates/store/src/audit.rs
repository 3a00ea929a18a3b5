//! The audit log: append-only, never a secret.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};
use domain::AuditEvent;

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one audit event (durable when this returns).
    async fn insert_audit(&self, e: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&self, account_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Newest first; `account: None` = every account; only events at or after `since` (ms).
    async fn query_audit(
        &self,
        account: Option<Uuid>,
        environment: Option<domain::Environment>,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Removes up to `batch` events older than `before` (ms); returns how many went.
    async fn prune_audit(&self, before: i64, batch: i64) -> StoreResult<u64>;
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_audit(&self, e: &domain::AuditEvent) -> crate::StoreResult<()> {
        use crate::GroupStore;
        self.write_group(&[crate::GroupWrite::Audit(e.clone())])
            .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        account_id: uuid::Uuid,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::AuditEvent>> {
        self.db
            .fetch_all::<crate::tokens::AuditRow>(
                &format!(
            "SELECT {} FROM audit_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            crate::tokens::AUDIT_COLUMNS
        ),
                crate::args![account_id.to_string(), limit],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }

    async fn query_audit(
        &self,
        account: Option<uuid::Uuid>,
        environment: Option<domain::Environment>,
        since: i64,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::AuditEvent>> {
        self.db.fetch_all::<crate::tokens::AuditRow>(&format!(
            "SELECT {} FROM audit_events WHERE ($1 IS NULL OR account_id = $1) AND ($4 IS NULL OR environment = $4) \
             AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
            crate::tokens::AUDIT_COLUMNS
        ), crate::args![account.map(|a| a.to_string()), since, limit, environment.map(|e| e.as_str())]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn prune_audit(&self, before: i64, batch: i64) -> crate::StoreResult<u64> {
        // In batches, so a large backlog never holds the writer for long.
        let done = self
            .db
            .execute(
                "DELETE FROM audit_events WHERE id IN \
                 (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)",
                crate::args![before, batch],
            )
            .await?;
        Ok(done)
    }
}

impl SqlStore {
    /// Appends audit events: several rows per statement, in a few fixed statement shapes
    /// (64, 32, …, 1 rows) so that each stays prepared.
    pub(crate) async fn insert_audits_in(
        tx: &mut crate::db::Tx,
        mut events: &[&domain::AuditEvent],
    ) -> crate::StoreResult<()> {
        while !events.is_empty() {
            let n = [64, 32, 16, 8, 4, 2, 1]
                .into_iter()
                .find(|n| *n <= events.len())
                .unwrap_or(1);
            let (chunk, rest) = events.split_at(n);
            events = rest;
            let sql = format!(
                "INSERT INTO audit_events ({}) {}",
                crate::tokens::AUDIT_COLUMNS,
                crate::db::values(chunk.len(), 9)
            );
            let mut args = crate::db::Args::default();
            for e in chunk {
                // Whatever wrote it, no audit row holds more than the domain's caps.
                let [actor, action, object, outcome, detail] = e.clipped();
                args.push(e.id.to_string())
                    .push(e.account_id.map(|a| a.to_string()))
                    .push(actor.into_owned())
                    .push(action.into_owned())
                    .push(object.into_owned())
                    .push(outcome.into_owned())
                    .push(detail.into_owned())
                    .push(e.at)
                    .push(e.environment.map(|v| v.as_str()));
            }
            tx.execute(&sql, args).await?;
        }
        Ok(())
    }
}
