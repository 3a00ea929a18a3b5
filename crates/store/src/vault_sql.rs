//! SQL for the vault's keyring and re-encryption, shared by both backends like `sql.rs`. Table and
//! column names come from the fixed `SEALED_COLUMNS` list, never from input.

use crate::SqlStore;

#[async_trait::async_trait]
impl crate::vault::VaultStore for SqlStore {
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
}
