//! Webhook endpoints of the caller's (account, environment), of one flavor each: api.video's
//! (`/webhooks`) and Livepeer's (`/api/webhook`). A dialect asks for its own flavor only, so one
//! dialect never lists, reads, changes or deletes the other's webhooks (their events, payloads
//! and signatures differ); another flavor's webhook is not found, as another scope's is.

use uuid::Uuid;

use super::Services;
use crypto::{random_base62, Aad, SecretString};
use domain::webhook::{self, Flavor};
use domain::{Action, Actor, Error, Permission, Resource, Webhook};
use store::Scope;

pub(crate) fn secret_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "webhooks",
        id,
        field: "signature_secret",
    }
}

/// What a webhook is to be: a new one, or what an existing one becomes (Livepeer's `PUT` replaces
/// it whole).
#[derive(Debug)]
pub struct NewWebhook {
    pub flavor: Flavor,
    /// Livepeer's `name` (required there; api.video's webhooks have none).
    pub name: Option<String>,
    pub url: String,
    pub events: Vec<String>,
    /// A signing secret of the caller's choosing (Livepeer's `sharedSecret`), sealed like a
    /// generated one. None: a new webhook gets a generated one; an update keeps the one it has.
    pub shared_secret: Option<SecretString>,
    /// Only this stream's events (Livepeer's `streamId`); one of the caller's streams.
    pub stream_id: Option<Uuid>,
}

impl NewWebhook {
    /// An api.video webhook: its URL and events.
    pub fn apivideo(url: &str, events: Vec<String>) -> Self {
        NewWebhook {
            flavor: Flavor::ApiVideo,
            name: None,
            url: url.to_string(),
            events,
            shared_secret: None,
            stream_id: None,
        }
    }
}

impl Services {
    /// Checks what a webhook is to be, in the caller's scope; the name and URL as they will be
    /// kept.
    async fn checked(
        &self,
        actor: &Actor,
        new: &NewWebhook,
    ) -> Result<(Option<String>, String), Error> {
        let name = match (&new.name, new.flavor) {
            (Some(n), _) => Some(domain::stream::validate_object_name("webhook", n)?),
            (None, Flavor::Livepeer) => {
                return Err(Error::Invalid("a webhook needs a name".into()));
            }
            (None, Flavor::ApiVideo | Flavor::Brightcove) => None,
        };
        let url = webhook::validate_url(&new.url, self.webhooks_allow_private())?;
        webhook::validate_events(new.flavor, &new.events)?;
        if let Some(secret) = &new.shared_secret {
            webhook::validate_shared_secret(secret.expose())?;
        }
        if let Some(stream) = new.stream_id {
            if self.store.stream(Scope::of(actor), stream).await?.is_none() {
                return Err(Error::Invalid(format!(
                    "streamId {stream} is not one of your streams"
                )));
            }
        }
        Ok((name, url))
    }

