//! Dashboard users: sign-in with lockout, sessions, and the usage report the charts draw.

use uuid::Uuid;

use std::net::IpAddr;

use super::usage::{AUTH_FAILURE, REQUEST};
use super::Services;
use crypto::{random_base62, sha256, SecretString};
use domain::account::MAX_NAME_LEN;
use domain::{Action, Permission, Resource};
use domain::{Actor, Environment, Error, Role, User};
use domain::{AuditEvent, Lockout};
use store::SessionRecord;

/// How sign-in attempts lock a (user name, client address) pair.
pub const LOCKOUT: Lockout = Lockout::DEFAULT;
pub const SESSION_MS: i64 = 12 * 3_600_000;
/// Sign-in attempt counts are forgotten a day after their pair's last attempt.
const ATTEMPTS_KEPT_MS: i64 = 86_400_000;
/// How often they are pruned (on a sign-in, at most this often).
const PRUNE_EVERY_MS: i64 = 60_000;

/// Why a sign-in did not open a session. The message never says whether the user exists.
#[derive(Debug)]
pub enum SignInError {
    Wrong,
    /// Too many attempts from this client for this user name: try again at `until` (ms).
    Locked {
        until: i64,
    },
    /// Too many password checks are queued: try again in a moment (nothing was counted).
    Busy {
        retry_after: u32,
    },
    Store(Error),
}

/// The client a sign-in attempt is counted against: its IP address (an IPv4-mapped IPv6 one
/// as IPv4), or for IPv6 its /64 network, which one subscriber usually holds whole.
pub fn client_key(addr: Option<IpAddr>) -> String {
    match addr.map(|a| a.to_canonical()) {
        None => "unknown".into(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// A signed-in browser: its session and user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: SessionRecord,
    pub user: User,
}

impl SignedIn {
    /// The actor the services see for this user, in the environment the dashboard shows.
    pub fn actor(&self) -> Actor {
        Actor::of_user(&self.user, self.session.environment)
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses what only admins may do.
    pub(crate) fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden("only admins manage users".into()))
        }
    }
}

/// The window a usage chart covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "month" | "30d" => Some(Self::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// (bucket width ms, number of buckets)
    pub fn steps(self) -> (i64, usize) {
        match self {
            Self::Hour => (60_000, 60),
            Self::Day => (3_600_000, 24),
            Self::Month => (86_400_000, 30),
        }
    }
}

/// One key's counts per bucket.
#[derive(Debug, Clone)]
pub struct KeyUsage {
    pub key_id: Uuid,
    pub name: String,
    pub environment: Environment,
    pub requests: Vec<i64>,
    pub auth_failures: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct UsageReport {
    pub period: Period,
    /// Start of the first bucket, ms.
    pub start: i64,
    pub step_ms: i64,
    pub keys: Vec<KeyUsage>,
}

impl UsageReport {
    pub fn total(&self, f: impl Fn(&KeyUsage) -> &Vec<i64>) -> Vec<i64> {
        let (_, n) = self.period.steps();
        let mut out = vec![0; n];
        for k in &self.keys {
            for (o, v) in out.iter_mut().zip(f(k)) {
                *o += v;
            }
        }
        out
    }
}

impl Services {
    /// Checks a user name and password from a client address; on success opens a session and
    /// returns its token (for the cookie). Attempts are counted per (user name, client): a
    /// locked pair is refused before its password costs anything, each attempt is counted in one
    /// atomic statement before its password is checked (so concurrent guesses cannot outrun the
    /// lock), the lock grows with each attempt after the free ones (`LOCKOUT`), and a success
    /// starts the pair from nothing. Another address is not affected.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<(SecretString, SignedIn), SignInError> {
        let store_err = |e: store::StoreError| SignInError::Store(Error::from(e));
        let now = self.now_ms();
        // No user has a longer name: nothing to check, nothing to store.
        if username.chars().count() > MAX_NAME_LEN {
            return Err(SignInError::Wrong);
        }
        let client = client_key(client);
        // Refused while locked: no password check, nothing written.
        if let Some(until) = self
            .store
            .sign_in_locked_until(username, &client, now)
            .await
            .map_err(store_err)?
        {
            return Err(SignInError::Locked { until });
        }
        // A place in the hashing queue first: a busy server counts nothing against the pair.
        let ticket = self.passwords.reserve().map_err(|e| match e {
            Error::Busy { retry_after } => SignInError::Busy { retry_after },
            e => SignInError::Store(e),
        })?;
        self.prune_sign_in_attempts(now).await;
        let Some(attempt) = self
            .store
            .count_sign_in_attempt(username, &client, now, LOCKOUT)
            .await
            .map_err(store_err)?
        else {
            // Locked by a concurrent attempt meanwhile.
            let until = self
                .store
                .sign_in_locked_until(username, &client, now)
                .await
                .map_err(store_err)?
                .unwrap_or(now);
            return Err(SignInError::Locked { until });
        };
        let user = self
            .store
            .user_by_username(username)
            .await
            .map_err(store_err)?;
        // Checked even for unknown names (against a dummy hash), so timing does not tell which
        // names exist.
        let ok = ticket
            .matches(password, user.as_ref().map(|u| u.password_hash.clone()))
            .await
            .map_err(SignInError::Store)?;
        let Some(user) = user.filter(|_| ok) else {
            self.sign_in_audit(None, username, "wrong_password").await;
            return Err(match LOCKOUT.lock_ms(attempt) {
                0 => SignInError::Wrong,
                ms => SignInError::Locked { until: now + ms },
            });
        };
        self.store
            .clear_sign_in_attempts(username, &client)
            .await
            .map_err(store_err)?;
        let token = SecretString::new(random_base62(40));
        let session = SessionRecord {
            id_hash: sha256(token.expose().as_bytes()),
            user_id: user.id,
            csrf: random_base62(32),
            environment: Environment::Production,
            created_at: now,
            expires_at: now + SESSION_MS,
        };
        self.store
            .insert_login_session(&session)
            .await
            .map_err(store_err)?;
        self.sign_in_audit(Some(user.account_id), username, "ok")
            .await;
        Ok((token, SignedIn { session, user }))
    }

