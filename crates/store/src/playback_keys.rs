//! Playback signing keys: the public half only, looked up by the SHA-256 of the public key as
//! playback JWTs name it (`pub`). Every change logs `playback_key.changed` with that hash, so
//! every instance drops its copy: a disabled or deleted key stops verifying everywhere within a
//! change-follower interval.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Scope, SqlStore, StoreResult};
use domain::PlaybackKey;

/// The change-log kind of a signing key created, changed or deleted.
pub const PLAYBACK_KEY_CHANGED: &str = "playback_key.changed";

/// What an update changes (None: left as it is).
#[derive(Debug, Clone, Default)]
pub struct PlaybackKeyPatch {
    pub name: Option<String>,
    pub disabled: Option<bool>,
}

#[async_trait]
pub trait PlaybackKeyStore: Send + Sync {
    /// Inserts the key and logs the change.
    async fn insert_playback_key(&self, k: &PlaybackKey, public_hash: &[u8; 32])
        -> StoreResult<()>;
    async fn playback_key(&self, scope: Scope, id: Uuid) -> StoreResult<Option<PlaybackKey>>;
    /// The key whose public key (as JWTs name it) hashes to `hash`, in any account.
    async fn playback_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<PlaybackKey>>;
    /// The scope's keys, oldest first.
    async fn list_playback_keys(&self, scope: Scope) -> StoreResult<Vec<PlaybackKey>>;
    /// Applies `patch` and logs the change, in one transaction. None: no such key in the scope.
    async fn update_playback_key(
        &self,
        scope: Scope,
        id: Uuid,
        patch: &PlaybackKeyPatch,
        at: i64,
    ) -> StoreResult<Option<PlaybackKey>>;
    /// Deletes the key and logs the change. False: no such key in the scope.
    async fn delete_playback_key(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool>;
}

const COLUMNS: &str =
    "id, account_id, environment, name, public_key, disabled, created_at, last_seen_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    account_id: String,
    environment: String,
    name: String,
    public_key: String,
    disabled: bool,
    created_at: i64,
    last_seen_at: Option<i64>,
}

impl Row {
    fn into_domain(self) -> StoreResult<PlaybackKey> {
        Ok(PlaybackKey {
            id: crate::rows::uuid(&self.id)?,
            account_id: crate::rows::uuid(&self.account_id)?,
            environment: domain::Environment::parse(&self.environment)
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
            name: self.name,
            public_key: self.public_key,
            disabled: self.disabled,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
        })
    }
}

#[async_trait]
impl PlaybackKeyStore for SqlStore {
    async fn insert_playback_key(
        &self,
        k: &PlaybackKey,
        public_hash: &[u8; 32],
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO playback_keys (id, account_id, environment, name, public_key, public_key_hash, disabled, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            crate::args![
                k.id.to_string(),
                k.account_id.to_string(),
                k.environment.as_str(),
                k.name.as_str(),
                k.public_key.as_str(),
                public_hash.to_vec(),
                k.disabled,
                k.created_at,
                k.last_seen_at
            ],
        )
        .await?;
        tx.record_change(
            PLAYBACK_KEY_CHANGED,
            &k.id.to_string(),
            Some(public_hash),
            k.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn playback_key(&self, scope: Scope, id: Uuid) -> StoreResult<Option<PlaybackKey>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM playback_keys WHERE id = $1 AND account_id = $2 AND environment = $3"),
                crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn playback_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<PlaybackKey>> {
        self.db
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM playback_keys WHERE public_key_hash = $1"),
                crate::args![hash.to_vec()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()
    }

    async fn list_playback_keys(&self, scope: Scope) -> StoreResult<Vec<PlaybackKey>> {
        self.db
            .fetch_all::<Row>(
                &format!("SELECT {COLUMNS} FROM playback_keys WHERE account_id = $1 AND environment = $2 ORDER BY created_at, id"),
                crate::args![scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
            .into_iter()
            .map(Row::into_domain)
            .collect()
    }

    async fn update_playback_key(
        &self,
        scope: Scope,
        id: Uuid,
        patch: &PlaybackKeyPatch,
        at: i64,
    ) -> StoreResult<Option<PlaybackKey>> {
        let mut tx = self.db.begin().await?;
        // The write comes first so SQLite takes its write lock before any read.
        let updated = tx
            .execute(
                "UPDATE playback_keys SET name = COALESCE($1, name), disabled = COALESCE($2, disabled) WHERE id = $3 AND account_id = $4 AND environment = $5",
                crate::args![
                    patch.name.clone(),
                    patch.disabled,
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        if updated == 0 {
            return Ok(None);
        }
        let (hash,): (Vec<u8>,) = tx
            .fetch_one(
                "SELECT public_key_hash FROM playback_keys WHERE id = $1",
                crate::args![id.to_string()],
            )
            .await?;
        tx.record_change(PLAYBACK_KEY_CHANGED, &id.to_string(), Some(&hash), at)
            .await?;
        let key = tx
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM playback_keys WHERE id = $1"),
                crate::args![id.to_string()],
            )
            .await?
            .map(Row::into_domain)
            .transpose()?;
        tx.commit().await?;
        Ok(key)
    }

    async fn delete_playback_key(&self, scope: Scope, id: Uuid, at: i64) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let found: Option<(Vec<u8>,)> = tx
            .fetch_optional(
                "DELETE FROM playback_keys WHERE id = $1 AND account_id = $2 AND environment = $3 RETURNING public_key_hash",
                crate::args![id.to_string(), scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?;
        let Some((hash,)) = found else {
            return Ok(false);
        };
        tx.record_change(PLAYBACK_KEY_CHANGED, &id.to_string(), Some(&hash), at)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
