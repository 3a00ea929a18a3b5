use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, AtomicU64};
use uuid::Uuid;

use super::{Error, Permissions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Sandbox,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "sandbox" => Ok(Environment::Sandbox),
            "production" => Ok(Environment::Production),
            other => Err(Error::Invalid(format!(
                "environment must be sandbox or production (got {other:?})"
            ))),
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CORS settings of a key, as Livepeer models them. Keys are backend-only unless origins are listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub allowed_origins: Vec<String>,
    pub full_access: bool,
}

pub const MAX_ORIGINS: usize = 50;

impl Cors {
    /// Validates and normalises origins: `*`, or scheme://host[:port] with no path.
    pub fn new(origins: Vec<String>, full_access: bool) -> Result<Self, Error> {
        if origins.len() > MAX_ORIGINS {
            return Err(Error::Invalid(format!(
                "at most {MAX_ORIGINS} allowed origins per key"
            )));
        }
        let mut out: Vec<String> = Vec::with_capacity(origins.len());
        for o in origins {
            let o = normalize_origin(&o)?;
            if !out.contains(&o) {
                out.push(o);
            }
        }
        Ok(Self {
            allowed_origins: out,
            full_access,
        })
    }

    pub fn is_cors_enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    pub fn is_restricted(&self) -> bool {
        self.is_cors_enabled() && !self.full_access
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

fn normalize_origin(raw: &str) -> Result<String, Error> {
    let o = raw.trim();
    if o == "*" {
        return Ok(o.to_string());
    }
    let bad = || {
        Error::Invalid(format!(
            "origin {raw:?} must be \"*\" or scheme://host[:port], like http://localhost:8080 or https://my.app.io"
        ))
    };
    let (scheme, rest) = o.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(bad());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    if !host_ok || !port_ok {
        return Err(bad());
    }
    Ok(o.to_ascii_lowercase())
}

/// A request budget: at most `limit` requests per `duration_ms`, per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub duration_ms: i64,
}

impl RateLimit {
    /// Validates a caller's `{limit, durationSeconds}`.
    pub fn new(limit: i64, duration_secs: i64) -> Result<Self, Error> {
        if !(1..=1_000_000_000).contains(&limit) {
            return Err(Error::Invalid(
                "ratelimit.limit must be 1 to 1000000000".into(),
            ));
        }
        if !(1..=31 * 86_400).contains(&duration_secs) {
            return Err(Error::Invalid(
                "ratelimit.durationSeconds must be 1 to 2678400 (31 days)".into(),
            ));
        }
        Ok(Self {
            limit: limit as u32,
            duration_ms: duration_secs * 1000,
        })
    }
}

/// How often spent credits are restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefillInterval {
    Daily,
    Monthly,
}

impl RefillInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            RefillInterval::Daily => "daily",
            RefillInterval::Monthly => "monthly",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "daily" => Ok(Self::Daily),
            "monthly" => Ok(Self::Monthly),
            other => Err(Error::Invalid(format!(
                "credits.refill.interval must be daily or monthly (got {other:?})"
            ))),
        }
    }

    /// Milliseconds between refills (a month counts as 30 days).
    pub fn ms(self) -> i64 {
        match self {
            RefillInterval::Daily => 86_400_000,
            RefillInterval::Monthly => 30 * 86_400_000,
        }
    }
}

/// Credits restored to `amount` every `interval`, counted from `refilled_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refill {
    pub interval: RefillInterval,
    pub amount: i64,
    pub refilled_at: i64,
}

/// A key's usage budget: each authenticated request spends one credit; at 0 it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credits {
    pub remaining: i64,
    pub refill: Option<Refill>,
}

pub const MAX_CREDITS: i64 = 1_000_000_000_000;

