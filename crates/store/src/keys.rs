//! API keys: only their hashes, never a secret.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{SqlStore, StoreResult};
use domain::ApiKey;

/// What a key update makes of the key as it is.
pub type KeyEdit<'a> = dyn Fn(ApiKey) -> Result<ApiKey, domain::Error> + Send + Sync + 'a;

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
    /// Read-modify-write of a live key of the account, in one transaction that locks its row
    /// first, so concurrent updates never lose each other's changes: `edit` gets the key as it
    /// is and returns it changed (name, CORS settings, expiry and policy are written; credits
    /// only when `set_credits`), or refuses. Records a change so every instance drops what it
    /// cached. Returns the key as it now is; None if it is not a live key of that account.
    async fn update_api_key(
        &self,
        id: Uuid,
        account_id: Uuid,
        set_credits: bool,
        edit: &KeyEdit<'_>,
    ) -> StoreResult<Option<ApiKey>>;
    /// Creates `new` and ends `old_id` at `old_until` (revoked at once when `revoke`), in one
    /// transaction, with a change for each. False if `old_id` is not a live key of `new`'s account.
    async fn reroll_api_key(
        &self,
        old_id: Uuid,
        old_until: i64,
        revoke: bool,
        new: &ApiKey,
        new_hash: &[u8; 32],
    ) -> StoreResult<bool>;
    /// Subtracts spent credits (never below 0) and records a change for each key, so every
    /// instance reads what is left.
    async fn spend_credits(&self, spent: &[(Uuid, i64)], at: i64) -> StoreResult<()>;
    /// Restores the credits of keys whose refill is due at `now`; returns how many keys.
    async fn refill_credits(&self, now: i64) -> StoreResult<u64>;
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
            Self::key_changed(&mut tx, "api_key.revoked", &id.to_string(), at).await?;
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

    async fn update_api_key(
        &self,
        id: Uuid,
        account_id: Uuid,
        set_credits: bool,
        edit: &KeyEdit<'_>,
    ) -> StoreResult<Option<ApiKey>> {
        let mut tx = self.db.begin().await?;
        let Some(now) = tx
            .lock_one::<crate::rows::ApiKeyRow>(
                "api_keys",
                crate::rows::API_KEY_COLUMNS,
                "id = $1 AND account_id = $2 AND revoked_at IS NULL",
                || crate::args![id.to_string(), account_id.to_string()],
            )
            .await?
        else {
            return Ok(None);
        };
        let now = now.into_domain()?;
        let k = edit(now).map_err(crate::StoreError::Refused)?;
        let mut args = crate::args![
            k.name.as_str(),
            crate::rows::origins_json(&k.cors),
            k.cors.full_access,
            k.expires_at,
            id.to_string(),
            account_id.to_string()
        ];
        crate::rows::policy_args(&k.policy, &mut args);
        let credits = if set_credits {
            "credits_remaining = $10, credits_refill_interval = $11, credits_refill_amount = $12, credits_refilled_at = $13,"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE api_keys SET name = $1, allowed_origins = $2, full_access = $3, expires_at = $4, \
             permissions = $7, ratelimit_limit = $8, ratelimit_duration_ms = $9, {credits} meta = $14 \
             WHERE id = $5 AND account_id = $6"
        );
        tx.execute(&sql, args).await?;
        Self::key_changed(&mut tx, "api_key.updated", &id.to_string(), k.created_at).await?;
        let key = tx
            .fetch_one::<crate::rows::ApiKeyRow>(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    crate::rows::API_KEY_COLUMNS
                ),
                crate::args![id.to_string()],
            )
            .await?
            .into_domain()?;
        tx.commit().await?;
        Ok(Some(key))
    }

    async fn reroll_api_key(
        &self,
        old_id: Uuid,
        old_until: i64,
        revoke: bool,
        new: &ApiKey,
        new_hash: &[u8; 32],
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let sql = if revoke {
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL"
        } else {
            "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL"
        };
        let ended = tx
            .execute(
                sql,
                crate::args![old_until, old_id.to_string(), new.account_id.to_string()],
            )
            .await?;
        if ended == 0 {
            return Ok(false);
        }
        let kind = if revoke {
            "api_key.revoked"
        } else {
            "api_key.updated"
        };
        Self::key_changed(&mut tx, kind, &old_id.to_string(), new.created_at).await?;
        Self::insert_key_rows(&mut tx, std::slice::from_ref(&(new.clone(), *new_hash))).await?;
        tx.record_change(
            "api_key.created",
            &new.id.to_string(),
            Some(new_hash),
            new.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn spend_credits(&self, spent: &[(Uuid, i64)], at: i64) -> StoreResult<()> {
        if spent.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (id, n) in spent {
            let done = tx
                .execute(
                    "UPDATE api_keys SET credits_remaining = CASE WHEN credits_remaining > $1 THEN credits_remaining - $1 ELSE 0 END \
                     WHERE id = $2 AND credits_remaining IS NOT NULL",
                    crate::args![*n, id.to_string()],
                )
                .await?;
            if done == 1 {
                Self::key_changed(&mut tx, "api_key.credits", &id.to_string(), at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn refill_credits(&self, now: i64) -> StoreResult<u64> {
        let mut tx = self.db.begin().await?;
        let due: Vec<(String,)> = tx
            .fetch_all(
                "SELECT id FROM api_keys WHERE credits_refill_interval IS NOT NULL AND revoked_at IS NULL \
                 AND credits_refilled_at + (CASE credits_refill_interval WHEN 'daily' THEN 86400000 ELSE 2592000000 END) <= $1",
                crate::args![now],
            )
            .await?;
        for (id,) in &due {
            tx.execute(
                "UPDATE api_keys SET credits_remaining = credits_refill_amount, credits_refilled_at = $1 WHERE id = $2",
                crate::args![now, id.as_str()],
            )
            .await?;
            Self::key_changed(&mut tx, "api_key.credits", id, now).await?;
        }
        tx.commit().await?;
        Ok(due.len() as u64)
    }
}

impl SqlStore {
    /// Logs `kind` for key `id` with its hash, so every instance drops its cached copy.
    async fn key_changed(tx: &mut crate::db::Tx, kind: &str, id: &str, at: i64) -> StoreResult<()> {
        let (hash,): (Vec<u8>,) = tx
            .fetch_one(
                "SELECT secret_hash FROM api_keys WHERE id = $1",
                crate::args![id],
            )
            .await?;
        tx.record_change(kind, id, Some(&hash), at).await
    }

    /// Inserts API key rows, a thousand per statement, inside the caller's transaction.
    async fn insert_key_rows(
        tx: &mut crate::db::Tx,
        keys: &[(domain::ApiKey, [u8; 32])],
    ) -> crate::StoreResult<()> {
        for chunk in keys.chunks(1000) {
            let sql = format!(
                "INSERT INTO api_keys (id, account_id, name, environment, prefix, secret_hash, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at, {}) {}",
                crate::rows::POLICY_COLUMNS,
                crate::db::values(chunk.len(), 20)
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
                crate::rows::policy_args(&k.policy, &mut args);
            }
            tx.execute(&sql, args)
                .await
                .map_err(|e| crate::map_unique(e, "api key"))?;
        }
        Ok(())
    }
}
