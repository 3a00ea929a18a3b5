//! Dashboard users: sign-in with lockout, sessions, and the usage report the charts draw.

use uuid::Uuid;

use super::accounts::{hash_new_password, password_matches};
use super::usage::{AUTH_FAILURE, REQUEST};
use super::Services;
use crypto::{password, random_base62, sha256, SecretString};
use domain::AuditEvent;
use domain::{Action, Permission, Resource};
use domain::{Actor, Environment, Error, Role, User};
use store::SessionRecord;

/// Failed sign-ins in a row before a user name is locked.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60_000;
pub const SESSION_MS: i64 = 12 * 3_600_000;

/// Why a sign-in did not open a session. The message never says whether the user exists.
#[derive(Debug)]
pub enum SignInError {
    Wrong,
    Locked { until: i64 },
    Store(Error),
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
    /// Checks a user name and password; on success opens a session and returns its token
    /// (for the cookie). Five failures in a row lock the name for 15 minutes.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<(SecretString, SignedIn), SignInError> {
        let store_err = |e: store::StoreError| SignInError::Store(Error::from(e));
        let now = self.now_ms();
        let (failures, locked_until) = self.store.login_state(username).await.map_err(store_err)?;
        if let Some(until) = locked_until.filter(|u| *u > now) {
            self.sign_in_audit(None, username, "locked").await;
            return Err(SignInError::Locked { until });
        }
        let user = self
            .store
            .user_by_username(username)
            .await
            .map_err(store_err)?;
        // Hash even for unknown names, so timing does not tell which names exist.
        let phc = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(dummy_hash);
        let ok = password_matches(password, phc).await;
        let Some(user) = user.filter(|_| ok) else {
            let failures = failures + 1;
            let lock = (failures >= MAX_FAILURES).then_some(now + LOCKOUT_MS);
            let stored = if lock.is_some() { 0 } else { failures };
            self.store
                .set_login_state(username, stored, lock)
                .await
                .map_err(store_err)?;
            self.sign_in_audit(None, username, "wrong_password").await;
            return Err(match lock {
                Some(until) => SignInError::Locked { until },
                None => SignInError::Wrong,
            });
        };
        if failures > 0 || locked_until.is_some() {
            self.store
                .set_login_state(username, 0, None)
                .await
                .map_err(store_err)?;
        }
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
        if !password_matches(current, who.user.password_hash.clone()).await {
            return Err(Error::Invalid("the current password is wrong".into()));
        }
        let hash = hash_new_password(new).await?;
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

/// An argon2id hash of a random password, checked against for unknown user names.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| password::hash_password(&random_base62(24)).unwrap_or_default())
        .clone()
}
