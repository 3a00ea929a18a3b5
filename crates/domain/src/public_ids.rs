//! Public ids in api.video's shape: a two-letter type prefix and the core UUID in base62 (22 characters), so the
//! mapping is reversible and needs no table.

use uuid::Uuid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LEN: usize = 22;

pub fn encode(prefix: &str, id: Uuid) -> String {
    let mut n = id.as_u128();
    let mut out = [b'0'; LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    let mut s = String::with_capacity(prefix.len() + LEN);
    s.push_str(prefix);
    s.extend(out.iter().map(|&b| b as char));
    s
}

pub fn decode(prefix: &str, s: &str) -> Option<Uuid> {
    let digits = s.strip_prefix(prefix)?;
    if digits.len() != LEN {
        return None;
    }
    let mut n: u128 = 0;
    for c in digits.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u128;
        n = n.checked_mul(62)?.checked_add(v)?;
    }
    Some(Uuid::from_u128(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_junk() {
        for id in [Uuid::nil(), Uuid::max(), Uuid::now_v7()] {
            let s = encode("li", id);
            assert_eq!(s.len(), 24);
            assert_eq!(decode("li", &s), Some(id));
        }
        assert_eq!(decode("li", "li123"), None);
        assert_eq!(decode("vi", &encode("li", Uuid::now_v7())), None);
        assert_eq!(
            decode("li", &format!("li{}", "z".repeat(22))),
            None,
            "overflow"
        );
    }
}
