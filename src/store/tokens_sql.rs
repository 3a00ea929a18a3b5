//! SQL for signing keys, refresh tokens and the audit log, shared by both backends like `sql.rs`.

macro_rules! impl_token_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::tokens::TokenStore for $store {
            async fn insert_signing_key(
                &self,
                k: &$crate::store::tokens::SigningKeyRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query("INSERT INTO signing_keys (kid, public_key, private_sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&k.kid)
                    .bind(&k.public_key)
                    .bind(&k.private_sealed)
                    .bind(k.created_at)
                    .bind(k.retired_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::store::map_unique(e, "signing key"))?;
                // Other instances reload their keyring when they see this.
                Self::record_change(&mut tx, $crate::store::tokens::SIGNING_KEY_ADDED, &k.kid, None, k.created_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn signing_keys(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::tokens::SigningKeyRecord>> {
                Ok(sqlx::query_as::<_, $crate::store::tokens::SigningKeyRow>(
                    "SELECT kid, public_key, private_sealed, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid DESC",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect())
            }

            async fn retire_signing_keys_except(
                &self,
                kid: &str,
                at: i64,
            ) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL")
                    .bind(at)
                    .bind(kid)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn insert_refresh(
                &self,
                r: &$crate::store::tokens::RefreshRecord,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO refresh_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::store::tokens::REFRESH_COLUMNS
                ))
                .bind(r.id.to_string())
                .bind(r.family_id.to_string())
                .bind(r.api_key_id.to_string())
                .bind(&r.token_hash)
                .bind(r.issued_at)
                .bind(r.expires_at)
                .bind(r.used_at)
                .bind(r.revoked_at)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::map_unique(e, "refresh token"))?;
                Ok(())
            }

            async fn use_refresh(
                &self,
                token_hash: &[u8],
                at: i64,
            ) -> $crate::store::StoreResult<$crate::store::tokens::RefreshUse> {
                let mut tx = self.writer().begin().await?;
                // The write comes first: it takes the row (or SQLite's) write lock, so two
                // concurrent uses of one token cannot both see it unused.
                let spent = sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL")
                    .bind(at)
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let rec = sqlx::query_as::<_, $crate::store::tokens::RefreshRow>(&format!(
                    "SELECT {} FROM refresh_tokens WHERE token_hash = $1",
                    $crate::store::tokens::REFRESH_COLUMNS
                ))
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.into_record())
                .transpose()?;
                let outcome = match rec {
                    None => $crate::store::tokens::RefreshUse::Unknown,
                    Some(r) if spent == 1 => $crate::store::tokens::RefreshUse::Used(r),
                    Some(r) => {
                        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                            .bind(at)
                            .bind(r.family_id.to_string())
                            .execute(&mut *tx)
                            .await?;
                        $crate::store::tokens::RefreshUse::Replayed(r)
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn revoke_refresh_for_key(
                &self,
                api_key_id: uuid::Uuid,
                at: i64,
            ) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE api_key_id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(api_key_id.to_string())
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn query_audit(
                &self,
                account: Option<uuid::Uuid>,
                since: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::tokens::AuditEvent>> {
                sqlx::query_as::<_, $crate::store::tokens::AuditRow>(&format!(
                    "SELECT {} FROM audit_events WHERE ($1 IS NULL OR account_id = $1) AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
                    $crate::store::tokens::AUDIT_COLUMNS
                ))
                .bind(account.map(|a| a.to_string()))
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }

            async fn list_audit(
                &self,
                account_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::tokens::AuditEvent>> {
                sqlx::query_as::<_, $crate::store::tokens::AuditRow>(&format!(
                    "SELECT {} FROM audit_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                    $crate::store::tokens::AUDIT_COLUMNS
                ))
                .bind(account_id.to_string())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| r.into_record())
                .collect()
            }
        }
    };
}
