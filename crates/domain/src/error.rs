/// Why a request could not be authenticated. Each dialect renders these in its own error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential in any header style the route accepts.
    Missing,
    /// A header that cannot be parsed, or a key whose format or checksum is wrong.
    Malformed,
    NotFound,
    Revoked,
    Expired,
}

impl AuthFailure {
    pub const ALL: [AuthFailure; 5] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::NotFound,
        AuthFailure::Revoked,
        AuthFailure::Expired,
    ];

    /// Its position in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::NotFound => "not_found",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Expired => "expired",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Missing => "no API key: send it as 'Authorization: Bearer <key>', HTTP Basic with the key as user name, 'X-API-KEY: <key>' or 'Authorization: TOK:<key>'",
            AuthFailure::Malformed => "malformed API key or Authorization header",
            AuthFailure::NotFound => "invalid API key",
            AuthFailure::Revoked => "this API key has been revoked",
            AuthFailure::Expired => "this API key has expired",
        }
    }
}

/// The one error type of the domain and services. Dialects map it to HTTP once each.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    #[error("{0}")]
    Forbidden(String),
    /// The caller lacks the permission the operation needs.
    #[error("{}", denied_message(*permission, *cors_restricted))]
    PermissionDenied {
        permission: crate::Permission,
        /// A CORS key without full access (Livepeer's wording and metrics reason).
        cors_restricted: bool,
    },
    /// A key used from a browser origin it does not allow (backend-only keys allow none).
    #[error("credential disallows CORS access from origin {0}")]
    OriginRefused(String),
    /// Over the key's rate limit.
    #[error("too many requests: retry in {} s", .0.retry_after)]
    RateLimited(crate::RateDecision),
    /// The key has spent its credits.
    #[error("this API key has no credits left")]
    UsageExceeded,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A name that belongs to another account (or environment), or is reserved: 409 in every
    /// dialect (where `Conflict` may be the platform's own duplicate answer, Edgecast's 400).
    #[error("{0}")]
    Owned(String),
    /// The store failed (unreachable, busy, corrupt data): the request may be retried. The store
    /// layer converts its own error into this one, so the domain needs to know nothing of it.
    #[error("the store is unavailable")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store has no space left to write in (disk full): writes are refused until space
    /// returns; reads keep working. 507 in every dialect.
    #[error("the store is out of space: writes are refused until space is freed")]
    StoreFull,
    /// Too much of a costly kind of work is queued already (password hashing): refused at once
    /// rather than queued without bound. The caller may retry after `retry_after` seconds.
    #[error("the server is busy: retry in {retry_after} s")]
    Busy { retry_after: u32 },
    /// A body larger than this server accepts (an upload past the configured size): 413.
    #[error("{0}")]
    TooLarge(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn denied_message(p: crate::Permission, cors_restricted: bool) -> String {
    if cors_restricted {
        format!("access forbidden for CORS-enabled API key with restricted access ({p}); create a key with full API access for this endpoint")
    } else {
        format!("this API key lacks the permission {p}")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::AuthFailure;

    #[test]
    fn every_failure_has_its_own_index() {
        for (i, f) in AuthFailure::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i, "{f:?}");
        }
    }
}
