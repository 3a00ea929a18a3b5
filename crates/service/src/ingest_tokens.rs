//! Ingest tokens: the credential a media server presents to the ingest hooks. The operator makes
//! one per media server (`streamgate ingest-token create`); the secret is shown once and kept
//! only as its SHA-256. Verification on the hook path goes through the verifier's cache; creating
//! or revoking one logs a change, so a revoke holds on this instance at once and on every other
//! within a second. `last_used_at` is written back in batches, with the refusal log.

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

use super::accounts::require_operator;
use super::Services;
use crypto::{IngestSecret, SecretString};
use domain::account::validate_name;
use domain::{Actor, Error, IngestToken};

/// A token just created: the only moment its secret exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedIngestToken {
    pub token: IngestToken,
    pub secret: SecretString,
}

/// A media server that presented a valid ingest token. Only `verify_ingest_token` makes one, so
/// a publish can only be decided for a caller that authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestCaller {
    token_id: Uuid,
}

impl IngestCaller {
    pub fn token_id(&self) -> Uuid {
        self.token_id
    }
}

/// Last uses not yet written back: one entry per token used since the last write.
#[derive(Default)]
pub struct IngestTokenUses(Mutex<HashMap<Uuid, i64>>);

impl IngestTokenUses {
    fn used(&self, id: Uuid, at: i64) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(id, at);
        }
    }

    fn take(&self) -> Vec<(Uuid, i64)> {
        self.0
            .lock()
            .map(|mut m| m.drain().collect())
            .unwrap_or_default()
    }
}

impl Services {
    /// Creates an ingest token (the operator only). Audited as `ingest_token.create`.
    pub async fn create_ingest_token(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<CreatedIngestToken, Error> {
        require_operator(actor)?;
        let name = validate_name("ingest token", name)?;
        let generated = IngestSecret::generate();
        let token = IngestToken {
            id: Uuid::now_v7(),
            name,
            created_at: self.now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store
            .insert_ingest_token(&token, &generated.hash)
            .await?;
        // A hook that presented this token a moment ago is remembered as unknown: forget that.
        self.apply_changes().await;
        tracing::info!(ingest_token = %token.id, "ingest token created");
        self.audit_as(
            actor,
            None,
            "ingest_token.create",
            format!("ingest_token:{}", token.id),
        )
        .await;
        Ok(CreatedIngestToken {
            token,
            secret: generated.secret,
        })
    }

    /// Every ingest token, revoked ones too (the operator only). Never a secret.
    pub async fn list_ingest_tokens(&self, actor: &Actor) -> Result<Vec<IngestToken>, Error> {
        require_operator(actor)?;
        self.flush_ingest_token_uses().await;
        Ok(self.store.list_ingest_tokens().await?)
    }

    /// Revokes an ingest token (the operator only): refused here at once and on every instance
    /// within a second. Audited as `ingest_token.revoke`.
    pub async fn revoke_ingest_token(&self, actor: &Actor, id: Uuid) -> Result<IngestToken, Error> {
        require_operator(actor)?;
        let token = self
            .store
            .revoke_ingest_token(id, self.now_ms())
            .await?
            .ok_or(Error::NotFound("ingest token"))?;
        self.apply_changes().await;
        tracing::info!(ingest_token = %token.id, "ingest token revoked");
        self.audit_as(
            actor,
            None,
            "ingest_token.revoke",
            format!("ingest_token:{}", token.id),
        )
        .await;
        Ok(token)
    }

    /// The media server behind a presented ingest token, if the token is valid (well-formed,
    /// known, not revoked). Format and checksum first, then the verifier's cache; writes nothing.
    pub async fn verify_ingest_token(
        &self,
        presented: &str,
    ) -> Result<Option<IngestCaller>, Error> {
        let Some(hash) = IngestSecret::parse(presented) else {
            return Ok(None);
        };
        match self.verifier.ingest_token_by_hash(&hash).await? {
            Some(t) if t.revoked_at.is_none() => {
                self.ingest_token_uses.used(t.id, self.now_ms());
                Ok(Some(IngestCaller { token_id: t.id }))
            }
            _ => Ok(None),
        }
    }

    /// Writes back when each token was last used (the ingest housekeeping calls it).
    pub(crate) async fn flush_ingest_token_uses(&self) {
        let used = self.ingest_token_uses.take();
        if let Err(e) = self.store.touch_ingest_tokens(&used).await {
            tracing::warn!(error = %e, "could not record when ingest tokens were last used");
        }
    }
}