impl Credits {
    /// Validates a caller's credits: `remaining` 0 to 10^12, a refill of `(interval, amount)`
    /// with an amount 1 to 10^12, counted from `now`.
    pub fn new(remaining: i64, refill: Option<(&str, i64)>, now: i64) -> Result<Self, Error> {
        if !(0..=MAX_CREDITS).contains(&remaining) {
            return Err(Error::Invalid(
                "credits.remaining must be 0 to 10^12".into(),
            ));
        }
        let refill = match refill {
            Some((interval, amount)) => {
                if !(1..=MAX_CREDITS).contains(&amount) {
                    return Err(Error::Invalid(
                        "credits.refill.amount must be 1 to 10^12".into(),
                    ));
                }
                Some(Refill {
                    interval: RefillInterval::parse(interval)?,
                    amount,
                    refilled_at: now,
                })
            }
            None => None,
        };
        Ok(Self { remaining, refill })
    }

    /// `{remaining, refill: {interval, amount} | null}`, as every caller shows it.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "remaining": self.remaining,
            "refill": self.refill.map(|r| serde_json::json!({"interval": r.interval.as_str(), "amount": r.amount})),
        })
    }
}

impl RateLimit {
    /// `{limit, durationSeconds}`, as every caller shows it.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({"limit": self.limit, "durationSeconds": self.duration_ms / 1000})
    }
}
/// The longest `meta` JSON a key may carry.
pub const MAX_META_BYTES: usize = 4096;

/// What a key may do and how much, beyond who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Explicit permissions; None: the preset its CORS settings imply (see `effective`).
    pub permissions: Option<Permissions>,
    /// Its own rate limit; None: the server's default.
    pub ratelimit: Option<RateLimit>,
    pub credits: Option<Credits>,
    /// A caller-supplied JSON object, returned by verify and never interpreted.
    pub meta: Option<String>,
}

impl KeyPolicy {
    /// The permissions a key holds: its explicit list, else `*` for backend-only and full-access
    /// keys and Livepeer's browser allowlist for CORS keys without full access.
    pub fn effective(&self, cors: &Cors) -> Permissions {
        match self.permissions {
            Some(p) => p,
            None if cors.is_restricted() => Permissions::cors_restricted(),
            None => Permissions::all(),
        }
    }

    /// Checks a caller-supplied `meta`: a JSON object of bounded size.
    pub fn check_meta(meta: &serde_json::Value) -> Result<String, Error> {
        if !meta.is_object() {
            return Err(Error::Invalid("meta must be a JSON object".into()));
        }
        let text = meta.to_string();
        if text.len() > MAX_META_BYTES {
            return Err(Error::Invalid(format!(
                "meta must be at most {MAX_META_BYTES} bytes of JSON"
            )));
        }
        Ok(text)
    }
}

/// An API key as stored: everything but the secret, which exists only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub environment: Environment,
    /// The first characters of the secret, for humans to tell keys apart. Not enough to use it.
    pub prefix: String,
    pub cors: Cors,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub policy: KeyPolicy,
}

impl ApiKey {
    pub fn status(&self, now_ms: i64) -> VerifyCode {
        if self.revoked_at.is_some() {
            VerifyCode::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now_ms) {
            VerifyCode::Expired
        } else {
            VerifyCode::Valid
        }
    }
}

/// What the verify path caches about a key: enough to build an `Actor` without the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub environment: Environment,
    pub cors: Cors,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// What it may do: built once per cached copy, so a check is one AND.
    pub permissions: Permissions,
    pub ratelimit: Option<RateLimit>,
    /// Credits left when this copy was read from the store (None: unlimited).
    pub credits: Option<i64>,
    /// The key's caller-supplied JSON object (returned by verify).
    pub meta: Option<String>,
    /// Answers derived from this cached copy of the key, kept with it.
    pub memo: KeyMemo,
}

