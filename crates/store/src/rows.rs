//! Row shapes shared by both backends (identical column types) and their mapping to domain types.

use uuid::Uuid;

use super::{StoreError, StoreResult};
use domain::{
    Account, AccountNumber, ApiKey, Cors, Credits, Environment, KeyPolicy, Permissions, RateLimit,
    Refill, RefillInterval, Role, User,
};

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
    pub permissions: Option<String>,
    pub ratelimit_limit: Option<i64>,
    pub ratelimit_duration_ms: Option<i64>,
    pub credits_remaining: Option<i64>,
    pub credits_refill_interval: Option<String>,
    pub credits_refill_amount: Option<i64>,
    pub credits_refilled_at: Option<i64>,
    pub meta: Option<String>,
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
            policy: KeyPolicy {
                permissions: match &self.permissions {
                    Some(text) => {
                        let list: Vec<String> = serde_json::from_str(text)
                            .map_err(|e| StoreError::Corrupt(format!("permissions: {e}")))?;
                        Some(
                            Permissions::parse(&list)
                                .map_err(|e| StoreError::Corrupt(format!("permissions: {e}")))?,
                        )
                    }
                    None => None,
                },
                ratelimit: match (self.ratelimit_limit, self.ratelimit_duration_ms) {
                    (Some(limit), Some(duration_ms)) => Some(RateLimit {
                        limit: u32::try_from(limit).unwrap_or(u32::MAX),
                        duration_ms,
                    }),
                    _ => None,
                },
                credits: self.credits_remaining.map(|remaining| Credits {
                    remaining,
                    refill: match (
                        self.credits_refill_interval.as_deref(),
                        self.credits_refill_amount,
                    ) {
                        (Some(i), Some(amount)) => {
                            RefillInterval::parse(i).ok().map(|interval| Refill {
                                interval,
                                amount,
                                refilled_at: self.credits_refilled_at.unwrap_or(self.created_at),
                            })
                        }
                        _ => None,
                    },
                }),
                meta: self.meta,
            },
        })
    }
}

/// The policy columns of a key, in `POLICY_COLUMNS` order, as bound values.
pub fn policy_args(p: &KeyPolicy, args: &mut crate::db::Args) {
    let refill = p.credits.and_then(|c| c.refill);
    args.push(
        p.permissions
            .map(|s| serde_json::to_string(&s.to_strings()).unwrap_or_else(|_| "[]".into())),
    )
    .push(p.ratelimit.map(|r| i64::from(r.limit)))
    .push(p.ratelimit.map(|r| r.duration_ms))
    .push(p.credits.map(|c| c.remaining))
    .push(refill.map(|r| r.interval.as_str()))
    .push(refill.map(|r| r.amount))
    .push(refill.map(|r| r.refilled_at))
    .push(p.meta.clone());
}

pub const POLICY_COLUMNS: &str = "permissions, ratelimit_limit, ratelimit_duration_ms, credits_remaining, credits_refill_interval, credits_refill_amount, credits_refilled_at, meta";

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

pub const API_KEY_COLUMNS: &str = "id, account_id, name, environment, prefix, allowed_origins, full_access, created_at, last_used_at, expires_at, revoked_at, permissions, ratelimit_limit, ratelimit_duration_ms, credits_remaining, credits_refill_interval, credits_refill_amount, credits_refilled_at, meta";
