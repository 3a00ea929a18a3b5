//! Edgecast stream keys and global keys, as the store keeps them (keys sealed by the vault).

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::Environment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKeyRecord {
    pub id: i64,
    pub account_id: Uuid,
    pub environment: Environment,
    pub dir_path: String,
    pub key_sealed: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Change-log kind recorded (in the same transaction) when a stream key is created, changed or
/// deleted: the ingest hooks' DirPath cache drops what it holds.
pub const STREAM_KEY_CHANGED: &str = "edgecast.stream_key.changed";

pub const STREAM_KEY_COLUMNS: &str =
    "id, account_id, environment, dir_path, key_sealed, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub struct StreamKeyRow {
    id: i64,
    account_id: String,
    environment: String,
    dir_path: String,
    key_sealed: String,
    created_at: i64,
    updated_at: i64,
}

impl StreamKeyRow {
    pub fn into_record(self) -> StoreResult<StreamKeyRecord> {
        Ok(StreamKeyRecord {
            id: self.id,
            account_id: Uuid::parse_str(&self.account_id)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            environment: Environment::parse(&self.environment)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            dir_path: self.dir_path,
            key_sealed: self.key_sealed,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
pub trait StreamKeyStore: Send + Sync {
    /// Conflict when the id or the DirPath (per account and environment) is taken. Like update
    /// and delete, records a `STREAM_KEY_CHANGED` change.
    async fn insert_stream_key(&self, k: &StreamKeyRecord) -> StoreResult<()>;
    async fn stream_key(&self, scope: Scope, id: i64) -> StoreResult<Option<StreamKeyRecord>>;
    async fn list_stream_keys(&self, scope: Scope) -> StoreResult<Vec<StreamKeyRecord>>;
    /// Every stream key of every account whose DirPath could match `instance` (ingest lookups).
    async fn stream_keys_for_instance(&self, instance: &str) -> StoreResult<Vec<StreamKeyRecord>>;
    /// Writes dir_path, key_sealed, updated_at of a key of the scope; false when there is none.
    async fn update_stream_key(&self, k: &StreamKeyRecord) -> StoreResult<bool>;
    async fn delete_stream_key(&self, scope: Scope, id: i64, at: i64) -> StoreResult<bool>;
    async fn global_key(&self, scope: Scope) -> StoreResult<Option<String>>;
    async fn set_global_key(&self, scope: Scope, key_sealed: &str, at: i64) -> StoreResult<()>;
}

#[async_trait]
impl StreamKeyStore for SqlStore {
    async fn insert_stream_key(
        &self,
        k: &crate::stream_keys::StreamKeyRecord,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            &format!(
                "INSERT INTO edgecast_stream_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                crate::stream_keys::STREAM_KEY_COLUMNS
            ),
            crate::args![
                k.id,
                k.account_id.to_string(),
                k.environment.as_str(),
                &k.dir_path,
                &k.key_sealed,
                k.created_at,
                k.updated_at
            ],
        )
        .await
        .map_err(|e| crate::map_unique(e, &format!("a stream key for DirPath {}", k.dir_path)))?;
        tx.record_change(
            crate::stream_keys::STREAM_KEY_CHANGED,
            &k.id.to_string(),
            None,
            k.updated_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stream_key(
        &self,
        scope: crate::Scope,
        id: i64,
    ) -> crate::StoreResult<Option<crate::stream_keys::StreamKeyRecord>> {
        self.db.fetch_optional::<crate::stream_keys::StreamKeyRow>(&format!(
            "SELECT {} FROM edgecast_stream_keys WHERE id = $1 AND account_id = $2 AND environment = $3",
            crate::stream_keys::STREAM_KEY_COLUMNS
        ), crate::args![id, scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn list_stream_keys(
        &self,
        scope: crate::Scope,
    ) -> crate::StoreResult<Vec<crate::stream_keys::StreamKeyRecord>> {
        self.db.fetch_all::<crate::stream_keys::StreamKeyRow>(&format!(
            "SELECT {} FROM edgecast_stream_keys WHERE account_id = $1 AND environment = $2 ORDER BY created_at, id LIMIT 10000",
            crate::stream_keys::STREAM_KEY_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str()]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn stream_keys_for_instance(
        &self,
        instance: &str,
    ) -> crate::StoreResult<Vec<crate::stream_keys::StreamKeyRecord>> {
        // A bytewise range rather than `LIKE 'instance/%'`: the instance comes from the
        // media server (it may hold `%` or `_`), and SQLite recompiles a LIKE statement
        // for every new pattern. '0' is the byte after '/'.
        let c = self.db.backend().bytewise();
        self.db
            .fetch_all::<crate::stream_keys::StreamKeyRow>(
                &format!(
            "SELECT {} FROM edgecast_stream_keys WHERE dir_path{c} >= $1 AND dir_path{c} < $2 \
             ORDER BY id LIMIT 10000",
            crate::stream_keys::STREAM_KEY_COLUMNS
        ),
                crate::args![format!("{instance}/"), format!("{instance}0")],
            )
            .await?
            .into_iter()
            .map(|r| r.into_record())
            .collect()
    }

    async fn update_stream_key(
        &self,
        k: &crate::stream_keys::StreamKeyRecord,
    ) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let done = tx
            .execute(
                "UPDATE edgecast_stream_keys SET dir_path = $1, key_sealed = $2, updated_at = $3 \
             WHERE id = $4 AND account_id = $5 AND environment = $6",
                crate::args![
                    &k.dir_path,
                    &k.key_sealed,
                    k.updated_at,
                    k.id,
                    k.account_id.to_string(),
                    k.environment.as_str()
                ],
            )
            .await
            .map_err(|e| {
                crate::map_unique(e, &format!("a stream key for DirPath {}", k.dir_path))
            })?;
        let updated = done == 1;
        if updated {
            tx.record_change(
                crate::stream_keys::STREAM_KEY_CHANGED,
                &k.id.to_string(),
                None,
                k.updated_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_stream_key(
        &self,
        scope: crate::Scope,
        id: i64,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let done = tx.execute("DELETE FROM edgecast_stream_keys WHERE id = $1 AND account_id = $2 AND environment = $3", crate::args![id, scope.account_id.to_string(), scope.environment.as_str()]).await?;
        let deleted = done == 1;
        if deleted {
            tx.record_change(
                crate::stream_keys::STREAM_KEY_CHANGED,
                &id.to_string(),
                None,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn global_key(&self, scope: crate::Scope) -> crate::StoreResult<Option<String>> {
        let row: Option<(String,)> = self.db.fetch_optional("SELECT key_sealed FROM edgecast_global_keys WHERE account_id = $1 AND environment = $2", crate::args![scope.account_id.to_string(), scope.environment.as_str()]).await?;
        Ok(row.map(|r| r.0))
    }

    async fn set_global_key(
        &self,
        scope: crate::Scope,
        key_sealed: &str,
        at: i64,
    ) -> crate::StoreResult<()> {
        self.db.execute("INSERT INTO edgecast_global_keys (account_id, environment, key_sealed, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, environment) DO UPDATE SET key_sealed = excluded.key_sealed, updated_at = excluded.updated_at", crate::args![scope.account_id.to_string(), scope.environment.as_str(), key_sealed, at]).await?;
        Ok(())
    }
}
