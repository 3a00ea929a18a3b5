//! Brightcove credentials of the caller's (account, environment): typed secrets, referenced by
//! label or as the default of their type. The private half is sealed; every write is audited.

use uuid::Uuid;

use super::Services;
use crypto::{Aad, SecretString};
use domain::credential::{validate, Credential, CredentialType};
use domain::{Action, Permission, Resource};
use domain::{Actor, Environment, Error};
use store::{CredentialRecord, Scope};

/// What a caller sends to create or replace a credential. On a replace, `private: None` keeps
/// the stored secret (it is never shown, so clients cannot echo it back).
#[derive(Debug, Clone)]
pub struct CredentialInput {
    pub user_id: Option<String>,
    pub label: String,
    pub kind: CredentialType,
    pub public: String,
    pub private: Option<SecretString>,
    pub default_for_type: bool,
    pub token_url: Option<String>,
}

/// How later features name a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRef<'a> {
    Label(&'a str),
    DefaultOf(CredentialType),
}

fn private_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "credentials",
        id,
        field: "private",
    }
}

impl Services {
    fn open_credential(&self, r: CredentialRecord) -> Result<Credential, Error> {
        let private = self
            .vault
            .open(&private_aad(&r.id.to_string()), &r.private_sealed)
            .map_err(|e| Error::Internal(format!("credential {}: {e}", r.id)))?;
        Ok(Credential {
            id: r.id,
            account_id: r.account_id,
            environment: r.environment,
            user_id: r.user_id,
            label: r.label,
            kind: CredentialType::parse(&r.kind)?,
            public: r.public_value,
            private,
            default_for_type: r.default_for_type,
            token_url: r.token_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    fn seal_credential(&self, c: &Credential) -> CredentialRecord {
        CredentialRecord {
            id: c.id,
            account_id: c.account_id,
            environment: c.environment,
            user_id: c.user_id.clone(),
            label: c.label.clone(),
            kind: c.kind.as_str().into(),
            public_value: c.public.clone(),
            private_sealed: self
                .vault
                .seal(&private_aad(&c.id.to_string()), c.private.expose()),
            default_for_type: c.default_for_type,
            token_url: c.token_url.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }

    pub async fn create_credential(
        &self,
        actor: &Actor,
        input: CredentialInput,
    ) -> Result<Credential, Error> {
        actor.require(Permission(Resource::Credentials, Action::Create))?;
        let now = self.now_ms();
        let c = Credential {
            id: Uuid::now_v7(),
            account_id: actor.account_id(),
            environment: actor.environment(),
            user_id: input.user_id,
            label: input.label.trim().to_string(),
            kind: input.kind,
            public: input.public,
            private: input
                .private
                .ok_or_else(|| Error::Invalid("credential_private is required".into()))?,
            default_for_type: input.default_for_type,
            token_url: input.token_url,
            created_at: now,
            updated_at: now,
        };
        validate(&c)?;
        self.store
            .insert_credential(&self.seal_credential(&c))
            .await?;
        self.audit_by(
            actor,
            "brightcove.credential.create",
            format!("credential:{}", c.id),
        )
        .await;
        Ok(c)
    }

    pub async fn update_credential(
        &self,
        actor: &Actor,
        id: Uuid,
        input: CredentialInput,
    ) -> Result<Credential, Error> {
        actor.require(Permission(Resource::Credentials, Action::Update))?;
        self.get_credential(actor, id).await?;
        let now = self.now_ms();
        // Decided on the credential as it is when written (under its row's lock), so a
        // concurrent change is never written over with what was read before it.
        let edit = |rec: CredentialRecord| {
            let old = self.open_credential(rec)?;
            // Where a stored secret is sent changes only with the secret entered again, so a
            // caller who may edit a credential cannot aim its secret at a listener of their own.
            let re_aimed = input.token_url != old.token_url || input.kind != old.kind;
            if re_aimed && input.private.is_none() {
                return Err(Error::Invalid(
                    "changing credential_token_url or credential_type needs credential_private again"
                        .into(),
                ));
            }
            let c = Credential {
                user_id: input.user_id.clone(),
                label: input.label.trim().to_string(),
                kind: input.kind,
                public: input.public.clone(),
                private: input.private.clone().unwrap_or(old.private),
                default_for_type: input.default_for_type,
                token_url: input.token_url.clone(),
                updated_at: now,
                ..old
            };
            validate(&c)?;
            Ok(self.seal_credential(&c))
        };
        let written = self
            .store
            .update_credential(Scope::of(actor), id, &edit)
            .await?
            .ok_or(Error::NotFound("credential"))?;
        self.audit_by(
            actor,
            "brightcove.credential.update",
            format!("credential:{}", id),
        )
        .await;
        self.open_credential(written)
    }

    pub async fn get_credential(&self, actor: &Actor, id: Uuid) -> Result<Credential, Error> {
        actor.require(Permission(Resource::Credentials, Action::Read))?;
        let r = self
            .store
            .credential(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("credential"))?;
        self.open_credential(r)
    }

    pub async fn list_credentials(&self, actor: &Actor) -> Result<Vec<Credential>, Error> {
        actor.require(Permission(Resource::Credentials, Action::List))?;
        self.store
            .list_credentials(Scope::of(actor))
            .await?
            .into_iter()
            .map(|r| self.open_credential(r))
            .collect()
    }

    pub async fn delete_credential(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Credentials, Action::Delete))?;
        if !self.store.delete_credential(Scope::of(actor), id).await? {
            return Err(Error::NotFound("credential"));
        }
        self.audit_by(
            actor,
            "brightcove.credential.delete",
            format!("credential:{}", id),
        )
        .await;
        Ok(())
    }

    /// The credential a feature refers to: by label, or the default of a type. Used by the ingest
    /// hooks (`rtmp`) and notification delivery (`http`, `oauth`).
    pub async fn resolve_credential(
        &self,
        account_id: Uuid,
        environment: Environment,
        by: CredentialRef<'_>,
    ) -> Result<Credential, Error> {
        let scope = Scope {
            account_id,
            environment,
        };
        let found = match by {
            CredentialRef::Label(label) => self.store.credential_by_label(scope, label).await?,
            CredentialRef::DefaultOf(kind) => {
                self.store.default_credential(scope, kind.as_str()).await?
            }
        };
        self.open_credential(found.ok_or(Error::NotFound("credential"))?)
    }
}
