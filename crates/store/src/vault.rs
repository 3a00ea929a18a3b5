//! The vault's keyring and the sealed columns a rotation re-encrypts.

use async_trait::async_trait;

use crate::SqlStore;

use super::StoreResult;

/// A column holding sealed values. `id` is the SQL expression naming a row as its AAD does.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub id: &'static str,
    pub column: &'static str,
    /// The AAD's table and field (see each service's `*_aad`).
    pub aad_table: &'static str,
    pub aad_field: &'static str,
}

/// Every column holding a vault-sealed value, except restream keys (inside `streams.settings`).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "streams",
        id: "id",
        column: "key_sealed",
        aad_table: "streams",
        aad_field: "stream_key",
    },
    SealedColumn {
        table: "multistream_targets",
        id: "id",
        column: "url_sealed",
        aad_table: "multistream_targets",
        aad_field: "url",
    },
    SealedColumn {
        table: "signing_keys",
        id: "kid",
        column: "private_sealed",
        aad_table: "signing_keys",
        aad_field: "private_key",
    },
    SealedColumn {
        table: "webhooks",
        id: "id",
        column: "secret_sealed",
        aad_table: "webhooks",
        aad_field: "signature_secret",
    },
    SealedColumn {
        table: "edgecast_stream_keys",
        id: "CAST(id AS TEXT)",
        column: "key_sealed",
        aad_table: "edgecast_stream_keys",
        aad_field: "key",
    },
    SealedColumn {
        table: "edgecast_global_keys",
        id: "account_id || ':' || environment",
        column: "key_sealed",
        aad_table: "edgecast_global_keys",
        aad_field: "key",
    },
    SealedColumn {
        table: "upload_tokens",
        id: "token_hash",
        column: "token_sealed",
        aad_table: "upload_tokens",
        aad_field: "token",
    },
    SealedColumn {
        table: "credentials",
        id: "id",
        column: "private_sealed",
        aad_table: "credentials",
        aad_field: "private",
    },
];

/// Change-log kind recorded when the keyring grows.
pub const VAULT_KEY_ADDED: &str = "vault.key_added";

#[async_trait]
pub trait VaultStore: Send + Sync {
    /// `(number, wrapped)`, by number.
    async fn vault_keys(&self) -> StoreResult<Vec<(i64, String)>>;
    /// Adds a keyring entry and records a `vault.key_added` change. Conflict if it exists.
    async fn insert_vault_key(&self, number: i64, wrapped: &str, at: i64) -> StoreResult<()>;
    /// Up to `limit` `(id, sealed)` of `col` not sealed with key `current`.
    async fn stale_sealed(
        &self,
        col: &SealedColumn,
        current: u32,
        limit: i64,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Replaces one sealed value if it is still `old` (a concurrent write wins).
    async fn replace_sealed(
        &self,
        col: &SealedColumn,
        id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// `(id, settings)` of streams with restreams, after `after` by id, at most `limit`.
    async fn streams_with_restreams(
        &self,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<(String, String)>>;
    async fn replace_settings(&self, id: &str, old: &str, new: &str) -> StoreResult<bool>;
    /// How many values are not sealed with key `current` (for progress).
    async fn count_stale(&self, col: &SealedColumn, current: u32) -> StoreResult<i64>;
}

#[async_trait]
impl VaultStore for SqlStore {
    async fn vault_keys(&self) -> crate::StoreResult<Vec<(i64, String)>> {
        Ok(self
            .db
            .fetch_all(
                "SELECT number, wrapped FROM vault_keys ORDER BY number",
                crate::db::Args::default(),
            )
            .await?)
    }

    async fn insert_vault_key(
        &self,
        number: i64,
        wrapped: &str,
        at: i64,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO vault_keys (number, wrapped, created_at) VALUES ($1, $2, $3)",
            crate::args![number, wrapped, at],
        )
        .await
        .map_err(|e| crate::map_unique(e, &format!("vault key {number}")))?;
        tx.record_change(crate::vault::VAULT_KEY_ADDED, &number.to_string(), None, at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stale_sealed(
        &self,
        col: &crate::vault::SealedColumn,
        current: u32,
        limit: i64,
    ) -> crate::StoreResult<Vec<(String, String)>> {
        Ok(self
            .db
            .fetch_all(
                &format!(
                    "SELECT {id}, {c} FROM {t} WHERE {c} NOT LIKE $1 LIMIT $2",
                    id = col.id,
                    c = col.column,
                    t = col.table
                ),
                crate::args![format!("v1.{current}.%"), limit],
            )
            .await?)
    }

    async fn replace_sealed(
        &self,
        col: &crate::vault::SealedColumn,
        id: &str,
        old: &str,
        new: &str,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                &format!(
                    "UPDATE {t} SET {c} = $1 WHERE {id} = $2 AND {c} = $3",
                    id = col.id,
                    c = col.column,
                    t = col.table
                ),
                crate::args![new, id, old],
            )
            .await?;
        Ok(done == 1)
    }

    async fn streams_with_restreams(
        &self,
        after: &str,
        limit: i64,
    ) -> crate::StoreResult<Vec<(String, String)>> {
        Ok(self.db.fetch_all("SELECT id, settings FROM streams WHERE settings LIKE '%streamKeySealed%' AND id > $1 ORDER BY id LIMIT $2", crate::args![after, limit]).await?)
    }

    async fn replace_settings(&self, id: &str, old: &str, new: &str) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "UPDATE streams SET settings = $1 WHERE id = $2 AND settings = $3",
                crate::args![new, id, old],
            )
            .await?;
        Ok(done == 1)
    }

    async fn count_stale(
        &self,
        col: &crate::vault::SealedColumn,
        current: u32,
    ) -> crate::StoreResult<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                &format!(
                    "SELECT COUNT(*) FROM {t} WHERE {c} NOT LIKE $1",
                    c = col.column,
                    t = col.table
                ),
                crate::args![format!("v1.{current}.%")],
            )
            .await?;
        Ok(n)
    }
}
