//! What a caller may do: `resource:action` permissions, with `resource:*` and `*` wildcards.
//!
//! A key's effective set is a bitset built once per cached copy of the key (`KeyInfo`), so a
//! service's check is one AND. A key made without explicit permissions gets a preset from its
//! CORS settings: backend-only and full-access keys may do everything (`*`); a CORS key without
//! full access gets exactly Livepeer's published allowlist for browser keys, in every dialect.

use std::fmt;

use crate::Error;

/// The kinds of object a permission names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Streams,
    Sessions,
    Multistream,
    Keys,
    Credentials,
    StreamKeys,
    Webhooks,
    UploadTokens,
    Uploads,
    SigningKeys,
    Usage,
    Audit,
    Account,
    /// Brightcove Live jobs and their VOD clips.
    Jobs,
}

/// What a permission allows on its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    List,
    Create,
    Update,
    Delete,
    /// Put to work: a credential sent to a destination, a key verified for another service.
    Use,
}

impl Resource {
    pub const ALL: [Resource; 14] = [
        Resource::Streams,
        Resource::Sessions,
        Resource::Multistream,
        Resource::Keys,
        Resource::Credentials,
        Resource::StreamKeys,
        Resource::Webhooks,
        Resource::UploadTokens,
        Resource::Uploads,
        Resource::SigningKeys,
        Resource::Usage,
        Resource::Audit,
        Resource::Account,
        Resource::Jobs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Streams => "streams",
            Resource::Sessions => "sessions",
            Resource::Multistream => "multistream",
            Resource::Keys => "keys",
            Resource::Credentials => "credentials",
            Resource::StreamKeys => "stream_keys",
            Resource::Webhooks => "webhooks",
            Resource::UploadTokens => "upload_tokens",
            Resource::Uploads => "uploads",
            Resource::SigningKeys => "signing_keys",
            Resource::Usage => "usage",
            Resource::Audit => "audit",
            Resource::Account => "account",
            Resource::Jobs => "jobs",
        }
    }
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Read,
        Action::List,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Use,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::List => "list",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Use => "use",
        }
    }
}

/// One `resource:action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission(pub Resource, pub Action);

impl Permission {
    fn bit(self) -> u128 {
        1u128 << (self.0 as u32 * Action::ALL.len() as u32 + self.1 as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0.as_str(), self.1.as_str())
    }
}

impl std::str::FromStr for Permission {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let set = Permissions::parse_one(s)?;
        let mut found = None;
        for r in Resource::ALL {
            for a in Action::ALL {
                if set.allows(Permission(r, a)) {
                    if found.is_some() {
                        return Err(Error::Invalid(format!(
                            "{s:?} names several permissions; name one, like streams:read"
                        )));
                    }
                    found = Some(Permission(r, a));
                }
            }
        }
        found.ok_or_else(|| Error::Invalid(format!("unknown permission {s:?}")))
    }
}

/// A set of permissions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u128);

/// At most this many permission strings per key.
pub const MAX_PERMISSIONS: usize = 100;

impl Permissions {
    pub const NONE: Permissions = Permissions(0);

    pub fn all() -> Self {
        let mut s = Self::NONE;
        for r in Resource::ALL {
            s = s.with_resource(r);
        }
        s
    }

    fn with_resource(mut self, r: Resource) -> Self {
        for a in Action::ALL {
            self.0 |= Permission(r, a).bit();
        }
        self
    }

    pub fn with(mut self, p: Permission) -> Self {
        self.0 |= p.bit();
        self
    }

    pub fn without_resource(mut self, r: Resource) -> Self {
        for a in Action::ALL {
            self.0 &= !Permission(r, a).bit();
        }
        self
    }

