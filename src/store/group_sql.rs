//! SQL for group writes, shared by both backends like `sql.rs`.

macro_rules! impl_group_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_audit_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                e: &$crate::store::AuditEvent,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO audit_events ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::store::tokens::AUDIT_COLUMNS
                ))
                .bind(e.id.to_string())
                .bind(e.account_id.map(|a| a.to_string()))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.object)
                .bind(&e.outcome)
                .bind(&e.detail)
                .bind(e.at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn start_publish_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                s: &$crate::domain::Session,
                allow_concurrent: bool,
                deliveries: &[$crate::store::DeliveryRecord],
                audit: &$crate::store::AuditEvent,
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
                .await?;
                Self::insert_deliveries(tx, deliveries).await?;
                Self::insert_audit_in(tx, audit).await?;
                Ok(true)
            }

            async fn end_publish_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                stream_id: uuid::Uuid,
                at: i64,
                deliveries: &[$crate::store::DeliveryRecord],
                audit: &$crate::store::AuditEvent,
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
                Self::insert_audit_in(tx, audit).await?;
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
                for w in writes {
                    done.push(match w {
                        GroupWrite::Audit(e) => {
                            Self::insert_audit_in(&mut tx, e).await?;
                            true
                        }
                        GroupWrite::StartPublish { session, allow_concurrent, deliveries, audit } => {
                            Self::start_publish_in(&mut tx, session, *allow_concurrent, deliveries, audit).await?
                        }
                        GroupWrite::EndPublish { stream_id, at, deliveries, audit } => {
                            Self::end_publish_in(&mut tx, *stream_id, *at, deliveries, audit).await?
                        }
                    });
                }
                tx.commit().await?;
                Ok(done)
            }
        }
    };
}
