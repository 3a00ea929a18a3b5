//! Key generation and checksums, hashing, and secrets that cannot print themselves.

pub mod ingest_secret;
pub mod jwt;
pub mod key_secret;
pub mod password;
pub mod playback_jwt;
pub mod vault;

pub use domain::{random_base62, SecretString, BASE62};
pub use ingest_secret::IngestSecret;
pub use key_secret::{KeySecret, ParsedKey};
pub use vault::{Aad, Vault};

use sha2::{Digest, Sha256};

/// SHA-256 of a secret: how API keys and refresh tokens are stored and looked up.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}