/// Values kept with a cached `KeyInfo` for as long as that copy lives: the `/sg/v1/me` body,
/// which costs more to serialize than verifying the key does, and the copy's use counter (so that
/// counting a request takes no lock). A changed key is a new `KeyInfo` from the verifier, with an
/// empty memo, so nothing stale is ever served. Not part of the key's identity: ignored by `==`,
/// empty in a clone (which may then be edited).
#[derive(Default)]
pub struct KeyMemo {
    pub me_json: std::sync::OnceLock<bytes::Bytes>,
    /// Set by the usage recorder on this copy's first use; the recorder holds it too.
    pub uses: std::sync::OnceLock<std::sync::Arc<UseCounter>>,
    /// The key's counters, shared by every copy of it (set by the verifier when it makes one).
    pub counters: std::sync::OnceLock<std::sync::Arc<KeyCounters>>,
}

/// What the admission of requests counts per key, shared by every cached copy of the key (a
/// copy is replaced whenever the key changes; its rate-limit window must not restart then).
#[derive(Debug, Default)]
pub struct KeyCounters {
    pub window: RateWindow,
    /// Credits spent and not yet subtracted in the store.
    pub spent: AtomicI64,
    /// What the other instances on the store admitted in window `others_window` (synced about
    /// twice a second).
    pub others: AtomicU64,
    pub others_window: AtomicI64,
    /// Counted since the last sync (the sync task then has it on its list).
    pub dirty: std::sync::atomic::AtomicBool,
}

impl KeyCounters {
    /// Admits one request against `limit`, counting what the other instances admitted in the
    /// same window as far as the last sync knew.
    pub fn take(&self, limit: RateLimit, now: i64) -> RateDecision {
        use std::sync::atomic::Ordering::Acquire;
        let start = now - now.rem_euclid(limit.duration_ms.max(1));
        let others = if self.others_window.load(Acquire) == start {
            self.others.load(Acquire)
        } else {
            0
        };
        self.window.take(limit, now, others)
    }
}

/// A fixed rate-limit window counted with atomics only: the window's start and how many requests
/// it has admitted. No lock on the request path.
#[derive(Debug, Default)]
pub struct RateWindow {
    pub start: AtomicI64,
    pub count: AtomicU64,
}

/// A rate-limit decision, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (0 when a request would be admitted now).
    pub retry_after: u32,
}

impl RateWindow {
    /// Admits one request at `now` against `limit` per `duration_ms`, counting `others` already
    /// admitted elsewhere in this window (other instances, reconciled through the store).
    pub fn take(&self, limit: RateLimit, now: i64, others: u64) -> RateDecision {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        let start = now - now.rem_euclid(limit.duration_ms.max(1));
        let seen = self.start.load(Acquire);
        if seen != start
            && self
                .start
                .compare_exchange(seen, start, AcqRel, Acquire)
                .is_ok()
        {
            self.count.store(0, std::sync::atomic::Ordering::Release);
        }
        let n = self.count.fetch_add(1, AcqRel) + 1 + others;
        let reset_in = ((start + limit.duration_ms - now).max(0) + 999) / 1000;
        let allowed = n <= u64::from(limit.limit);
        RateDecision {
            allowed,
            limit: limit.limit,
            remaining: u64::from(limit.limit)
                .saturating_sub(n)
                .min(u64::from(u32::MAX)) as u32,
            retry_after: if allowed { 0 } else { reset_in as u32 },
        }
    }
}

/// Requests authenticated by one cached copy of a key, counted with atomics only: the minute
/// they fall in, how many, and the latest time. The usage recorder moves the count out when the
/// minute changes and when it flushes (`service::usage`).
#[derive(Debug)]
pub struct UseCounter {
    pub key_id: Uuid,
    pub account_id: Uuid,
    /// Start (ms) of the minute `count` belongs to; `i64::MIN` before the first request.
    pub bucket: AtomicI64,
    pub count: AtomicU64,
    /// Latest use (ms) not yet written back; 0 = none.
    pub last_used: AtomicI64,
    /// Credits spent and not yet written back.
    pub credits: AtomicU64,
    /// The key's shared counters, whose unwritten spend goes down once the store has it.
    pub shared: Option<std::sync::Arc<KeyCounters>>,
}

