//! The one place randomness comes from.

use rand::Rng;

/// The alphabet of every random identifier and secret: `0-9A-Za-z`.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters of base62 from the operating system's random source.
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| BASE62[rng.gen_range(0..62)] as char)
        .collect()
}
