//! Upload tokens: delegated-upload credentials of one account and environment.

use uuid::Uuid;

use crate::{Environment, SecretString};

/// An upload token (api.video's `/upload-tokens`). The token is a credential: stored only as its
/// SHA-256 and sealed by the vault, and `[redacted]` in Debug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadToken {
    pub token: SecretString,
    pub account_id: Uuid,
    pub environment: Environment,
    /// Seconds; 0 = never expires.
    pub ttl: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}
