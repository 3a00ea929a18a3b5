//! Brightcove Live credentials: typed secrets an account stores and later features reference by
//! label (or as the default of their type).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Environment, Error};
use crate::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialType {
    Ftp,
    Http,
    Oauth,
    Rtmp,
    S3,
    Videocloud,
    Zencoder,
}

impl CredentialType {
    pub const ALL: [CredentialType; 7] = [
        Self::Ftp,
        Self::Http,
        Self::Oauth,
        Self::Rtmp,
        Self::S3,
        Self::Videocloud,
        Self::Zencoder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ftp => "ftp",
            Self::Http => "http",
            Self::Oauth => "oauth",
            Self::Rtmp => "rtmp",
            Self::S3 => "s3",
            Self::Videocloud => "videocloud",
            Self::Zencoder => "zencoder",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "credential_type must be one of ftp, http, oauth, rtmp, s3, videocloud, zencoder (got {s:?})"
                ))
            })
    }

    /// What `credential_public` holds for this type (used in error messages).
    fn public_means(self) -> &'static str {
        match self {
            Self::Ftp | Self::Http | Self::Rtmp => "the user name",
            Self::Oauth | Self::Videocloud => "the client id",
            Self::S3 => "the access key id",
            Self::Zencoder => "the account name or id",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credential {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    /// The user it is for; `None`: every user of the account.
    pub user_id: Option<String>,
    pub label: String,
    pub kind: CredentialType,
    pub public: String,
    pub private: SecretString,
    pub default_for_type: bool,
    /// Type-specific settings (e.g. the token URL of an `oauth` credential).
    pub token_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The longest OAuth token URL accepted.
pub const MAX_TOKEN_URL_LEN: usize = 2048;

/// `****` and the last four characters at most; short secrets show nothing.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 8 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("****{tail}")
}

fn is_http_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(' '))
}

fn query_safe(s: &str) -> bool {
    !s.chars()
        .any(|ch| matches!(ch, '&' | '=' | '?' | '/' | ' '))
}

/// The per-type rules of a credential's fields.
pub fn validate(c: &Credential) -> Result<(), Error> {
    let label = c.label.trim();
    if label.is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "credential_label is required: 1 to 200 printable characters".into(),
        ));
    }
    if c.public.trim().is_empty() || c.public.len() > 1024 {
        return Err(Error::Invalid(format!(
            "credential_public is required for {} credentials: {} (at most 1024 characters)",
            c.kind.as_str(),
            c.kind.public_means()
        )));
    }
    let private = c.private.expose();
    if private.is_empty() || private.len() > 8192 {
        return Err(Error::Invalid(format!(
            "credential_private is required for {} credentials (at most 8192 characters)",
            c.kind.as_str()
        )));
    }
    if let Some(u) = &c.user_id {
        if Uuid::parse_str(u).is_err() && (u.is_empty() || u.len() > 64) {
            return Err(Error::Invalid("user_id must be a user GUID".into()));
        }
    }
    match c.kind {
        CredentialType::Oauth => match &c.token_url {
            Some(u) if is_http_url(u) && u.len() <= MAX_TOKEN_URL_LEN && !u.chars().any(char::is_control) => {}
            _ => return Err(Error::Invalid(
                "oauth credentials need credential_token_url: the http(s) URL that issues tokens, at most 2048 characters"
                    .into(),
            )),
        },
        _ if c.token_url.is_some() => {
            return Err(Error::Invalid(format!(
                "credential_token_url only applies to oauth credentials, not {}",
                c.kind.as_str()
            )));
        }
        CredentialType::S3 => {
            // AWS access key ids are 16-128 upper-case letters and digits.
            let ok = (16..=128).contains(&c.public.len())
                && c.public
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit());
            if !ok {
                return Err(Error::Invalid(
                    "s3 credentials: credential_public must be the access key id (16-128 upper-case letters and digits)"
                        .into(),
                ));
            }
        }
        // It is presented by encoders in a URL query: no separators there.
        CredentialType::Rtmp if !query_safe(&c.public) || !query_safe(private) => {
            return Err(Error::Invalid(
                "rtmp credentials: user name and password must not contain & = ? / or spaces"
                    .into(),
            ));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(kind: CredentialType, public: &str, private: &str) -> Credential {
        Credential {
            id: Uuid::nil(),
            account_id: Uuid::nil(),
            environment: Environment::Production,
            user_id: None,
            label: "l".into(),
            kind,
            public: public.into(),
            private: SecretString::new(private.into()),
            default_for_type: false,
            token_url: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn per_type_rules() {
        assert!(validate(&cred(CredentialType::Ftp, "user", "pw")).is_ok());
        assert!(validate(&cred(CredentialType::Ftp, "", "pw")).is_err());
        assert!(validate(&cred(CredentialType::Http, "user", "")).is_err());
        let mut o = cred(CredentialType::Oauth, "client", "secret");
        assert!(validate(&o).is_err(), "oauth needs a token url");
        o.token_url = Some("https://auth.example.com/token".into());
        assert!(validate(&o).is_ok());
        o.token_url = Some("ftp://x".into());
        assert!(validate(&o).is_err());
        let mut f = cred(CredentialType::Ftp, "u", "p");
        f.token_url = Some("https://a/".into());
        assert!(validate(&f).is_err());
        assert!(validate(&cred(CredentialType::S3, "AKIAIOSFODNN7EXAMPLE", "wJalr")).is_ok());
        assert!(validate(&cred(CredentialType::S3, "not-a-key", "x")).is_err());
        assert!(validate(&cred(CredentialType::Rtmp, "enc1", "p4ss")).is_ok());
        assert!(validate(&cred(CredentialType::Rtmp, "enc&1", "p")).is_err());
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("a-long-secret-1234"), "****1234");
        assert!(CredentialType::parse("sftp").is_err());
    }
}
