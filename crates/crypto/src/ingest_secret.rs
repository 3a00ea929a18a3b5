//! Ingest token secrets: `sgi_<30 random base62><6 base62 CRC32>`, shaped like API keys (so a
//! leaked one is recognisable and a made-up one is refused before any hashing or lookup) but
//! with a prefix of their own: an API key is never an ingest token, nor the other way round.

use super::key_secret::{checksum, CHECK_LEN, RANDOM_LEN};
use super::{random_base62, sha256, SecretString};

const TAG: &str = "sgi_";

/// A freshly generated ingest token: shown once, stored as its hash.
#[derive(Debug)]
pub struct IngestSecret {
    pub secret: SecretString,
    pub hash: [u8; 32],
}

impl IngestSecret {
    pub fn generate() -> Self {
        let mut s = String::with_capacity(TAG.len() + RANDOM_LEN + CHECK_LEN);
        s.push_str(TAG);
        s.push_str(&random_base62(RANDOM_LEN));
        let check = checksum(&s);
        s.extend(check.iter().map(|&b| b as char));
        let hash = sha256(s.as_bytes());
        Self {
            secret: SecretString::new(s),
            hash,
        }
    }

    /// Format and checksum test, then the hash to look up; `None` means malformed. No lookup.
    pub fn parse(presented: &str) -> Option<[u8; 32]> {
        let rest = presented.strip_prefix(TAG)?;
        if rest.len() != RANDOM_LEN + CHECK_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (body, check) = presented.split_at(presented.len() - CHECK_LEN);
        (checksum(body) == check.as_bytes()).then(|| sha256(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_typos_do_not() {
        let t = IngestSecret::generate();
        let s = t.secret.expose().to_string();
        assert!(s.starts_with("sgi_") && s.len() == 40);
        assert_eq!(IngestSecret::parse(&s), Some(t.hash));
        let mut b = s.clone().into_bytes();
        b[10] = if b[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(IngestSecret::parse(&String::from_utf8(b).unwrap()), None);
        assert_eq!(IngestSecret::parse("sgi_short"), None);
        assert_eq!(IngestSecret::parse(""), None);
        let key = crate::KeySecret::generate(domain::Environment::Production);
        assert_eq!(IngestSecret::parse(key.secret.expose()), None);
    }
}

/// Properties: arbitrary text never panics the parser; a generated token parses back; any
/// one-character change, and every API key, is refused.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(s in any::<String>(), alnum in "sgi_[a-zA-Z0-9]{34,38}") {
            let _ = IngestSecret::parse(&s);
            let _ = IngestSecret::parse(&format!("sgi_{s}"));
            let _ = IngestSecret::parse(&alnum);
        }

        #[test]
        fn generated_tokens_parse_back_and_mutants_do_not(
            at in any::<prop::sample::Index>(),
            with in any::<char>(),
        ) {
            let t = IngestSecret::generate();
            let s = t.secret.expose();
            prop_assert_eq!(IngestSecret::parse(s), Some(t.hash));
            let chars: Vec<char> = s.chars().collect();
            let i = at.index(chars.len());
            prop_assume!(chars[i] != with);
            let mut mutant = chars.clone();
            mutant[i] = with;
            let mutant: String = mutant.into_iter().collect();
            prop_assert_eq!(IngestSecret::parse(&mutant), None);
            let key = crate::KeySecret::generate(domain::Environment::Sandbox);
            prop_assert_eq!(IngestSecret::parse(key.secret.expose()), None);
        }
    }
}
