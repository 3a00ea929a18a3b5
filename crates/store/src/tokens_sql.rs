//! SQL for signing keys, refresh tokens and the audit log, shared by both backends like `sql.rs`.

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::tokens::TokenStore for SqlStore {
    async fn insert_signing_key(
        &self,
        k: &crate::tokens::SigningKeyRecord,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute("INSERT INTO signing_keys (kid, public_key, private_sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)", crate::args![&k.kid, &k.public_key, &k.private_sealed, k.created_at, k.retired_at]).await
            .map_err(|e| crate::map_unique(e, "signing key"))?;
        // Other instances reload their keyring when they see this.
        tx.record_change(crate::tokens::SIGNING_KEY_ADDED, &k.kid, None, k.created_at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn signing_keys(&self) -> crate::StoreResult<Vec<crate::tokens::SigningKeyRecord>> {
        Ok(self.db.fetch_all::<crate::tokens::SigningKeyRow>("SELECT kid, public_key, private_sealed, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid DESC", crate::db::Args::default()).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect())
    }

    async fn retire_signing_keys_except(&self, kid: &str, at: i64) -> crate::StoreResult<u64> {
        let done = self
            .db
            .execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL",
                crate::args![at, kid],
            )
            .await?;
        Ok(done)
    }

    async fn insert_refresh(&self, r: &crate::tokens::RefreshRecord) -> crate::StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO refresh_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    crate::tokens::REFRESH_COLUMNS
                ),
                crate::args![
                    r.id.to_string(),
                    r.family_id.to_string(),
                    r.api_key_id.to_string(),
                    &r.token_hash,
                    r.issued_at,
                    r.expires_at,
                    r.used_at,
                    r.revoked_at
                ],
            )
            .await
            .map_err(|e| crate::map_unique(e, "refresh token"))?;
        Ok(())
    }

    async fn use_refresh(
        &self,
        token_hash: &[u8],
        at: i64,
    ) -> crate::StoreResult<crate::tokens::RefreshUse> {
        let mut tx = self.db.begin().await?;
        // The write comes first: it takes the row (or SQLite's) write lock, so two
        // concurrent uses of one token cannot both see it unused.
        let spent = tx.execute("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL", crate::args![at, token_hash]).await?;
        let rec = tx
            .fetch_optional::<crate::tokens::RefreshRow>(
                &format!(
                    "SELECT {} FROM refresh_tokens WHERE token_hash = $1",
                    crate::tokens::REFRESH_COLUMNS
                ),
                crate::args![token_hash],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()?;
        let outcome = match rec {
            None => crate::tokens::RefreshUse::Unknown,
            Some(r) if spent == 1 => crate::tokens::RefreshUse::Used(r),
            Some(r) => {
                tx.execute("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL", crate::args![at, r.family_id.to_string()]).await?;
                crate::tokens::RefreshUse::Replayed(r)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_refresh_for_key(
        &self,
        api_key_id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<u64> {
        let done = self.db.execute("UPDATE refresh_tokens SET revoked_at = $1 WHERE api_key_id = $2 AND revoked_at IS NULL", crate::args![at, api_key_id.to_string()]).await?;
        Ok(done)
    }

    async fn query_audit(
        &self,
        account: Option<uuid::Uuid>,
        since: i64,
        limit: i64,
    ) -> crate::StoreResult<Vec<domain::AuditEvent>> {
        self.db.fetch_all::<crate::tokens::AuditRow>(&format!(
            "SELECT {} FROM audit_events WHERE ($1 IS NULL OR account_id = $1) AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
            crate::tokens::AUDIT_COLUMNS
        ), crate::args![account.map(|a| a.to_string()), since, limit]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
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
}
