//! Brightcove credentials as the store keeps them (the private half sealed by the vault).

use async_trait::async_trait;

use crate::SqlStore;
use uuid::Uuid;

use super::{Scope, StoreError, StoreResult};
use domain::Environment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub user_id: Option<String>,
    pub label: String,
    pub kind: String,
    pub public_value: String,
    pub private_sealed: String,
    pub default_for_type: bool,
    pub token_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const CREDENTIAL_COLUMNS: &str = "id, account_id, environment, user_id, label, kind, public_value, private_sealed, default_for_type, token_url, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub struct CredentialRow {
    id: String,
    account_id: String,
    environment: String,
    user_id: Option<String>,
    label: String,
    kind: String,
    public_value: String,
    private_sealed: String,
    default_for_type: bool,
    token_url: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl CredentialRow {
    pub fn into_record(self) -> StoreResult<CredentialRecord> {
        let corrupt = |e: String| StoreError::Corrupt(e);
        Ok(CredentialRecord {
            id: Uuid::parse_str(&self.id).map_err(|e| corrupt(e.to_string()))?,
            account_id: Uuid::parse_str(&self.account_id).map_err(|e| corrupt(e.to_string()))?,
            environment: Environment::parse(&self.environment)
                .map_err(|e| corrupt(e.to_string()))?,
            user_id: self.user_id,
            label: self.label,
            kind: self.kind,
            public_value: self.public_value,
            private_sealed: self.private_sealed,
            default_for_type: self.default_for_type,
            token_url: self.token_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// What a credential update makes of the credential as it is.
pub type CredentialEdit<'a> =
    dyn Fn(CredentialRecord) -> Result<CredentialRecord, domain::Error> + Send + Sync + 'a;

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Inserts; when it is the default of its type, the others stop being so (one transaction).
    /// Conflict when the label is taken in the scope.
    async fn insert_credential(&self, c: &CredentialRecord) -> StoreResult<()>;
    /// Read-modify-write of a credential of the scope, in one transaction that locks its row
    /// first, so concurrent updates never lose each other's changes: `edit` gets the credential
    /// as it is and returns it changed, or refuses. Same rules as insert. The credential as
    /// written; None when there is no such credential in the scope.
    async fn update_credential(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &CredentialEdit<'_>,
    ) -> StoreResult<Option<CredentialRecord>>;
    async fn credential(&self, scope: Scope, id: Uuid) -> StoreResult<Option<CredentialRecord>>;
    async fn credential_by_label(
        &self,
        scope: Scope,
        label: &str,
    ) -> StoreResult<Option<CredentialRecord>>;
    async fn default_credential(
        &self,
        scope: Scope,
        kind: &str,
    ) -> StoreResult<Option<CredentialRecord>>;
    async fn list_credentials(&self, scope: Scope) -> StoreResult<Vec<CredentialRecord>>;
    async fn delete_credential(&self, scope: Scope, id: Uuid) -> StoreResult<bool>;
}

#[async_trait]
impl CredentialStore for SqlStore {
    async fn insert_credential(
        &self,
        c: &crate::credentials::CredentialRecord,
    ) -> crate::StoreResult<()> {
        let mut tx = self.db.begin().await?;
        Self::clear_default(&mut tx, c).await?;
        tx.execute(&format!(
            "INSERT INTO credentials ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            crate::credentials::CREDENTIAL_COLUMNS
        ), crate::args![c.id.to_string(), c.account_id.to_string(), c.environment.as_str(), &c.user_id, &c.label, &c.kind, &c.public_value, &c.private_sealed, c.default_for_type, &c.token_url, c.created_at, c.updated_at]).await
        .map_err(|e| crate::map_unique(e, &format!("a credential labelled {:?}", c.label)))?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_credential(
        &self,
        scope: Scope,
        id: Uuid,
        edit: &CredentialEdit<'_>,
    ) -> StoreResult<Option<CredentialRecord>> {
        const WHERE: &str = "id = $1 AND account_id = $2 AND environment = $3";
        let at = || {
            crate::args![
                id.to_string(),
                scope.account_id.to_string(),
                scope.environment.as_str()
            ]
        };
        let mut tx = self.db.begin().await?;
        let Some(now) = tx
            .lock_one::<CredentialRow>("credentials", CREDENTIAL_COLUMNS, WHERE, at)
            .await?
        else {
            return Ok(None);
        };
        let now = now.into_record()?;
        let c = edit(now).map_err(StoreError::Refused)?;
        Self::clear_default(&mut tx, &c).await?;
        tx.execute("UPDATE credentials SET user_id = $1, label = $2, kind = $3, public_value = $4, private_sealed = $5, \
             default_for_type = $6, token_url = $7, updated_at = $8 WHERE id = $9 AND account_id = $10 AND environment = $11", crate::args![&c.user_id, &c.label, &c.kind, &c.public_value, &c.private_sealed, c.default_for_type, &c.token_url, c.updated_at, id.to_string(), scope.account_id.to_string(), scope.environment.as_str()]).await
        .map_err(|e| crate::map_unique(e, &format!("a credential labelled {:?}", c.label)))?;
        tx.commit().await?;
        Ok(Some(c))
    }

    async fn credential(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<Option<crate::credentials::CredentialRecord>> {
        self.db
            .fetch_optional::<crate::credentials::CredentialRow>(
                &format!(
            "SELECT {} FROM credentials WHERE id = $1 AND account_id = $2 AND environment = $3",
            crate::credentials::CREDENTIAL_COLUMNS
        ),
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn credential_by_label(
        &self,
        scope: crate::Scope,
        label: &str,
    ) -> crate::StoreResult<Option<crate::credentials::CredentialRecord>> {
        self.db
            .fetch_optional::<crate::credentials::CredentialRow>(
                &format!(
            "SELECT {} FROM credentials WHERE label = $1 AND account_id = $2 AND environment = $3",
            crate::credentials::CREDENTIAL_COLUMNS
        ),
                crate::args![
                    label,
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .map(|r| r.into_record())
            .transpose()
    }

    async fn default_credential(
        &self,
        scope: crate::Scope,
        kind: &str,
    ) -> crate::StoreResult<Option<crate::credentials::CredentialRecord>> {
        self.db.fetch_optional::<crate::credentials::CredentialRow>(&format!(
            "SELECT {} FROM credentials WHERE kind = $1 AND default_for_type AND account_id = $2 AND environment = $3",
            crate::credentials::CREDENTIAL_COLUMNS
        ), crate::args![kind, scope.account_id.to_string(), scope.environment.as_str()]).await?
        .map(|r| r.into_record())
        .transpose()
    }

    async fn list_credentials(
        &self,
        scope: crate::Scope,
    ) -> crate::StoreResult<Vec<crate::credentials::CredentialRecord>> {
        self.db.fetch_all::<crate::credentials::CredentialRow>(&format!(
            "SELECT {} FROM credentials WHERE account_id = $1 AND environment = $2 ORDER BY created_at, id LIMIT 10000",
            crate::credentials::CREDENTIAL_COLUMNS
        ), crate::args![scope.account_id.to_string(), scope.environment.as_str()]).await?
        .into_iter()
        .map(|r| r.into_record())
        .collect()
    }

    async fn delete_credential(
        &self,
        scope: crate::Scope,
        id: uuid::Uuid,
    ) -> crate::StoreResult<bool> {
        let done = self
            .db
            .execute(
                "DELETE FROM credentials WHERE id = $1 AND account_id = $2 AND environment = $3",
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }
}

impl SqlStore {
    async fn clear_default(
        tx: &mut crate::db::Tx,
        c: &crate::credentials::CredentialRecord,
    ) -> crate::StoreResult<()> {
        if c.default_for_type {
            tx.execute("UPDATE credentials SET default_for_type = FALSE WHERE account_id = $1 AND environment = $2 AND kind = $3 AND id <> $4 AND default_for_type", crate::args![c.account_id.to_string(), c.environment.as_str(), &c.kind, c.id.to_string()]).await?;
        }
        Ok(())
    }
}
