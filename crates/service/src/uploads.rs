//! Upload tokens of the caller's (account, environment).

use uuid::Uuid;

use super::Services;
use crypto::{random_base62, Aad, SecretString};
use domain::UploadToken;
use domain::{Action, Permission, Resource};
use domain::{Actor, Error};
use store::{Scope, UploadTokenRecord};

/// Longest upload-token lifetime, in seconds (api.video: one week).
pub const MAX_UPLOAD_TTL: i64 = 7 * 24 * 3600;

fn token_aad(hash: &str) -> Aad<'_> {
    Aad {
        table: "upload_tokens",
        id: hash,
        field: "token",
    }
}

/// The lookup key of an upload token (and of a one-time upload URL): its SHA-256, in hex.
pub(crate) fn token_hash(token: &str) -> String {
    crypto::sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tokens moved out of the clear per batch at start-up.
const RESEAL_BATCH: i64 = 500;

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
            token: SecretString::new(format!("to{}", random_base62(22))),
            account_id: actor.account_id(),
            environment: actor.environment(),
            ttl,
            created_at: now,
            expires_at: (ttl > 0).then(|| now + ttl * 1000),
        };
        self.store
            .insert_upload_token(&self.seal_upload_token(&t))
            .await?;
        self.audit_by(actor, "upload_token.create", token_ref(t.token.expose()))
            .await;
        Ok(t)
    }

    fn seal_upload_token(&self, t: &UploadToken) -> UploadTokenRecord {
        let hash = token_hash(t.token.expose());
        UploadTokenRecord {
            token_sealed: self.vault.seal(&token_aad(&hash), t.token.expose()),
            token_hash: hash,
            account_id: t.account_id,
            environment: t.environment,
            ttl: t.ttl,
            created_at: t.created_at,
            expires_at: t.expires_at,
        }
    }

    fn open_upload_token(&self, r: UploadTokenRecord) -> Result<UploadToken, Error> {
        let token = self
            .vault
            .open(&token_aad(&r.token_hash), &r.token_sealed)
            .map_err(|e| {
                Error::Internal(format!(
                    "upload token {}: {e}",
                    r.token_hash.get(..12).unwrap_or_default()
                ))
            })?;
        Ok(UploadToken {
            token,
            account_id: r.account_id,
            environment: r.environment,
            ttl: r.ttl,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }

    pub async fn get_upload_token(&self, actor: &Actor, token: &str) -> Result<UploadToken, Error> {
        actor.require(Permission(Resource::UploadTokens, Action::Read))?;
        let found = self
            .store
            .upload_token(Scope::of(actor), &token_hash(token), self.now_ms())
            .await?
            .ok_or(Error::NotFound("upload token"))?;
        self.open_upload_token(found)
    }

    pub async fn list_upload_tokens(
        &self,
        actor: &Actor,
        by_ttl: bool,
        descending: bool,
        page: i64,
        size: i64,
    ) -> Result<(Vec<UploadToken>, i64), Error> {
        actor.require(Permission(Resource::UploadTokens, Action::List))?;
        let size = size.clamp(1, 100);
        let (rows, total) = self
            .store
            .list_upload_tokens(
                Scope::of(actor),
                self.now_ms(),
                by_ttl,
                descending,
                (page.max(1) - 1) * size,
                size,
            )
            .await?;
        let tokens = rows
            .into_iter()
            .map(|r| self.open_upload_token(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((tokens, total))
    }

    pub async fn delete_upload_token(&self, actor: &Actor, token: &str) -> Result<(), Error> {
        actor.require(Permission(Resource::UploadTokens, Action::Delete))?;
        if !self
            .store
            .delete_upload_token(Scope::of(actor), &token_hash(token), self.now_ms())
            .await?
        {
            return Err(Error::NotFound("upload token"));
        }
        self.audit_by(actor, "upload_token.delete", token_ref(token))
            .await;
        Ok(())
    }

    /// Seals the upload tokens made before they were sealed at rest (migration 0018 left them in
    /// `upload_tokens_plain`): each is hashed, sealed and moved in one transaction. Runs at every
    /// start, before serving (a no-op once done); several instances starting at once are fine.
    /// Afterwards the store scrubs its free space, so the plain bytes do not linger in the file.
    /// Returns how many it moved.
    pub async fn seal_plain_upload_tokens(&self) -> Result<u64, Error> {
        let mut moved = 0;
        loop {
            let rows = self.store.plain_upload_tokens(RESEAL_BATCH).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let corrupt = |e: String| Error::Internal(format!("upload_tokens_plain: {e}"));
                let t = UploadToken {
                    token: SecretString::new(row.token.clone()),
                    account_id: Uuid::parse_str(&row.account_id)
                        .map_err(|e| corrupt(e.to_string()))?,
                    environment: domain::Environment::parse(&row.environment)
                        .map_err(|e| corrupt(e.to_string()))?,
                    ttl: row.ttl,
                    created_at: row.created_at,
                    expires_at: row.expires_at,
                };
                self.store
                    .replace_plain_upload_token(
                        &row.token,
                        &self.seal_upload_token(&t),
                        row.deleted_at,
                    )
                    .await?;
                moved += 1;
            }
        }
        if moved > 0 {
            self.store.scrub_free_space().await?;
            tracing::info!(moved, "upload tokens sealed at rest");
        }
        Ok(moved)
    }
}

/// How the audit log names an upload token: by a digest, never the token itself (it is a
/// credential).
pub(crate) fn token_ref(token: &str) -> String {
    let d = crypto::sha256(token.as_bytes());
    format!(
        "upload_token:sha256:{}",
        d[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}
