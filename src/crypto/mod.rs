//! Key generation and checksums, hashing, and secrets that cannot print themselves.

pub mod jwt;
pub mod key_secret;
pub mod password;
pub mod secret;
pub mod vault;

pub use key_secret::{KeySecret, ParsedKey};
pub use secret::SecretString;
pub use vault::{Aad, Vault};

use sha2::{Digest, Sha256};

/// SHA-256 of a secret: how API keys and refresh tokens are stored and looked up.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The one place randomness comes from.
pub fn random_base62(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| key_secret::BASE62[rng.gen_range(0..62)] as char)
        .collect()
}
