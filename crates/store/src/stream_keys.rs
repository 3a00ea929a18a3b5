//! Edgecast stream keys and global keys, as the store keeps them (keys sealed by the vault).

use async_trait::async_trait;

use crate::db::Tx;
use crate::SqlStore;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::edgecast::{instance_of, instance_owner_name};
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
    /// Conflict when the id or the DirPath (per account and environment) is taken; Owned when
    /// another account (or environment) owns the DirPath's instance, else the instance becomes
    /// (or stays) the key's scope's. Like update and delete, records a `STREAM_KEY_CHANGED`
    /// change in the same transaction.
    async fn insert_stream_key(&self, k: &StreamKeyRecord) -> StoreResult<()>;
    async fn stream_key(&self, scope: Scope, id: i64) -> StoreResult<Option<StreamKeyRecord>>;
    async fn list_stream_keys(&self, scope: Scope) -> StoreResult<Vec<StreamKeyRecord>>;
    /// The stream keys whose DirPath could match `instance` (ingest lookups): only those of the
    /// instance's owner, whatever other accounts kept there from before ownership existed.
    async fn stream_keys_for_instance(&self, instance: &str) -> StoreResult<Vec<StreamKeyRecord>>;
    /// Writes dir_path, key_sealed, updated_at of a key of the scope; false when there is none.
    /// Owned when another scope owns the new DirPath's instance; the old instance is released
    /// when the scope has no DirPath left in it.
    async fn update_stream_key(&self, k: &StreamKeyRecord) -> StoreResult<bool>;
    /// Releases the instance when it was the scope's last DirPath there.
    async fn delete_stream_key(&self, scope: Scope, id: i64, at: i64) -> StoreResult<bool>;
    /// Who owns an instance (any case), if anyone.
    async fn instance_owner(&self, instance: &str) -> StoreResult<Option<Scope>>;
    async fn global_key(&self, scope: Scope) -> StoreResult<Option<String>>;
    async fn set_global_key(&self, scope: Scope, key_sealed: &str, at: i64) -> StoreResult<()>;
}

