//! Edgecast DCP stream keys and the account's global key, in the caller's (account, environment).
//! Keys are sealed by the vault; every write is audited.

use rand::Rng;
use uuid::Uuid;

use super::Services;
use crypto::{Aad, SecretString};
use domain::edgecast::{instance_of, validate_dir_path, validate_key};
use domain::{Action, Permission, Resource};
use domain::{Actor, Environment, Error};
use store::{Scope, StreamKeyRecord};

/// A stream key with its secret opened.
#[derive(Debug, Clone)]
pub struct StreamKey {
    pub id: i64,
    pub account_id: Uuid,
    pub environment: Environment,
    pub dir_path: String,
    pub key: SecretString,
}

fn key_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "edgecast_stream_keys",
        id,
        field: "key",
    }
}

fn global_aad(scope: &str) -> Aad<'_> {
    Aad {
        table: "edgecast_global_keys",
        id: scope,
        field: "key",
    }
}

/// Ids the platform shows as integers: random, positive, exactly representable in JavaScript.
fn new_id() -> i64 {
    rand::rngs::OsRng.gen_range(100_000..(1_i64 << 53))
}

impl Services {
    /// Is `app` where stream-key publishes go (no DirPath may govern it)?
    pub fn is_stream_key_app(&self, app: &str) -> bool {
        self.settings
            .stream_key_apps
            .iter()
            .any(|a| a.eq_ignore_ascii_case(app))
    }

    /// A DirPath's instance may not be one where stream keys publish (any case).
    fn check_not_stream_key_app(&self, dir_path: &str) -> Result<(), Error> {
        let instance = instance_of(dir_path);
        if self.is_stream_key_app(instance) {
            return Err(Error::Owned(format!(
                "The instance {instance} is where this server's stream keys publish: it cannot have DirPaths."
            )));
        }
        if self.is_job_app(instance) {
            return Err(Error::Owned(format!(
                "The instance {instance} is where this server's live jobs publish: it cannot have DirPaths."
            )));
        }
        Ok(())
    }

    fn open_stream_key(&self, r: StreamKeyRecord) -> Result<StreamKey, Error> {
        let key = self
            .vault
            .open(&key_aad(&r.id.to_string()), &r.key_sealed)
            .map_err(|e| Error::Internal(format!("stream key {}: {e}", r.id)))?;
        Ok(StreamKey {
            id: r.id,
            account_id: r.account_id,
            environment: r.environment,
            dir_path: r.dir_path,
            key,
        })
    }

    pub async fn create_stream_key(
        &self,
        actor: &Actor,
        dir_path: &str,
        key: SecretString,
    ) -> Result<StreamKey, Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Create))?;
        let dir_path = validate_dir_path(dir_path)?;
        validate_key(key.expose())?;
        self.check_not_stream_key_app(&dir_path)?;
        let now = self.now_ms();
        let id = new_id();
        let rec = StreamKeyRecord {
            id,
            account_id: actor.account_id(),
            environment: actor.environment(),
            dir_path: dir_path.clone(),
            key_sealed: self.vault.seal(&key_aad(&id.to_string()), key.expose()),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_stream_key(&rec).await?;
        self.apply_changes().await;
        self.audit_by(
            actor,
            "edgecast.stream_key.create",
            format!("stream_key:{id}"),
        )
        .await;
        Ok(StreamKey {
            id,
            account_id: rec.account_id,
            environment: rec.environment,
            dir_path,
            key,
        })
    }

    pub async fn list_stream_keys(&self, actor: &Actor) -> Result<Vec<StreamKey>, Error> {
        actor.require(Permission(Resource::StreamKeys, Action::List))?;
        self.store
            .list_stream_keys(Scope::of(actor))
            .await?
            .into_iter()
            .map(|r| self.open_stream_key(r))
            .collect()
    }

    pub async fn get_stream_key(&self, actor: &Actor, id: i64) -> Result<StreamKey, Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Read))?;
        let r = self
            .store
            .stream_key(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("stream key"))?;
        self.open_stream_key(r)
    }

    pub async fn update_stream_key(
        &self,
        actor: &Actor,
        id: i64,
        dir_path: &str,
        key: SecretString,
    ) -> Result<StreamKey, Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Update))?;
        let dir_path = validate_dir_path(dir_path)?;
        validate_key(key.expose())?;
        self.check_not_stream_key_app(&dir_path)?;
        let mut rec = self
            .store
            .stream_key(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("stream key"))?;
        rec.dir_path = dir_path;
        rec.key_sealed = self.vault.seal(&key_aad(&id.to_string()), key.expose());
        rec.updated_at = self.now_ms();
        if !self.store.update_stream_key(&rec).await? {
            return Err(Error::NotFound("stream key"));
        }
        self.apply_changes().await;
        self.audit_by(
            actor,
            "edgecast.stream_key.update",
            format!("stream_key:{id}"),
        )
        .await;
        Ok(StreamKey {
            id,
            account_id: rec.account_id,
            environment: rec.environment,
            dir_path: rec.dir_path,
            key,
        })
    }

    pub async fn delete_stream_key(&self, actor: &Actor, id: i64) -> Result<(), Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Delete))?;
        if !self
            .store
            .delete_stream_key(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("stream key"));
        }
        self.apply_changes().await;
        self.audit_by(
            actor,
            "edgecast.stream_key.delete",
            format!("stream_key:{id}"),
        )
        .await;
        Ok(())
    }

    pub async fn global_key(&self, actor: &Actor) -> Result<Option<SecretString>, Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Read))?;
        let s = Scope::of(actor);
        let aad_id = format!("{}:{}", s.account_id, s.environment);
        self.store
            .global_key(s)
            .await?
            .map(|sealed| {
                self.vault
                    .open(&global_aad(&aad_id), &sealed)
                    .map_err(|e| Error::Internal(format!("global key: {e}")))
            })
            .transpose()
    }

    pub async fn set_global_key(&self, actor: &Actor, key: SecretString) -> Result<(), Error> {
        actor.require(Permission(Resource::StreamKeys, Action::Update))?;
        validate_key(key.expose())?;
        let s = Scope::of(actor);
        let aad_id = format!("{}:{}", s.account_id, s.environment);
        let sealed = self.vault.seal(&global_aad(&aad_id), key.expose());
        self.store.set_global_key(s, &sealed, self.now_ms()).await?;
        self.audit_by(
            actor,
            "edgecast.global_key.update",
            format!("account:{}", s.account_id),
        )
        .await;
        Ok(())
    }
}