impl UseCounter {
    pub fn new(
        key_id: Uuid,
        account_id: Uuid,
        shared: Option<std::sync::Arc<KeyCounters>>,
    ) -> Self {
        Self {
            shared,
            key_id,
            account_id,
            bucket: AtomicI64::new(i64::MIN),
            count: AtomicU64::new(0),
            last_used: AtomicI64::new(0),
            credits: AtomicU64::new(0),
        }
    }
}

impl Clone for KeyMemo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for KeyMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for KeyMemo {}

impl std::fmt::Debug for KeyMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyMemo")
    }
}

impl From<&ApiKey> for KeyInfo {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            account_id: k.account_id,
            name: k.name.clone(),
            environment: k.environment,
            cors: k.cors.clone(),
            expires_at: k.expires_at,
            revoked: k.revoked_at.is_some(),
            permissions: k.policy.effective(&k.cors),
            ratelimit: k.policy.ratelimit,
            credits: k.policy.credits.map(|c| c.remaining),
            meta: k.policy.meta.clone(),
            memo: KeyMemo::default(),
        }
    }
}

impl KeyInfo {
    /// Credits left as this copy counts them (None: unlimited).
    pub fn credits_left(&self) -> Option<i64> {
        let spent = self
            .memo
            .counters
            .get()
            .map_or(0, |c| c.spent.load(std::sync::atomic::Ordering::Acquire));
        self.credits.map(|c| (c - spent).max(0))
    }

    pub fn status(&self, now_ms: i64) -> VerifyCode {
        if self.revoked {
            VerifyCode::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now_ms) {
            VerifyCode::Expired
        } else {
            VerifyCode::Valid
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    NotFound,
    Revoked,
    Expired,
    Malformed,
    InsufficientPermissions,
    RateLimited,
    UsageExceeded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_validated_and_normalised() {
        let c = Cors::new(
            vec![
                "https://My.App.io".into(),
                "http://localhost:8080".into(),
                "*".into(),
                "https://my.app.io".into(),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            c.allowed_origins,
            vec!["https://my.app.io", "http://localhost:8080", "*"]
        );
        for bad in [
            "localhost",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a:99999",
            "http://a:",
        ] {
            assert!(Cors::new(vec![bad.into()], false).is_err(), "{bad}");
        }
    }

    #[test]
    fn restriction_follows_origins_and_full_access() {
        assert!(!Cors::default().is_restricted());
        let c = Cors::new(vec!["*".into()], false).unwrap();
        assert!(c.is_restricted() && c.allows_origin("https://anything.example"));
        assert!(!Cors::new(vec!["*".into()], true).unwrap().is_restricted());
    }
}

#[cfg(test)]
mod memo_tests {
    use super::*;

    fn info() -> KeyInfo {
        KeyInfo {
            id: Uuid::nil(),
            account_id: Uuid::nil(),
            name: "k".into(),
            environment: Environment::Production,
            cors: Cors::default(),
            expires_at: None,
            revoked: false,
            permissions: Permissions::all(),
            ratelimit: None,
            credits: None,
            meta: None,
            memo: KeyMemo::default(),
        }
    }

    #[test]
    fn a_memo_stays_with_its_copy_and_is_not_part_of_the_key() {
        let a = info();
        let _ = a.memo.me_json.set(bytes::Bytes::from_static(b"{}"));
        // A clone may be edited, so it starts with nothing remembered.
        let mut b = a.clone();
        assert!(b.memo.me_json.get().is_none());
        assert_eq!(a, b, "the memo does not take part in equality");
        b.name = "renamed".into();
        assert_ne!(a, b);
        assert_eq!(format!("{:?}", a.memo), "KeyMemo");
    }
}