fn scope_of(account_id: &str, environment: &str) -> StoreResult<Scope> {
    Ok(Scope {
        account_id: Uuid::parse_str(account_id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        environment: Environment::parse(environment)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Instance ownership, inside a stream key's write transaction. Every writer locks the
/// instance's row before it reads who owns it or whether DirPaths are left in it, so a claim
/// and a release of one instance never interleave.
impl SqlStore {
    /// Makes `scope` the owner of `dir_path`'s instance if nobody is, and locks the row; Owned
    /// when another scope is.
    async fn claim_instance(tx: &mut Tx, dir_path: &str, scope: Scope, at: i64) -> StoreResult<()> {
        let instance = instance_of(dir_path);
        let owned = instance_owner_name(instance);
        // On a conflict, the no-op update takes the row's lock (a plain DO NOTHING would not).
        tx.execute(
            "INSERT INTO edgecast_instances (instance, account_id, environment, claimed_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (instance) DO UPDATE SET claimed_at = edgecast_instances.claimed_at",
            crate::args![
                owned.as_str(),
                scope.account_id.to_string(),
                scope.environment.as_str(),
                at
            ],
        )
        .await?;
        let (account_id, environment): (String, String) = tx
            .fetch_one(
                "SELECT account_id, environment FROM edgecast_instances WHERE instance = $1",
                crate::args![owned.as_str()],
            )
            .await?;
        let owner = scope_of(&account_id, &environment)?;
        if owner == scope {
            return Ok(());
        }
        let whose = if owner.account_id == scope.account_id {
            format!("this account's {} environment", owner.environment.as_str())
        } else {
            "another account".to_string()
        };
        Err(StoreError::Owned(format!(
            "The instance {instance} belongs to {whose}: a DirPath may only use instances its own account and environment own."
        )))
    }

    /// Locks an instance's row (if it has one) for the rest of the transaction.
    async fn lock_instance(tx: &mut Tx, owned: &str) -> StoreResult<()> {
        tx.execute(
            "UPDATE edgecast_instances SET claimed_at = claimed_at WHERE instance = $1",
            crate::args![owned],
        )
        .await?;
        Ok(())
    }

    /// Ends `scope`'s ownership of an instance (locked by the caller) when it has no DirPath
    /// left there.
    async fn release_instance(tx: &mut Tx, owned: &str, scope: Scope) -> StoreResult<()> {
        let c = tx.backend().bytewise();
        tx.execute(
            &format!(
                "DELETE FROM edgecast_instances WHERE instance = $1 AND account_id = $2 \
                 AND environment = $3 AND NOT EXISTS (SELECT 1 FROM edgecast_stream_keys \
                     WHERE account_id = $2 AND environment = $3 \
                     AND lower(dir_path){c} >= $4 AND lower(dir_path){c} < $5)"
            ),
            crate::args![
                owned,
                scope.account_id.to_string(),
                scope.environment.as_str(),
                format!("{owned}/"),
                format!("{owned}0")
            ],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl StreamKeyStore for SqlStore {
    async fn insert_stream_key(
        &self,
        k: &crate::stream_keys::StreamKeyRecord,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let scope = Scope {
            account_id: k.account_id,
            environment: k.environment,
        };
        Self::claim_instance(&mut tx, &k.dir_path, scope, k.updated_at).await?;
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
            "SELECT {} FROM edgecast_stream_keys k WHERE dir_path{c} >= $1 AND dir_path{c} < $2 \
             AND EXISTS (SELECT 1 FROM edgecast_instances o WHERE o.instance = $3 \
                 AND o.account_id = k.account_id AND o.environment = k.environment) \
             ORDER BY id LIMIT 10000",
            crate::stream_keys::STREAM_KEY_COLUMNS
        ),
                crate::args![
                    format!("{instance}/"),
                    format!("{instance}0"),
                    instance_owner_name(instance)
                ],
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
        let scope = Scope {
            account_id: k.account_id,
            environment: k.environment,
        };
        let mut tx = self.db.begin().await?;
        let Some((old,)) = tx
            .fetch_optional::<(String,)>(
                "SELECT dir_path FROM edgecast_stream_keys \
                 WHERE id = $1 AND account_id = $2 AND environment = $3",
                crate::args![k.id, k.account_id.to_string(), k.environment.as_str()],
            )
            .await?
        else {
            return Ok(false);
        };
        let (old_owned, new_owned) = (
            instance_owner_name(instance_of(&old)),
            instance_owner_name(instance_of(&k.dir_path)),
        );
        let moved = old_owned != new_owned;
        // Instance rows are locked in name order, so two moves in opposite directions cannot
        // deadlock.
        if moved && old_owned < new_owned {
            Self::lock_instance(&mut tx, &old_owned).await?;
        }
        Self::claim_instance(&mut tx, &k.dir_path, scope, k.updated_at).await?;
        if moved && old_owned > new_owned {
            Self::lock_instance(&mut tx, &old_owned).await?;
        }
        tx.execute(
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
        .map_err(|e| crate::map_unique(e, &format!("a stream key for DirPath {}", k.dir_path)))?;
        if moved {
            Self::release_instance(&mut tx, &old_owned, scope).await?;
        }
        tx.record_change(
            crate::stream_keys::STREAM_KEY_CHANGED,
            &k.id.to_string(),
            None,
            k.updated_at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_stream_key(
        &self,
        scope: crate::Scope,
        id: i64,
        at: i64,
    ) -> crate::StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let Some((dir_path,)) = tx
            .fetch_optional::<(String,)>(
                "SELECT dir_path FROM edgecast_stream_keys \
                 WHERE id = $1 AND account_id = $2 AND environment = $3",
                crate::args![id, scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?
        else {
            return Ok(false);
        };
        let owned = instance_owner_name(instance_of(&dir_path));
        Self::lock_instance(&mut tx, &owned).await?;
        let done = tx
            .execute(
                "DELETE FROM edgecast_stream_keys WHERE id = $1 AND account_id = $2 AND environment = $3",
                crate::args![id, scope.account_id.to_string(), scope.environment.as_str()],
            )
            .await?;
        if done != 1 {
            return Ok(false);
        }
        Self::release_instance(&mut tx, &owned, scope).await?;
        tx.record_change(
            crate::stream_keys::STREAM_KEY_CHANGED,
            &id.to_string(),
            None,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn instance_owner(&self, instance: &str) -> crate::StoreResult<Option<Scope>> {
        let row: Option<(String, String)> = self
            .db
            .fetch_optional(
                "SELECT account_id, environment FROM edgecast_instances WHERE instance = $1",
                crate::args![instance_owner_name(instance)],
            )
            .await?;
        row.map(|(a, e)| scope_of(&a, &e)).transpose()
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
