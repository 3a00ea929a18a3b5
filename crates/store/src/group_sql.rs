//! SQL for group writes, shared by both backends like `sql.rs`.

use crate::SqlStore;

impl SqlStore {
    /// Appends audit events: several rows per statement, in a few fixed statement shapes
    /// (64, 32, …, 1 rows) so that each stays prepared.
    async fn insert_audits_in(
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
                crate::db::values(chunk.len(), 8)
            );
            let mut args = crate::db::Args::default();
            for e in chunk {
                args.push(e.id.to_string())
                    .push(e.account_id.map(|a| a.to_string()))
                    .push(e.actor.as_str())
                    .push(e.action.as_str())
                    .push(e.object.as_str())
                    .push(e.outcome.as_str())
                    .push(e.detail.as_str())
                    .push(e.at);
            }
            tx.execute(&sql, args).await?;
        }
        Ok(())
    }

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
        Self::insert_session_in(tx, s).await?;
        Self::insert_deliveries(tx, deliveries).await?;
        Ok(true)
    }

    pub(crate) async fn insert_session_in(
        tx: &mut crate::db::Tx,
        s: &domain::Session,
    ) -> crate::StoreResult<()> {
        tx.execute(
            &format!(
                "INSERT INTO sessions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                crate::streams::SESSION_COLUMNS
            ),
            crate::args![
                s.id.to_string(),
                s.stream_id.to_string(),
                s.account_id.to_string(),
                s.environment.as_str(),
                &s.ingest,
                &s.client_addr,
                s.started_at,
                s.ended_at
            ],
        )
        .await
        .map_err(|e| crate::map_unique(e, "session"))?;
        Ok(())
    }

    async fn end_publish_in(
        tx: &mut crate::db::Tx,
        stream_id: uuid::Uuid,
        at: i64,
        deliveries: &[crate::DeliveryRecord],
    ) -> crate::StoreResult<bool> {
        let was_active = tx.execute("UPDATE streams SET is_active = FALSE, last_seen_at = $1 WHERE id = $2 AND is_active", crate::args![at, stream_id.to_string()]).await?
            == 1;
        tx.execute(
            "UPDATE sessions SET ended_at = $1 WHERE stream_id = $2 AND ended_at IS NULL",
            crate::args![at, stream_id.to_string()],
        )
        .await?;
        if was_active {
            Self::insert_deliveries(tx, deliveries).await?;
        }
        Ok(was_active)
    }
}

#[async_trait::async_trait]
impl crate::group::GroupStore for SqlStore {
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
