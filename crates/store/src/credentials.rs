//! Brightcove credentials as the store keeps them (the private half sealed by the vault).

use async_trait::async_trait;
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

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Inserts; when it is the default of its type, the others stop being so (one transaction).
    /// Conflict when the label is taken in the scope.
    async fn insert_credential(&self, c: &CredentialRecord) -> StoreResult<()>;
    /// Same rules as insert. False when there is no such credential in the scope.
    async fn update_credential(&self, c: &CredentialRecord) -> StoreResult<bool>;
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
