//! SQL for group writes, shared by both backends like `sql.rs`.

macro_rules! impl_group_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Appends audit events: several rows per statement, in a few fixed statement shapes
            /// (64, 32, …, 1 rows) so that each stays prepared.
            async fn insert_audits_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                mut events: &[&$crate::store::AuditEvent],
            ) -> $crate::store::StoreResult<()> {
                while !events.is_empty() {
                    let n = [64, 32, 16, 8, 4, 2, 1].into_iter().find(|n| *n <= events.len()).unwrap_or(1);
                    let (chunk, rest) = events.split_at(n);
                    events = rest;
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO audit_events ({}) ",
                        $crate::store::tokens::AUDIT_COLUMNS
                    ));
                    qb.push_values(chunk, |mut b, e| {
                        b.push_bind(e.id.to_string())
                            .push_bind(e.account_id.map(|a| a.to_string()))
                            .push_bind(e.actor.as_str())
                            .push_bind(e.action.as_str())
                            .push_bind(e.object.as_str())
                            .push_bind(e.outcome.as_str())
                            .push_bind(e.detail.as_str())
                            .push_bind(e.at);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn start_publish_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                s: &$crate::domain::Session,
                allow_concurrent: bool,
                deliveries: &[$crate::store::DeliveryRecord],
            ) -> $crate::store::StoreResult<bool> {
                let updated = sqlx::query(
                    "UPDATE streams SET is_active = TRUE, last_seen_at = $1 WHERE id = $2 \
                     AND deleted_at IS NULL AND NOT suspended AND (NOT is_active OR $3)",
                )
                .bind(s.started_at)
                .bind(s.stream_id.to_string())
                .bind(allow_concurrent)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if updated != 1 {
                    return Ok(false);
                }
                Self::insert_session_in(tx, s).await?;
                Self::insert_deliveries(tx, deliveries).await?;
                Ok(true)
            }

            async fn insert_session_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                s: &$crate::domain::Session,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO sessions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::store::streams::SESSION_COLUMNS
                ))
                .bind(s.id.to_string())
                .bind(s.stream_id.to_string())
                .bind(s.account_id.to_string())
                .bind(s.environment.as_str())
                .bind(&s.ingest)
                .bind(&s.client_addr)
                .bind(s.started_at)
                .bind(s.ended_at)
                .execute(&mut **tx)
                .await
                .map_err(|e| $crate::store::map_unique(e, "session"))?;
                Ok(())
            }

            async fn end_publish_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                stream_id: uuid::Uuid,
                at: i64,
                deliveries: &[$crate::store::DeliveryRecord],
            ) -> $crate::store::StoreResult<bool> {
                let was_active = sqlx::query(
                    "UPDATE streams SET is_active = FALSE, last_seen_at = $1 WHERE id = $2 AND is_active",
                )
                .bind(at)
                .bind(stream_id.to_string())
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1;
                sqlx::query("UPDATE sessions SET ended_at = $1 WHERE stream_id = $2 AND ended_at IS NULL")
                    .bind(at)
                    .bind(stream_id.to_string())
                    .execute(&mut **tx)
                    .await?;
                if was_active {
                    Self::insert_deliveries(tx, deliveries).await?;
                }
                Ok(was_active)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::group::GroupStore for $store {
            async fn write_group(
                &self,
                writes: &[$crate::store::group::GroupWrite],
            ) -> $crate::store::StoreResult<Vec<bool>> {
                use $crate::store::group::GroupWrite;
                let mut tx = self.writer().begin().await?;
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
                        GroupWrite::StartPublish { session, allow_concurrent, deliveries, audit } => {
                            let started = Self::start_publish_in(&mut tx, session, *allow_concurrent, deliveries).await?;
                            if started {
                                audits.push(audit);
                            }
                            started
                        }
                        GroupWrite::EndPublish { stream_id, at, deliveries, audit } => {
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
    };
}
