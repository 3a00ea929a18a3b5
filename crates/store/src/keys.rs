//! API keys: only their hashes, never a secret.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};
use domain::ApiKey;

/// API keys, looked up by the SHA-256 of their secret.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Inserts the key and records a `changes` entry in one transaction.
    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8; 32]) -> StoreResult<()>;
    /// Bulk insert without change entries, for seeding benchmarks.
    async fn insert_api_keys_bulk(&self, keys: &[(ApiKey, [u8; 32])]) -> StoreResult<()>;
    async fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<ApiKey>>;
    async fn api_key_by_id(&self, id: Uuid) -> StoreResult<Option<ApiKey>>;
    /// An account's keys, of one environment or all; oldest first.
    async fn list_api_keys(
        &self,
        account_id: Uuid,
        environment: Option<domain::Environment>,
    ) -> StoreResult<Vec<ApiKey>>;
    /// Marks the key revoked (if it was not already) and records a change. Returns the key as it now is.
    async fn revoke_api_key(&self, id: Uuid, at: i64) -> StoreResult<Option<ApiKey>>;
    /// Writes back batched `last_used_at` values (never moving one backwards).
    async fn touch_api_keys(&self, used: &[(Uuid, i64)]) -> StoreResult<()>;
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_api_key(
        &self,
        k: &domain::ApiKey,
        secret_hash: &[u8; 32],
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_key_rows(&mut tx, std::slice::from_ref(&(k.clone(), *secret_hash))).await?;
        tx.record_change(
            "api_key.created",
            &k.id.to_string(),
            Some(secret_hash),
            k.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_api_keys_bulk(
        &self,
        keys: &[(domain::ApiKey, [u8; 32])],
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::insert_key_rows(&mut tx, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_key_by_hash(
        &self,
        secret_hash: &[u8; 32],
    ) -> crate::StoreResult<Option<domain::ApiKey>> {
        self.db
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE secret_hash = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![secret_hash.to_vec()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn api_key_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<domain::ApiKey>> {
        self.db
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()
    }

    async fn list_api_keys(
        &self,
        account_id: uuid::Uuid,
        environment: Option<domain::Environment>,
    ) -> crate::StoreResult<Vec<domain::ApiKey>> {
        self.db.fetch_all::<crate::rows::ApiKeyRow>(&format!(
            "SELECT {} FROM api_keys WHERE account_id = $1 AND ($2 IS NULL OR environment = $2) ORDER BY created_at, id",
            crate::rows::API_KEY_COLUMNS
        ), crate::args![account_id.to_string(), environment.map(|e| e.as_str())]).await?
        .into_iter()
        .map(|r| r.into_domain())
        .collect()
    }

    async fn revoke_api_key(
        &self,
        id: uuid::Uuid,
        at: i64,
    ) -> crate::StoreResult<Option<domain::ApiKey>> {
        let mut tx = self.db.begin().await?;
        // The write comes first so SQLite takes its write lock before any read.
        let updated = tx
            .execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                crate::args![at, id.to_string()],
            )
            .await?;
        if updated == 1 {
            let (hash,): (Vec<u8>,) = tx
                .fetch_one(
                    "SELECT secret_hash FROM api_keys WHERE id = $1",
                    crate::args![id.to_string()],
                )
                .await?;
            tx.record_change("api_key.revoked", &id.to_string(), Some(&hash), at)
                .await?;
        }
        let key = tx
            .fetch_optional::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .map(|r| r.into_domain())
            .transpose()?;
        tx.commit().await?;
        Ok(key)
    }

    async fn touch_api_keys(&self, used: &[(uuid::Uuid, i64)]) -> crate::StoreResult<()> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (id, at) in used {
            tx.execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)", crate::args![*at, id.to_string()]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl SqlStore {
    /// Inserts API key rows, a thousand per statement, inside the caller's transaction.
    async fn insert_key_rows(
        tx: &mut crate::db::Tx,
        keys: &[(domain::ApiKey, [u8; 32])],
    ) -> crate::StoreResult<()> {
        for chunk in keys.chunks(1000) {
            let sql = format!(
                "INSERT INTO api_keys (id, account_id, name, environment, prefix, secret_hash, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at) {}",
                crate::db::values(chunk.len(), 12)
            );
            let mut args = crate::db::Args::default();
            for (k, h) in chunk {
                args.push(k.id.to_string())
                    .push(k.account_id.to_string())
                    .push(&k.name)
                    .push(k.environment.as_str())
                    .push(&k.prefix)
                    .push(h)
                    .push(crate::rows::origins_json(&k.cors))
                    .push(k.cors.full_access)
                    .push(k.created_at)
                    .push(k.last_used_at)
                    .push(k.expires_at)
                    .push(k.revoked_at);
            }
            tx.execute(&sql, args)
                .await
                .map_err(|e| crate::map_unique(e, "api key"))?;
        }
        Ok(())
    }
}
