//! Upload tokens and webhooks of the caller's (account, environment).

use uuid::Uuid;

use super::Services;
use crypto::{random_base62, Aad, SecretString};
use domain::{webhook, Actor, Error};
use domain::{Action, Permission, Resource};
use domain::{UploadToken, Webhook};
use store::Scope;

/// Longest upload-token lifetime, in seconds (api.video: one week).
pub const MAX_UPLOAD_TTL: i64 = 7 * 24 * 3600;

fn secret_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "webhooks",
        id,
        field: "signature_secret",
    }
}

impl Services {
    pub async fn create_upload_token(&self, actor: &Actor, ttl: i64) -> Result<UploadToken, Error> {
        actor.require(Permission(Resource::UploadTokens, Action::Create))?;
        if !(0..=MAX_UPLOAD_TTL).contains(&ttl) {
            return Err(Error::Invalid(format!(
                "ttl must be from 0 (no expiry) to {MAX_UPLOAD_TTL} seconds"
            )));
        }
        let now = self.now_ms();
        let t = UploadToken {
            token: format!("to{}", random_base62(22)),
            account_id: actor.account_id(),
            environment: actor.environment(),
            ttl,
            created_at: now,
            expires_at: (ttl > 0).then(|| now + ttl * 1000),
        };
        self.store.insert_upload_token(&t).await?;
        self.audit_by(actor, "upload_token.create", token_ref(&t.token))
            .await;
        Ok(t)
    }

    pub async fn get_upload_token(&self, actor: &Actor, token: &str) -> Result<UploadToken, Error> {
        actor.require(Permission(Resource::UploadTokens, Action::Read))?;
        self.store
            .upload_token(Scope::of(actor), token, self.now_ms())
            .await?
            .ok_or(Error::NotFound("upload token"))
    }

    pub async fn list_upload_tokens(
        &self,
        actor: &Actor,
        page: i64,
        size: i64,
    ) -> Result<(Vec<UploadToken>, i64), Error> {
        actor.require(Permission(Resource::UploadTokens, Action::List))?;
        let size = size.clamp(1, 100);
        Ok(self
            .store
            .list_upload_tokens(
                Scope::of(actor),
                self.now_ms(),
                (page.max(1) - 1) * size,
                size,
            )
            .await?)
    }

    pub async fn delete_upload_token(&self, actor: &Actor, token: &str) -> Result<(), Error> {
        actor.require(Permission(Resource::UploadTokens, Action::Delete))?;
        if !self
            .store
            .delete_upload_token(Scope::of(actor), token, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("upload token"));
        }
        self.audit_by(actor, "upload_token.delete", token_ref(token))
            .await;
        Ok(())
    }

    /// Registers a webhook; returns it with its signing secret (shown this once).
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: Vec<String>,
    ) -> Result<(Webhook, SecretString), Error> {
        actor.require(Permission(Resource::Webhooks, Action::Create))?;
        let url = webhook::validate_url(url, self.webhooks_allow_private())?;
        webhook::validate_events(&events)?;
        let id = Uuid::now_v7();
        let secret = SecretString::new(random_base62(32));
        let w = Webhook {
            id,
            account_id: actor.account_id(),
            environment: actor.environment(),
            url,
            events,
            secret_sealed: self
                .vault
                .seal(&secret_aad(&id.to_string()), secret.expose()),
            created_at: self.now_ms(),
            credential_label: None,
        };
        self.store.insert_webhook(&w).await?;
        self.audit_by(actor, "webhook.create", format!("webhook:{id}"))
            .await;
        Ok((w, secret))
    }

    pub async fn get_webhook(&self, actor: &Actor, id: Uuid) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Read))?;
        self.store
            .webhook(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("webhook"))
    }

    /// The signing secret of a webhook (for delivery).
    pub fn webhook_secret(&self, w: &Webhook) -> Result<SecretString, Error> {
        self.vault
            .open(&secret_aad(&w.id.to_string()), &w.secret_sealed)
            .map_err(|e| Error::Internal(format!("webhook {}: {e}", w.id)))
    }

    pub async fn list_webhooks(
        &self,
        actor: &Actor,
        page: i64,
        size: i64,
    ) -> Result<(Vec<Webhook>, i64), Error> {
        actor.require(Permission(Resource::Webhooks, Action::List))?;
        let size = size.clamp(1, 100);
        Ok(self
            .store
            .list_webhooks(Scope::of(actor), (page.max(1) - 1) * size, size)
            .await?)
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: Uuid) -> Result<(), Error> {
        actor.require(Permission(Resource::Webhooks, Action::Delete))?;
        if !self
            .store
            .delete_webhook(Scope::of(actor), id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("webhook"));
        }
        self.audit_by(actor, "webhook.delete", format!("webhook:{id}"))
            .await;
        Ok(())
    }

    /// Makes deliveries to this webhook authenticate with the account's `http` (Basic) or
    /// `oauth` (client-credentials Bearer) credential of that label; `None` clears it.
    pub async fn set_webhook_credential(
        &self,
        actor: &Actor,
        id: Uuid,
        label: Option<&str>,
    ) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Update))?;
        actor.require(Permission(Resource::Credentials, Action::Use))?;
        // Another scope's webhook is not found, whatever the label.
        let hook = self.get_webhook(actor, id).await?;
        if let Some(label) = label {
            let found = self
                .store
                .credential_by_label(Scope::of(actor), label)
                .await?
                .ok_or_else(|| Error::Invalid(format!("no credential labelled {label:?}")))?;
            if !matches!(found.kind.as_str(), "http" | "oauth") {
                return Err(Error::Invalid(format!(
                    "credential {label:?} is of type {}; a webhook authenticates with an http or oauth credential",
                    found.kind.as_str()
                )));
            }
        }
        if !self
            .store
            .set_webhook_credential(Scope::of(actor), id, label)
            .await?
        {
            return Err(Error::NotFound("webhook"));
        }
        // Where the secret will be sent from now on: the webhook URL's host (never the secret).
        let host = reqwest::Url::parse(&hook.url)
            .map(|u| crate::deliveries::host_of(&u))
            .unwrap_or_default();
        self.audit_by_detail(
            actor,
            "webhook.credential",
            format!("webhook:{id}"),
            serde_json::json!({"label": label, "host": host}).to_string(),
        )
        .await;
        self.get_webhook(actor, id).await
    }
}

/// How the audit log names an upload token: by a digest, never the token itself (it is a
/// credential).
fn token_ref(token: &str) -> String {
    let d = crypto::sha256(token.as_bytes());
    format!(
        "upload_token:sha256:{}",
        d[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}
