//! Edgecast stream keys and global keys, as the store keeps them (keys sealed by the vault).

use async_trait::async_trait;
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
