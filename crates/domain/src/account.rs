use serde::Serialize;
use uuid::Uuid;

use super::Error;

/// An Edgecast-style customer account number: 1 to 8 hexadecimal digits, kept upper case (`0001`, `A1B2`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = !raw.is_empty() && raw.len() <= 8 && raw.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(Error::Invalid(format!(
                "account number must be 1 to 8 hexadecimal digits, like 0001 or A1B2 (got {raw:?})"
            )));
        }
        Ok(Self(raw.to_ascii_uppercase()))
    }

    /// The n-th automatically assigned number, zero-padded to four digits.
    pub fn nth(n: u32) -> Self {
        Self(format!("{n:04X}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub number: AccountNumber,
    pub created_at: i64,
}

pub const MAX_NAME_LEN: usize = 200;

pub fn validate_name(what: &str, name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(format!("{what} name must not be empty")));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Error::Invalid(format!(
            "{what} name must be at most {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "{what} name must not contain control characters"
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_hex_and_upper_cased() {
        assert_eq!(AccountNumber::parse("a1b2").unwrap().as_str(), "A1B2");
        assert_eq!(AccountNumber::nth(1).as_str(), "0001");
        assert_eq!(AccountNumber::nth(255).as_str(), "00FF");
        for bad in ["", "xyz", "123456789", "00 1", "0001/"] {
            assert!(AccountNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("key", "  ci ").unwrap(), "ci");
        assert!(validate_name("key", " ").is_err());
        assert!(validate_name("key", &"x".repeat(201)).is_err());
        assert!(validate_name("key", "a\nb").is_err());
    }
}