    /// Registers a webhook; returns it with its signing secret (shown this once).
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        new: NewWebhook,
    ) -> Result<(Webhook, SecretString), Error> {
        actor.require(Permission(Resource::Webhooks, Action::Create))?;
        let (name, url) = self.checked(actor, &new).await?;
        let id = Uuid::now_v7();
        let secret = new
            .shared_secret
            .unwrap_or_else(|| SecretString::new(random_base62(32)));
        let w = Webhook {
            id,
            account_id: actor.account_id(),
            environment: actor.environment(),
            url,
            events: new.events,
            secret_sealed: self
                .vault
                .seal(&secret_aad(&id.to_string()), secret.expose()),
            created_at: self.now_ms(),
            credential_label: None,
            flavor: new.flavor,
            name,
            stream_id: new.stream_id,
        };
        self.store.insert_webhook(&w).await?;
        self.audit_by(actor, "webhook.create", format!("webhook:{id}"))
            .await;
        Ok((w, secret))
    }

    /// One of the caller's webhooks of `flavor`.
    pub async fn get_webhook(
        &self,
        actor: &Actor,
        flavor: Flavor,
        id: Uuid,
    ) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Read))?;
        self.webhook_of(actor, Some(flavor), id).await
    }

    /// A live webhook of the caller's scope (and of `flavor`, when one is named), unchecked.
    async fn webhook_of(
        &self,
        actor: &Actor,
        flavor: Option<Flavor>,
        id: Uuid,
    ) -> Result<Webhook, Error> {
        self.store
            .webhook(Scope::of(actor), id)
            .await?
            .filter(|w| flavor.is_none_or(|f| w.flavor == f))
            .ok_or(Error::NotFound("webhook"))
    }

    /// The signing secret of a webhook (for delivery).
    pub fn webhook_secret(&self, w: &Webhook) -> Result<SecretString, Error> {
        self.vault
            .open(&secret_aad(&w.id.to_string()), &w.secret_sealed)
            .map_err(|e| Error::Internal(format!("webhook {}: {e}", w.id)))
    }

    /// Up to `limit` (1 to 1000) of the caller's webhooks of `flavor` from `offset`, oldest first,
    /// with how many there are; only those subscribed to `event` when one is given (an event no
    /// webhook of the flavor can subscribe to matches none).
    pub async fn list_webhooks(
        &self,
        actor: &Actor,
        flavor: Flavor,
        event: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Webhook>, i64), Error> {
        actor.require(Permission(Resource::Webhooks, Action::List))?;
        if event.is_some_and(|e| !flavor.events().contains(&e)) {
            return Ok((vec![], 0));
        }
        Ok(self
            .store
            .list_webhooks(
                Scope::of(actor),
                flavor,
                event,
                offset.max(0),
                limit.clamp(1, 1000),
            )
            .await?)
    }

    /// Replaces what one of the caller's webhooks of `new.flavor` is: name, URL, events, stream,
    /// and its signing secret when a new one is given (else it keeps its own). Returns it as it
    /// is now.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        new: NewWebhook,
    ) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Update))?;
        let mut w = self.webhook_of(actor, Some(new.flavor), id).await?;
        let (name, url) = self.checked(actor, &new).await?;
        // A webhook that authenticates with a stored credential sends its secret wherever its URL
        // points: moving it is putting the secret to work, as attaching it was.
        let re_aimed = url != w.url && w.credential_label.is_some();
        if re_aimed {
            actor.require(Permission(Resource::Credentials, Action::Use))?;
        }
        w.name = name;
        w.url = url;
        w.events = new.events;
        w.stream_id = new.stream_id;
        let secret_changed = new.shared_secret.is_some();
        if let Some(secret) = &new.shared_secret {
            w.secret_sealed = self
                .vault
                .seal(&secret_aad(&id.to_string()), secret.expose());
        }
        if !self.store.update_webhook(Scope::of(actor), &w).await? {
            return Err(Error::NotFound("webhook"));
        }
        self.audit_by_detail(
            actor,
            "webhook.update",
            format!("webhook:{id}"),
            serde_json::json!({
                "secretChanged": secret_changed,
                // Where the credential's secret goes from now on (never the secret).
                "credentialHost": re_aimed.then(|| {
                    reqwest::Url::parse(&w.url)
                        .map(|u| crate::deliveries::host_of(&u))
                        .unwrap_or_default()
                }),
            })
            .to_string(),
        )
        .await;
        Ok(w)
    }

    /// Deletes one of the caller's webhooks of `flavor`; returns it as it was (Livepeer's
    /// generated clients read it back).
    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        flavor: Flavor,
        id: Uuid,
    ) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Delete))?;
        let w = self.webhook_of(actor, Some(flavor), id).await?;
        if !self
            .store
            .delete_webhook(Scope::of(actor), flavor, id, self.now_ms())
            .await?
        {
            return Err(Error::NotFound("webhook"));
        }
        self.audit_by(actor, "webhook.delete", format!("webhook:{id}"))
            .await;
        Ok(w)
    }

    /// Makes deliveries to this webhook (of either flavor) authenticate with the account's `http`
    /// (Basic) or `oauth` (client-credentials Bearer) credential of that label; `None` clears it.
    pub async fn set_webhook_credential(
        &self,
        actor: &Actor,
        id: Uuid,
        label: Option<&str>,
    ) -> Result<Webhook, Error> {
        actor.require(Permission(Resource::Webhooks, Action::Update))?;
        actor.require(Permission(Resource::Credentials, Action::Use))?;
        // Another scope's webhook is not found, whatever the label.
        let hook = self.webhook_of(actor, None, id).await?;
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
        self.webhook_of(actor, None, id).await
    }
}