    pub fn allows(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn is_subset_of(self, other: Permissions) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_all(self) -> bool {
        self == Self::all()
    }

    /// `*`, `streams:*` or `streams:read`.
    fn parse_one(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s == "*" {
            return Ok(Self::all());
        }
        let bad = || {
            Error::Invalid(format!(
                "permission {s:?} must be resource:action or *, with resources {} and actions {} (or *)",
                Resource::ALL.map(Resource::as_str).join(" "),
                Action::ALL.map(Action::as_str).join(" ")
            ))
        };
        let (r, a) = s.split_once(':').ok_or_else(bad)?;
        let r = Resource::ALL
            .into_iter()
            .find(|x| x.as_str() == r)
            .ok_or_else(bad)?;
        if a == "*" {
            return Ok(Self::NONE.with_resource(r));
        }
        let a = Action::ALL
            .into_iter()
            .find(|x| x.as_str() == a)
            .ok_or_else(bad)?;
        Ok(Self::NONE.with(Permission(r, a)))
    }

    /// The union of `resource:action`, `resource:*` and `*` strings; errors name the bad one.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Self, Error> {
        if list.len() > MAX_PERMISSIONS {
            return Err(Error::Invalid(format!(
                "at most {MAX_PERMISSIONS} permissions per key"
            )));
        }
        list.iter().try_fold(Self::NONE, |acc, s| {
            Ok(Self(acc.0 | Self::parse_one(s.as_ref())?.0))
        })
    }

    /// The shortest list of strings for this set: `*`, then `resource:*`, then single ones.
    pub fn to_strings(self) -> Vec<String> {
        if self.is_all() {
            return vec!["*".into()];
        }
        let mut out = Vec::new();
        for r in Resource::ALL {
            let whole = Self::NONE.with_resource(r);
            if self.0 & whole.0 == whole.0 {
                out.push(format!("{}:*", r.as_str()));
                continue;
            }
            for a in Action::ALL {
                if self.allows(Permission(r, a)) {
                    out.push(Permission(r, a).to_string());
                }
            }
        }
        out
    }

    /// Livepeer's allowlist for CORS-enabled keys without full API access: create, read and
    /// update streams, read their sessions, create, read and update multistream targets, and the
    /// asset and task operations of direct uploads. Nothing else: no listing, no deleting, no
    /// keys, credentials, stream keys, webhooks, usage or audit.
    pub fn cors_restricted() -> Self {
        use Action::*;
        use Resource::*;
        [
            Permission(Streams, Create),
            Permission(Streams, Read),
            Permission(Streams, Update),
            Permission(Sessions, Read),
            Permission(Multistream, Create),
            Permission(Multistream, Read),
            Permission(Multistream, Update),
            Permission(Uploads, Create),
            Permission(Uploads, Read),
            Permission(Uploads, Update),
        ]
        .into_iter()
        .fold(Self::NONE, Self::with)
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.to_strings()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_singles_parse_and_print_back() {
        let p = Permissions::parse(&["streams:*", "keys:read"]).unwrap();
        assert!(p.allows(Permission(Resource::Streams, Action::Delete)));
        assert!(p.allows(Permission(Resource::Keys, Action::Read)));
        assert!(!p.allows(Permission(Resource::Keys, Action::List)));
        assert_eq!(p.to_strings(), vec!["streams:*", "keys:read"]);
        assert_eq!(Permissions::parse(&["*"]).unwrap().to_strings(), vec!["*"]);
        assert_eq!(Permissions::parse::<&str>(&[]).unwrap(), Permissions::NONE);
        for bad in ["streams", "streams:fly", "things:read", "", "*:*"] {
            let e = Permissions::parse(&[bad]).unwrap_err().to_string();
            assert!(e.contains("resource:action"), "{bad}: {e}");
        }
        assert_eq!(
            "stream_keys:use".parse::<Permission>().unwrap(),
            Permission(Resource::StreamKeys, Action::Use)
        );
        assert!("streams:*".parse::<Permission>().is_err());
    }

    #[test]
    fn every_permission_has_its_own_bit() {
        let mut seen = std::collections::HashSet::new();
        for r in Resource::ALL {
            for a in Action::ALL {
                assert!(seen.insert(Permission(r, a).bit()));
            }
        }
        assert_eq!(Permissions::all().0.count_ones() as usize, seen.len());
    }

    #[test]
    fn the_cors_preset_is_livepeers_allowlist() {
        let p = Permissions::cors_restricted();
        assert!(p.allows(Permission(Resource::Streams, Action::Create)));
        assert!(!p.allows(Permission(Resource::Streams, Action::List)));
        assert!(!p.allows(Permission(Resource::Streams, Action::Delete)));
        assert!(!p.allows(Permission(Resource::Keys, Action::Read)));
        assert!(!p.allows(Permission(Resource::Usage, Action::Read)));
        assert!(!p.allows(Permission(Resource::Audit, Action::Read)));
        assert!(!p.allows(Permission(Resource::StreamKeys, Action::Read)));
    }
}
