//! API key secrets: `sg_<env>_<30 random base62><6 base62 CRC32>`.
//!
//! The recognisable prefix lets secret scanners find leaked keys; the checksum lets a mistyped or
//! made-up key be refused before any hashing, cache or store lookup.

use super::{random_base62, sha256, SecretString, BASE62};
use domain::Environment;

pub(crate) const RANDOM_LEN: usize = 30;
pub(crate) const CHECK_LEN: usize = 6;
/// Characters of the random part shown to humans after the `sg_<env>_` tag.
const PREFIX_RANDOM_CHARS: usize = 8;

fn env_tag(env: Environment) -> &'static str {
    match env {
        Environment::Sandbox => "sg_sandbox_",
        Environment::Production => "sg_production_",
    }
}

pub(crate) fn checksum(body: &str) -> [u8; CHECK_LEN] {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// A freshly generated key. The secret is shown once and then dropped (and zeroed).
#[derive(Debug)]
pub struct KeySecret {
    pub secret: SecretString,
    pub hash: [u8; 32],
    pub prefix: String,
}

impl KeySecret {
    pub fn generate(env: Environment) -> Self {
        let mut s = String::with_capacity(48);
        s.push_str(env_tag(env));
        s.push_str(&random_base62(RANDOM_LEN));
        let check = checksum(&s);
        s.extend(check.iter().map(|&b| b as char));
        let hash = sha256(s.as_bytes());
        let prefix = s[..env_tag(env).len() + PREFIX_RANDOM_CHARS].to_string();
        Self {
            secret: SecretString::new(s),
            hash,
            prefix,
        }
    }
}

/// A presented key that passed the format and checksum test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey {
    pub environment: Environment,
    pub hash: [u8; 32],
}

impl ParsedKey {
    /// Format and checksum test; `None` means malformed. Pure CPU, no lookup.
    pub fn parse(presented: &str) -> Option<Self> {
        let (environment, rest) = if let Some(r) = presented.strip_prefix("sg_production_") {
            (Environment::Production, r)
        } else if let Some(r) = presented.strip_prefix("sg_sandbox_") {
            (Environment::Sandbox, r)
        } else {
            return None;
        };
        if rest.len() != RANDOM_LEN + CHECK_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (body, check) = presented.split_at(presented.len() - CHECK_LEN);
        if checksum(body) != check.as_bytes() {
            return None;
        }
        Some(Self {
            environment,
            hash: sha256(presented.as_bytes()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_carry_their_environment() {
        for env in [Environment::Sandbox, Environment::Production] {
            let k = KeySecret::generate(env);
            let s = k.secret.expose();
            assert!(s.starts_with(&format!("sg_{env}_")));
            assert_eq!(s.len(), env_tag(env).len() + 36);
            let p = ParsedKey::parse(s).expect("parses");
            assert_eq!(p.environment, env);
            assert_eq!(p.hash, k.hash);
            assert!(s.starts_with(&k.prefix) && k.prefix.len() < s.len() - 20);
        }
    }

    #[test]
    fn a_single_typo_fails_the_checksum() {
        let k = KeySecret::generate(Environment::Production);
        let s = k.secret.expose().to_string();
        for i in env_tag(Environment::Production).len()..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(b).unwrap();
            assert!(ParsedKey::parse(&typo).is_none(), "typo at {i} accepted");
        }
        assert!(ParsedKey::parse("sg_production_short").is_none());
        assert!(ParsedKey::parse(&s.replace("sg_production_", "sg_sandbox_")).is_none());
        assert!(ParsedKey::parse("").is_none());
    }
}

/// Properties over arbitrary input: the parser never panics, a generated key always parses back,
/// and any one-character change is refused.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>()) {
            let _ = ParsedKey::parse(&s);
        }

        #[test]
        fn text_shaped_like_a_key_never_panics(
            tag in prop::sample::select(vec!["sg_production_", "sg_sandbox_", "sg_", ""]),
            rest in any::<String>(),
            alnum in "[a-zA-Z0-9]{30,42}",
        ) {
            let _ = ParsedKey::parse(&format!("{tag}{rest}"));
            let forged = format!("{tag}{alnum}");
            if let Some(p) = ParsedKey::parse(&forged) {
                // Only a correct checksum gets through.
                let (body, check) = forged.split_at(forged.len() - CHECK_LEN);
                prop_assert_eq!(&checksum(body)[..], check.as_bytes());
                prop_assert_eq!(p.hash, sha256(forged.as_bytes()));
            }
        }

        #[test]
        fn generated_keys_parse_back_and_mutants_do_not(
            production in any::<bool>(),
            at in any::<prop::sample::Index>(),
            with in any::<char>(),
        ) {
            let env = if production { Environment::Production } else { Environment::Sandbox };
            let k = KeySecret::generate(env);
            let s = k.secret.expose();
            let p = ParsedKey::parse(s);
            prop_assert_eq!(p, Some(ParsedKey { environment: env, hash: k.hash }));
            let chars: Vec<char> = s.chars().collect();
            let i = at.index(chars.len());
            prop_assume!(chars[i] != with);
            let mut mutant = chars.clone();
            mutant[i] = with;
            let mutant: String = mutant.into_iter().collect();
            prop_assert!(ParsedKey::parse(&mutant).is_none(), "{} accepted", i);
        }
    }
}
