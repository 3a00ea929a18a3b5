//! Access tokens: compact JWS with EdDSA (Ed25519), `kid` in the header. Hand-rolled on purpose:
//! one algorithm, fixed header, no `alg` negotiation, so no `alg: none` or key-confusion attacks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The API key the token stands for.
    pub sub: String,
    pub acct: String,
    pub env: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The refresh-token family the token was issued in: a replayed refresh token revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// MediaMTX's own claim (publish tokens only): what the bearer may do on which path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediamtx_permissions: Option<Vec<MediamtxPermission>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediamtxPermission {
    pub action: String,
    pub path: String,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a JWT")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
}

/// Signs `claims` with `key` under `kid` (seconds-based `iat`/`exp`, as RFC 7519 wants).
pub fn sign(kid: &str, key: &SigningKey, claims: &Claims) -> String {
    let header = Header {
        alg: "EdDSA",
        typ: "JWT",
        kid,
    };
    // Serialising plain structs of strings and integers cannot fail.
    let h = B64URL.encode(serde_json::to_vec(&header).unwrap_or_default());
    let c = B64URL.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{h}.{c}");
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", B64URL.encode(sig.to_bytes()))
}

/// The `kid` a token claims to be signed with (unverified: only to pick the key).
pub fn kid_of(token: &str) -> Result<String, JwtError> {
    let h = token.split('.').next().ok_or(JwtError::Malformed)?;
    let raw = B64URL.decode(h).map_err(|_| JwtError::Malformed)?;
    let header: Header<'_> = serde_json::from_slice(&raw).map_err(|_| JwtError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(JwtError::Malformed);
    }
    Ok(header.kid.to_string())
}

/// Checks the signature and returns the claims. Expiry is the caller's business (it owns the clock).
pub fn verify(token: &str, key: &VerifyingKey) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let sig = B64URL.decode(s).map_err(|_| JwtError::Malformed)?;
    let sig = Signature::from_slice(&sig).map_err(|_| JwtError::Malformed)?;
    let input = &token[..h.len() + 1 + c.len()];
    key.verify(input.as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature)?;
    let raw = B64URL.decode(c).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&raw).map_err(|_| JwtError::Malformed)
}

/// The public half as a JWK (RFC 8037).
pub fn jwk(kid: &str, key: &VerifyingKey) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": B64URL.encode(key.as_bytes()),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "k".into(),
            acct: "a".into(),
            env: "production".into(),
            scope: "api".into(),
            iat: 1,
            exp: 2,
            jti: "j".into(),
            fam: None,
            mediamtx_permissions: None,
        }
    }

    #[test]
    fn signs_and_verifies_and_rejects_tampering() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let t = sign("k1", &key, &claims());
        assert_eq!(kid_of(&t).unwrap(), "k1");
        assert_eq!(verify(&t, &key.verifying_key()).unwrap(), claims());
        let other = SigningKey::generate(&mut rand::rngs::OsRng);
        assert_eq!(
            verify(&t, &other.verifying_key()),
            Err(JwtError::BadSignature)
        );
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64URL.encode(
            br#"{"sub":"k","acct":"b","env":"production","scope":"api","iat":1,"exp":9,"jti":"j"}"#,
        );
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &key.verifying_key()),
            Err(JwtError::BadSignature)
        );
        let none = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert!(kid_of(&none).is_err());
        assert!(verify(&none, &key.verifying_key()).is_err());
        assert_eq!(kid_of("abc"), Err(JwtError::Malformed));
    }
}

/// Properties: arbitrary text never panics `kid_of` or `verify`; what `sign` makes verifies back
/// to the same claims; any one-character change of a token fails verification.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn claims() -> impl Strategy<Value = Claims> {
        (
            any::<String>(),
            "[a-z0-9-]{0,40}",
            prop::sample::select(vec!["production", "sandbox"]),
            any::<i64>(),
            any::<i64>(),
            prop::option::of(any::<String>()),
            prop::option::of(prop::collection::vec(
                (any::<String>(), any::<String>()),
                0..3,
            )),
        )
            .prop_map(|(sub, acct, env, iat, exp, fam, perms)| Claims {
                sub,
                acct,
                env: env.into(),
                scope: "api".into(),
                iat,
                exp,
                jti: "j".into(),
                fam,
                mediamtx_permissions: perms.map(|p| {
                    p.into_iter()
                        .map(|(action, path)| MediamtxPermission { action, path })
                        .collect()
                }),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>(), parts in prop::collection::vec("[A-Za-z0-9_-]{0,90}", 0..5)) {
            let vk = key().verifying_key();
            let _ = kid_of(&s);
            let _ = verify(&s, &vk);
            let dotted = parts.join(".");
            let _ = kid_of(&dotted);
            prop_assert!(verify(&dotted, &vk).is_err());
        }

        #[test]
        fn signed_claims_verify_back_and_mutants_do_not(
            c in claims(),
            kid in "[a-zA-Z0-9]{1,16}",
            at in any::<prop::sample::Index>(),
            with in "[A-Za-z0-9_.=-]",
        ) {
            let k = key();
            let token = sign(&kid, &k, &c);
            prop_assert_eq!(kid_of(&token), Ok(kid));
            prop_assert_eq!(verify(&token, &k.verifying_key()), Ok(c));
            let mut bytes = token.clone().into_bytes();
            let i = at.index(bytes.len());
            let with = with.as_bytes()[0];
            prop_assume!(bytes[i] != with);
            bytes[i] = with;
            let mutant = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(verify(&mutant, &k.verifying_key()).is_err(), "{mutant} verified");
        }
    }
}
