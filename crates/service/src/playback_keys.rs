//! Playback signing keys (Livepeer's access-control keys): made here, the private half handed
//! out once and never kept; the public half stored and used to verify playback JWTs
//! (`playback`). Disabling or deleting a key logs a change, so every instance stops honouring
//! its JWTs within a change-follower interval.

use uuid::Uuid;

use super::Services;
use crypto::playback_jwt;
use crypto::{sha256, SecretString};
use domain::playback::validate_key_name;
use domain::{Action, Actor, Error, Permission, PlaybackKey, Resource};
use store::{PlaybackKeyPatch, Scope};

/// At most this many signing keys per account and environment.
pub const MAX_KEYS: usize = 100;

/// A key just made: the private half is in it, and nowhere else.
#[derive(Debug)]
pub struct CreatedPlaybackKey {
    pub key: PlaybackKey,
    /// Base64 of the PKCS#8 PEM; `SecretString` never prints it.
    pub private_key: SecretString,
}

/// A short fingerprint of a public key for people to tell keys apart: the first 16 hex digits
/// of the SHA-256 of its stored text. (The text itself starts with the same PEM header for
/// every key, so its own first characters would not tell them apart.)
pub fn fingerprint(public_key: &str) -> String {
    sha256(public_key.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Services {
    pub async fn create_playback_key(
        &self,
        actor: &Actor,
        name: Option<&str>,
    ) -> Result<CreatedPlaybackKey, Error> {
        actor.require(Permission(Resource::SigningKeys, Action::Create))?;
        let scope = Scope::of(actor);
        let existing = self.store.list_playback_keys(scope).await?;
        if existing.len() >= MAX_KEYS {
            return Err(Error::Invalid(format!(
                "at most {MAX_KEYS} signing keys per account: delete one first"
            )));
        }
        let name = match name.map(validate_key_name).transpose()? {
            Some(n) if !n.is_empty() => n,
            _ => format!("Signing Key {}", existing.len() + 1),
        };
        let pair =
            playback_jwt::generate().map_err(|e| Error::Internal(format!("signing key: {e}")))?;
        let key = PlaybackKey {
            id: Uuid::now_v7(),
            account_id: actor.account_id(),
            environment: actor.environment(),
            name,
            public_key: pair.public_key,
            disabled: false,
            created_at: self.now_ms(),
            last_seen_at: None,
        };
        self.store
            .insert_playback_key(&key, &sha256(key.public_key.as_bytes()))
            .await?;
        self.apply_changes().await;
        self.audit_by(
            actor,
            "signing_key.create",
            format!("signing_key:{}", key.id),
        )
        .await;
        Ok(CreatedPlaybackKey {
            key,
            private_key: pair.private_key,
        })
    }

    pub async fn list_playback_keys(&self, actor: &Actor) -> Result<Vec<PlaybackKey>, Error> {
        actor.require(Permission(Resource::SigningKeys, Action::List))?;
        Ok(self.store.list_playback_keys(Scope::of(actor)).await?)
    }

    pub async fn get_playback_key(&self, actor: &Actor, id: Uuid) -> Result<PlaybackKey, Error> {
        actor.require(Permission(Resource::SigningKeys, Action::Read))?;
        self.store
            .playback_key(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("signing key"))
    }

    /// Renames, disables or enables a key. Takes effect on every instance within a second.
    pub async fn update_playback_key(
        &self,
        actor: &Actor,
        id: Uuid,
        name: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<PlaybackKey, Error> {
        actor.require(Permission(Resource::SigningKeys, Action::Update))?;
        let name = name.map(validate_key_name).transpose()?;
        if name.as_deref() == Some("") {
            return Err(Error::Invalid("signing key name must not be empty".into()));
        }
        let patch = PlaybackKeyPatch { name, disabled };
        let key = self
            .store
            .update_playback_key(Scope::of(actor), id, &patch, self.now_ms())
            .await?
            .ok_or(Error::NotFound("signing key"))?;
        self.apply_changes().await;
        let what = match disabled {
            Some(true) => "signing_key.disable",
            Some(false) => "signing_key.enable",
            None => "signing_key.update",
        };
        self.audit_by(actor, what, format!("signing_key:{id}"))
            .await;
        Ok(key)
    }

    pub async fn delete_playback_key(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::SigningKeys, Action::Delete))?;
        if !self
            .store
            .delete_playback_key(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("signing key"));
        }
        self.apply_changes().await;
        self.audit_by(actor, "signing_key.delete", format!("signing_key:{id}"))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints_are_short_hex_and_tell_keys_apart() {
        let a = fingerprint("LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0Ka");
        let b = fingerprint("LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0Kb");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
