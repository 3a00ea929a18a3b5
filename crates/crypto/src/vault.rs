//! Secrets at rest (stream keys, multistream target URLs, stored credentials): AES-256-GCM with a
//! keyring of numbered keys. A sealed value is `v1.<key number>.<base64 nonce>.<base64 ciphertext>`;
//! the AAD names the record and the field (`streams/<id>/stream_key`), so a ciphertext copied into
//! another row or field does not decrypt.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use super::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error("sealed value is not in the v1 format")]
    BadFormat,
    #[error("sealed with key number {0}, which this keyring does not hold")]
    UnknownKey(u32),
    #[error("decryption failed: wrong key, or the value was moved or altered")]
    Decrypt,
    #[error("the store holds encrypted data, but there is no master key: set STREAMGATE_MASTER_KEY or restore the key file {0}")]
    Missing(String),
    #[error("this master key does not open the store's encrypted data: it is not the key the data was sealed with")]
    WrongKey,
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Where a sealed value lives: the AAD binding it to one field of one record.
pub struct Aad<'a> {
    pub table: &'a str,
    pub id: &'a str,
    pub field: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        format!("{}/{}/{}", self.table, self.id, self.field).into_bytes()
    }
}

const CANARY: &str = "streamgate vault check";
const CANARY_AAD: Aad<'static> = Aad {
    table: "vault_keys",
    id: "1",
    field: "canary",
};

fn wrap_aad(n: &str) -> Aad<'_> {
    Aad {
        table: "vault_keys",
        id: n,
        field: "data_key",
    }
}

/// Key 1 is the master key itself; keys 2, 3, … are data keys added by `vault rotate`, stored
/// wrapped (sealed by key 1) in the `vault_keys` table and loaded into the ring at start-up.
pub struct Vault {
    keys: RwLock<BTreeMap<u32, Aes256Gcm>>,
    current: AtomicU32,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keys", &self.numbers())
            .field("current", &self.current())
            .finish()
    }
}

impl Vault {
    /// A keyring holding one master key as key number 1.
    pub fn from_master_key(key: &[u8]) -> Result<Self, VaultError> {
        if key.len() != 32 {
            return Err(VaultError::BadMasterKey);
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        Ok(Self {
            keys: RwLock::new(BTreeMap::from([(1, cipher)])),
            current: AtomicU32::new(1),
        })
    }

    /// A vault with a fresh random key, for tests and throwaway servers.
    pub fn ephemeral() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self {
            keys: RwLock::new(BTreeMap::from([(1, Aes256Gcm::new(&key))])),
            current: AtomicU32::new(1),
        }
    }

