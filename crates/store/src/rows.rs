//! Row shapes shared by both backends (identical column types) and their mapping to domain types.

use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::{Account, AccountNumber, ApiKey, Cors, Environment, Role, User};

/// A stored id; anything else is corrupt data.
pub(crate) fn uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

#[derive(sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub number: String,
    pub created_at: i64,
}

impl AccountRow {
    pub fn into_domain(self) -> StoreResult<Account> {
        Ok(Account {
            id: uuid(&self.id)?,
            name: self.name,
            number: AccountNumber::parse(&self.number)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub account_id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_domain(self) -> StoreResult<User> {
        Ok(User {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            username: self.username,
            password_hash: self.password_hash,
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Corrupt(format!("bad role {:?}", self.role)))?,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub environment: String,
    pub prefix: String,
    pub allowed_origins: String,
    pub full_access: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    pub fn into_domain(self) -> StoreResult<ApiKey> {
        let allowed_origins: Vec<String> = serde_json::from_str(&self.allowed_origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed_origins: {e}")))?;
        Ok(ApiKey {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            name: self.name,
            environment: Environment::parse(&self.environment)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            prefix: self.prefix,
            cors: Cors {
                allowed_origins,
                full_access: self.full_access,
            },
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        })
    }
}

pub fn origins_json(cors: &Cors) -> String {
    serde_json::to_string(&cors.allowed_origins).unwrap_or_else(|_| "[]".into())
}

#[derive(sqlx::FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub kind: String,
    pub object_id: String,
    pub key_hash: Option<Vec<u8>>,
}

pub const API_KEY_COLUMNS: &str = "id, account_id, name, environment, prefix, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at";