    /// Forgets old sign-in attempt counts, at most once a minute (so the table stays bounded
    /// by what a day of attempts can write).
    async fn prune_sign_in_attempts(&self, now: i64) {
        use std::sync::atomic::Ordering;
        let last = self.sign_in_pruned_at.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_MS
            || self
                .sign_in_pruned_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = self
            .store
            .prune_sign_in_attempts(now - ATTEMPTS_KEPT_MS)
            .await
        {
            tracing::warn!(error = %e, "could not prune sign-in attempts");
        }
    }

    async fn sign_in_audit(&self, account: Option<Uuid>, username: &str, outcome: &str) {
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: account,
            actor: format!("user:{username}"),
            action: "dashboard.sign_in".into(),
            object: format!("user:{username}"),
            outcome: outcome.into(),
            detail: String::new(),
            at: self.now_ms(),
            environment: None,
        })
        .await;
    }

    /// The session a cookie token names, if it is still valid.
    pub async fn signed_in(&self, token: &str) -> Result<Option<SignedIn>, Error> {
        let hash = sha256(token.as_bytes());
        let Some(session) = self.store.login_session(&hash, self.now_ms()).await? else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_id(session.user_id).await? else {
            return Ok(None);
        };
        Ok(Some(SignedIn { session, user }))
    }

    pub async fn sign_out(&self, who: &SignedIn) -> Result<(), Error> {
        self.store
            .delete_login_session(&who.session.id_hash)
            .await?;
        Ok(())
    }

    pub async fn switch_environment(&self, who: &SignedIn, env: Environment) -> Result<(), Error> {
        self.store
            .set_login_session_environment(&who.session.id_hash, env)
            .await?;
        Ok(())
    }

    /// Every user (admins only).
    pub async fn list_users(&self, who: &SignedIn) -> Result<Vec<User>, Error> {
        who.require_admin()?;
        Ok(self.store.list_users().await?)
    }

    /// Creates a user of any account (admins only).
    pub async fn admin_create_user(
        &self,
        who: &SignedIn,
        account: &str,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, Error> {
        who.require_admin()?;
        let account = self.resolve_account(account).await?;
        self.create_user(&who.actor(), account.id, username, password, role)
            .await
    }

    /// Changes the signed-in user's password after checking the current one; every other
    /// session of the user ends.
    pub async fn change_password(
        &self,
        who: &SignedIn,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Error> {
        if !self
            .passwords
            .matches(current, who.user.password_hash.clone())
            .await?
        {
            return Err(Error::Invalid("the current password is wrong".into()));
        }
        let hash = self.passwords.hash_new(new).await?;
        self.store
            .set_password(who.user.id, &hash, &who.session.id_hash)
            .await?;
        self.audit_by(
            &who.actor(),
            "user.password",
            format!("user:{}", who.user.username),
        )
        .await;
        Ok(())
    }

    /// Removes a user and signs it out everywhere (admins only; not oneself).
    pub async fn admin_delete_user(&self, who: &SignedIn, id: Uuid) -> Result<User, Error> {
        who.require_admin()?;
        if id == who.user.id {
            return Err(Error::Invalid("you cannot remove yourself".into()));
        }
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if !self.store.delete_user(id).await? {
            return Err(Error::NotFound("user"));
        }
        self.audit_by(
            &who.actor(),
            "user.delete",
            format!("user:{}", user.username),
        )
        .await;
        Ok(user)
    }

    /// Requests and refused authentications per key of the caller's account over `period`,
    /// ending with the current bucket. Pending counts are flushed first, so the report is exact.
    pub async fn usage_report(&self, actor: &Actor, period: Period) -> Result<UsageReport, Error> {
        actor.require(Permission(Resource::Usage, Action::Read))?;
        self.usage.flush().await;
        let (step, n) = period.steps();
        let now = self.now_ms();
        let start = (now - now.rem_euclid(step)) - step * (n as i64 - 1);
        let rows = self
            .store
            .usage_series(actor.account_id(), start, step)
            .await?;
        // The caller's environment only: sandbox and production never see each other's usage.
        let environment = (!actor.is_operator()).then(|| actor.environment());
        let keys = self
            .store
            .list_api_keys(actor.account_id(), environment)
            .await?;
        let mut out: Vec<KeyUsage> = keys
            .iter()
            .map(|k| KeyUsage {
                key_id: k.id,
                name: k.name.clone(),
                environment: k.environment,
                requests: vec![0; n],
                auth_failures: vec![0; n],
            })
            .collect();
        for (key_id, kind, bucket, count) in rows {
            let i = ((bucket - start) / step) as usize;
            let Some(k) = out.iter_mut().find(|k| k.key_id == key_id) else {
                continue;
            };
            if i < n {
                match kind.as_str() {
                    REQUEST => k.requests[i] += count,
                    AUTH_FAILURE => k.auth_failures[i] += count,
                    _ => {}
                }
            }
        }
        Ok(UsageReport {
            period,
            start,
            step_ms: step,
            keys: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::client_key;

    #[test]
    fn clients_are_addresses_or_ipv6_networks() {
        let key = |s: &str| client_key(Some(s.parse().unwrap()));
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::9"), key("2001:db8:1:2:ffff::1"));
        assert_eq!(client_key(None), "unknown");
    }
}
