use std::sync::Arc;

use uuid::Uuid;

use super::{
    Cors, Environment, Error, KeyInfo, Permission, Permissions, RateDecision, Resource, Role, User,
};

/// Who is calling: built by the auth extractors from any header style, consumed by services.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key: Arc<KeyInfo>,
    /// A signed-in dashboard user: `key` is then a stand-in with full access to the user's
    /// account in the environment the dashboard shows (it is no API key and has no secret).
    pub user: Option<Arc<UserRef>>,
    /// The operator at the command line (and the first start's bootstrap): acts on any account.
    operator: bool,
    /// The rate-limit decision that admitted this request (reported in `X-RateLimit-*`).
    pub rate: Option<RateDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
}

/// The key-shaped identity of a caller that has no API key (a dashboard user, the operator):
/// backend-only, never expiring; what it may do comes from `Actor::permissions`, not from here.
fn stand_in(id: Uuid, account_id: Uuid, name: String, environment: Environment) -> Arc<KeyInfo> {
    Arc::new(KeyInfo {
        id,
        account_id,
        name,
        environment,
        cors: Cors::default(),
        expires_at: None,
        revoked: false,
        permissions: Permissions::all(),
        ratelimit: None,
        credits: None,
        meta: None,
        memo: Default::default(),
    })
}

impl Actor {
    pub fn of_key(key: Arc<KeyInfo>) -> Self {
        Self {
            key,
            user: None,
            operator: false,
            rate: None,
        }
    }

    /// The operator, acting on `account_id` (in its production environment unless a command
    /// names another). Only the binary makes one: the CLI and the first start's bootstrap. The
    /// HTTP layer never does (a test reads its sources to keep it so).
    pub fn operator(account_id: Uuid, environment: Environment) -> Self {
        Self {
            key: stand_in(Uuid::nil(), account_id, "operator".into(), environment),
            user: None,
            operator: true,
            rate: None,
        }
    }

    /// The same operator acting on another account (production). For any other caller, itself:
    /// only an operator can move between accounts.
    pub fn in_account(&self, account_id: Uuid) -> Self {
        if self.operator {
            Self::operator(account_id, Environment::Production)
        } else {
            self.clone()
        }
    }

    pub fn is_operator(&self) -> bool {
        self.operator
    }

    /// Does this caller see every environment of its account (dashboard users, the operator),
    /// or only its key's own?
    pub fn spans_environments(&self) -> bool {
        self.operator || self.user.is_some()
    }

    pub fn of_user(user: &User, environment: Environment) -> Self {
        Self {
            key: stand_in(user.id, user.account_id, user.username.clone(), environment),
            user: Some(Arc::new(UserRef {
                id: user.id,
                username: user.username.clone(),
                role: user.role,
            })),
            operator: false,
            rate: None,
        }
    }

    /// Who did it, for the audit log: `key:<id>`, `user:<name>` or `operator`.
    pub fn label(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{}", u.username),
            None if self.operator => "operator".into(),
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

    /// What this caller may do: a key's effective set (built once per cached key), a dashboard
    /// user's role (admins everything, members everything but the account), the operator's all.
    pub fn permissions(&self) -> Permissions {
        match &self.user {
            _ if self.operator => Permissions::all(),
            Some(u) if u.role == Role::Admin => Permissions::all(),
            Some(_) => Permissions::all().without_resource(Resource::Account),
            None => self.key.permissions,
        }
    }

    /// Ok if the caller holds `p`; else the refusal every dialect renders as its 403.
    pub fn require(&self, p: Permission) -> Result<(), Error> {
        if self.permissions().allows(p) {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            permission: p,
            cors_restricted: self.user.is_none() && !self.operator && self.key.cors.is_restricted(),
        })
    }

    /// A CORS key without full access may only call a small allowlist of routes.
    pub fn is_cors_restricted(&self) -> bool {
        self.key.cors.is_restricted()
    }
}
