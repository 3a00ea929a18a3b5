use std::sync::Arc;

use uuid::Uuid;

use super::{Cors, Environment, KeyInfo, Role, User};

/// Who is calling: built by the auth extractors from any header style, consumed by services.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key: Arc<KeyInfo>,
    /// A signed-in dashboard user: `key` is then a stand-in with full access to the user's
    /// account in the environment the dashboard shows (it is no API key and has no secret).
    pub user: Option<Arc<UserRef>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
}

impl Actor {
    pub fn of_key(key: Arc<KeyInfo>) -> Self {
        Self { key, user: None }
    }

    pub fn of_user(user: &User, environment: Environment) -> Self {
        Self {
            key: Arc::new(KeyInfo {
                id: user.id,
                account_id: user.account_id,
                name: user.username.clone(),
                environment,
                cors: Cors::default(),
                expires_at: None,
                revoked: false,
                memo: Default::default(),
            }),
            user: Some(Arc::new(UserRef {
                id: user.id,
                username: user.username.clone(),
                role: user.role,
            })),
        }
    }

    /// Who did it, for the audit log: `key:<id>` or `user:<name>`.
    pub fn label(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{}", u.username),
            None => format!("key:{}", self.key.id),
        }
    }

    pub fn account_id(&self) -> Uuid {
        self.key.account_id
    }

    pub fn key_id(&self) -> Uuid {
        self.key.id
    }

    pub fn environment(&self) -> Environment {
        self.key.environment
    }

    /// A CORS key without full access may only call a small allowlist of routes.
    pub fn is_cors_restricted(&self) -> bool {
        self.key.cors.is_restricted()
    }
}
