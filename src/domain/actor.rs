use std::sync::Arc;

use uuid::Uuid;

use super::{Environment, KeyInfo};

/// Who is calling: built by the auth extractors from any header style, consumed by services.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key: Arc<KeyInfo>,
}

impl Actor {
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
