//! Livepeer-style playback signing keys and the JWTs they sign: ECDSA P-256 (ES256), the key
//! pair handed out as base64 of PEM (the public key as SPKI, the private key as PKCS#8), which
//! is what Livepeer's API returns and what its documented recipes (`signAccessJwt`, PyJWT) read.
//! A playback JWT names its signing key by the `pub` claim (the base64 public key as given).
//!
//! Verification is hand-rolled like `jwt`: one algorithm, the header must say ES256, so no
//! `alg: none` and no key confusion. Expiry and the claims' meaning are the caller's.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::Deserialize;

use crate::SecretString;

/// Longest JWT looked at (a Livepeer playback JWT is about 600 bytes; custom claims add some).
pub const MAX_JWT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlaybackJwtError {
    #[error("not an ES256 JWT")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("not a P-256 key")]
    BadKey,
}

/// A new signing key: the public half to keep, the private half to hand out once.
pub struct KeyPair {
    /// Base64 of the SPKI PEM.
    pub public_key: String,
    /// Base64 of the PKCS#8 PEM.
    pub private_key: SecretString,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_key", &self.public_key)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

pub fn generate() -> Result<KeyPair, PlaybackJwtError> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| PlaybackJwtError::BadKey)?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|_| PlaybackJwtError::BadKey)?;
    Ok(KeyPair {
        public_key: B64.encode(public.as_bytes()),
        private_key: SecretString::new(B64.encode(private.as_bytes())),
    })
}

/// PEM text from base64 of a PEM (as Livepeer hands keys out) or from the PEM itself.
fn pem_of(text: &str) -> Option<String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return Some(text.to_string());
    }
    let raw = B64
        .decode(text)
        .or_else(|_| B64URL.decode(text.trim_end_matches('=')))
        .ok()?;
    String::from_utf8(raw).ok()
}

/// The verifying key of a public key as handed out (base64 of the SPKI PEM).
pub fn public_key(text: &str) -> Result<VerifyingKey, PlaybackJwtError> {
    let pem = pem_of(text).ok_or(PlaybackJwtError::BadKey)?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|_| PlaybackJwtError::BadKey)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// What a playback JWT claims. Unknown claims (`iss`, `video`, `custom`, …) are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlaybackClaims {
    /// The playback id.
    #[serde(default)]
    pub sub: String,
    /// `pull` to watch.
    #[serde(default)]
    pub action: String,
    /// The signing key's public key, as handed out.
    #[serde(default, rename = "pub")]
    pub public_key: String,
    /// Seconds since the epoch.
    #[serde(default)]
    pub exp: Option<f64>,
}

struct Parts<'a> {
    input: &'a str,
    claims: &'a str,
    sig: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, PlaybackJwtError> {
    if token.len() > MAX_JWT {
        return Err(PlaybackJwtError::Malformed);
    }
    let mut it = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(PlaybackJwtError::Malformed);
    };
    let raw = B64URL.decode(h).map_err(|_| PlaybackJwtError::Malformed)?;
    let header: Header = serde_json::from_slice(&raw).map_err(|_| PlaybackJwtError::Malformed)?;
    if header.alg != "ES256" {
        return Err(PlaybackJwtError::Malformed);
    }
    Ok(Parts {
        input: &token[..h.len() + 1 + c.len()],
        claims: c,
        sig: s,
    })
}

/// The claims, unverified: only to find the key that must verify them.
pub fn peek(token: &str) -> Result<PlaybackClaims, PlaybackJwtError> {
    let p = split(token)?;
    let raw = B64URL
        .decode(p.claims)
        .map_err(|_| PlaybackJwtError::Malformed)?;
    serde_json::from_slice(&raw).map_err(|_| PlaybackJwtError::Malformed)
}

/// Checks the ES256 signature with `key` and returns the claims.
pub fn verify(token: &str, key: &VerifyingKey) -> Result<PlaybackClaims, PlaybackJwtError> {
    let p = split(token)?;
    let sig = B64URL
        .decode(p.sig)
        .map_err(|_| PlaybackJwtError::Malformed)?;
    let sig = Signature::from_slice(&sig).map_err(|_| PlaybackJwtError::Malformed)?;
    key.verify(p.input.as_bytes(), &sig)
        .map_err(|_| PlaybackJwtError::BadSignature)?;
    peek(token)
}

/// Signs `claims` as Livepeer's recipe does (for tests, benchmarks and the CLI): `private_key`
/// as handed out at creation (base64 of the PKCS#8 PEM, or the PEM itself).
pub fn sign(private_key: &str, claims: &serde_json::Value) -> Result<String, PlaybackJwtError> {
    let pem = pem_of(private_key).ok_or(PlaybackJwtError::BadKey)?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| PlaybackJwtError::BadKey)?;
    let h = B64URL.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
    let c = B64URL.encode(serde_json::to_vec(claims).map_err(|_| PlaybackJwtError::Malformed)?);
    let input = format!("{h}.{c}");
    let sig: Signature = key.sign(input.as_bytes());
    Ok(format!("{input}.{}", B64URL.encode(sig.to_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_signed_token_verifies_with_its_key_only() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert!(String::from_utf8(B64.decode(&a.public_key).unwrap())
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(
            String::from_utf8(B64.decode(a.private_key.expose()).unwrap())
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let claims = json!({"sub": "abcd1234", "action": "pull", "pub": a.public_key, "exp": 2_000_000_000, "iss": "x", "custom": {"a": 1}});
        let t = sign(a.private_key.expose(), &claims).unwrap();
        let got = verify(&t, &public_key(&a.public_key).unwrap()).unwrap();
        assert_eq!(got.sub, "abcd1234");
        assert_eq!(got.action, "pull");
        assert_eq!(got.public_key, a.public_key);
        assert_eq!(got.exp, Some(2e9));
        assert_eq!(
            verify(&t, &public_key(&b.public_key).unwrap()),
            Err(PlaybackJwtError::BadSignature)
        );
        assert!(!format!("{a:?}").contains(a.private_key.expose()));
    }

    #[test]
    fn tampering_and_other_algorithms_are_refused() {
        let a = generate().unwrap();
        let key = public_key(&a.public_key).unwrap();
        let t = sign(
            a.private_key.expose(),
            &json!({"sub": "p", "pub": a.public_key}),
        )
        .unwrap();
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = B64URL.encode(br#"{"sub":"q","pub":"x"}"#);
        parts[1] = &other;
        assert_eq!(
            verify(&parts.join("."), &key),
            Err(PlaybackJwtError::BadSignature)
        );
        let none = format!("{}.{}.", B64URL.encode(br#"{"alg":"none"}"#), other);
        assert_eq!(verify(&none, &key), Err(PlaybackJwtError::Malformed));
        let hs = format!("{}.{}.c2ln", B64URL.encode(br#"{"alg":"HS256"}"#), other);
        assert_eq!(peek(&hs), Err(PlaybackJwtError::Malformed));
        assert_eq!(verify("a.b", &key), Err(PlaybackJwtError::Malformed));
        assert_eq!(
            verify(&"a".repeat(MAX_JWT + 1), &key),
            Err(PlaybackJwtError::Malformed)
        );
        assert_eq!(
            public_key("bm90IGEga2V5").err(),
            Some(PlaybackJwtError::BadKey)
        );
    }
}