    /// The master key from `STREAMGATE_MASTER_KEY` (base64) if set, else from `file`, which is
    /// created (mode 0600) with a random key when missing. Returns whether a file was created.
    pub fn load(
        env_key: Option<&str>,
        file: &Path,
        may_create: bool,
    ) -> Result<(Self, bool), VaultError> {
        if let Some(b64) = env_key {
            let raw = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| VaultError::BadMasterKey)?,
            );
            return Ok((Self::from_master_key(&raw)?, false));
        }
        let io = |source| VaultError::Io {
            path: file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let raw = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|_| VaultError::BadMasterKey)?,
                );
                Ok((Self::from_master_key(&raw)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !may_create => {
                Err(VaultError::Missing(file.display().to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key));
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_private(file, text.as_bytes()).map_err(io)?;
                Ok((Self::from_master_key(&key)?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn current(&self) -> u32 {
        self.current.load(Ordering::Acquire)
    }

    pub fn numbers(&self) -> Vec<u32> {
        self.keys
            .read()
            .map(|k| k.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Adds data key `n` to the ring (idempotent).
    pub fn add_key(&self, n: u32, raw: &[u8]) -> Result<(), VaultError> {
        if raw.len() != 32 {
            return Err(VaultError::BadMasterKey);
        }
        if let Ok(mut keys) = self.keys.write() {
            keys.entry(n)
                .or_insert_with(|| Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(raw)));
        }
        Ok(())
    }

    /// New values are sealed with key `n` from now on (it must be in the ring).
    pub fn set_current(&self, n: u32) {
        if self.keys.read().is_ok_and(|k| k.contains_key(&n)) {
            self.current.fetch_max(n, Ordering::AcqRel);
        }
    }

    /// A fresh random data key, and its wrapped form for the `vault_keys` table.
    pub fn new_data_key(&self, n: u32) -> (Zeroizing<Vec<u8>>, String) {
        let raw = Zeroizing::new(Aes256Gcm::generate_key(OsRng).to_vec());
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*raw));
        let wrapped = self.seal_with(1, &wrap_aad(&n.to_string()), &b64);
        (raw, wrapped)
    }

    /// Opens a data key wrapped by the master key.
    pub fn unwrap_data_key(&self, n: u32, wrapped: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let b64 = self.open(&wrap_aad(&n.to_string()), wrapped)?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.expose())
            .map(Zeroizing::new)
            .map_err(|_| VaultError::BadFormat)
    }

    /// A value only this master key opens: stored once, checked at every start.
    pub fn canary(&self) -> String {
        self.seal_with(1, &CANARY_AAD, CANARY)
    }

    pub fn check_canary(&self, sealed: &str) -> Result<(), VaultError> {
        match self.open(&CANARY_AAD, sealed) {
            Ok(v) if v.expose() == CANARY => Ok(()),
            _ => Err(VaultError::WrongKey),
        }
    }

    /// Is this value sealed with the current key?
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.starts_with(&format!("v1.{}.", self.current()))
    }

    pub fn seal(&self, aad: &Aad<'_>, plaintext: &str) -> String {
        self.seal_with(self.current(), aad, plaintext)
    }

    fn seal_with(&self, n: u32, aad: &Aad<'_>, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let Ok(keys) = self.keys.read() else {
            return String::new();
        };
        let Some(cipher) = keys.get(&n) else {
            return String::new();
        };
        // Encryption with a valid key and a 12-byte nonce cannot fail for inputs this size.
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad.bytes(),
                },
            )
            .unwrap_or_default();
        format!("v1.{n}.{}.{}", B64.encode(nonce), B64.encode(ct))
    }

    pub fn open(&self, aad: &Aad<'_>, sealed: &str) -> Result<SecretString, VaultError> {
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(num), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(VaultError::BadFormat);
        };
        let num: u32 = num.parse().map_err(|_| VaultError::BadFormat)?;
        let keys = self.keys.read().map_err(|_| VaultError::Decrypt)?;
        let cipher = keys.get(&num).ok_or(VaultError::UnknownKey(num))?;
        let nonce = B64.decode(nonce).map_err(|_| VaultError::BadFormat)?;
        if nonce.len() != 12 {
            return Err(VaultError::BadFormat);
        }
        let ct = B64.decode(ct).map_err(|_| VaultError::BadFormat)?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: &aad.bytes(),
                },
            )
            .map_err(|_| VaultError::Decrypt)?;
        let plain = Zeroizing::new(plain);
        String::from_utf8(plain.to_vec())
            .map(SecretString::new)
            .map_err(|_| VaultError::Decrypt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad {
        table: "streams",
        id: "s1",
        field: "stream_key",
    };

    #[test]
    fn seals_and_opens_only_in_place() {
        let v = Vault::ephemeral();
        let sealed = v.seal(&AAD, "abcd-efgh-ijkl-mnop");
        assert!(!sealed.contains("abcd"));
        assert_eq!(
            v.open(&AAD, &sealed).unwrap().expose(),
            "abcd-efgh-ijkl-mnop"
        );
        let moved = Aad { id: "s2", ..AAD };
        assert!(matches!(v.open(&moved, &sealed), Err(VaultError::Decrypt)));
        assert!(matches!(
            Vault::ephemeral().open(&AAD, &sealed),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(v.open(&AAD, "v1.1.x"), Err(VaultError::BadFormat)));
        assert!(matches!(
            v.open(&AAD, &sealed.replacen("v1.1.", "v1.7.", 1)),
            Err(VaultError::UnknownKey(7))
        ));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("master.key");
        let (v1, created) = Vault::load(None, &file, true).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = v1.seal(&AAD, "secret");
        let (v2, created) = Vault::load(None, &file, true).unwrap();
        assert!(!created);
        assert_eq!(v2.open(&AAD, &sealed).unwrap().expose(), "secret");
        assert!(matches!(
            Vault::load(Some("c2hvcnQ="), &file, true),
            Err(VaultError::BadMasterKey)
        ));
    }
}
