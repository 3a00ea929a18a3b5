//! The audit log: who did what to which object, and refused authentications of known keys.
//! Append-only; never holds a secret (objects are named by id).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::Services;
use domain::AuditEvent;
use domain::{Action, Permission, Resource};
use domain::{Actor, Error, KeyInfo};
use store::GroupWrite;

/// A refused key is audited at most this often (a client retrying a revoked key in a loop must
/// not turn into a write per request).
const AUTH_FAILURE_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct AuthFailureThrottle(Mutex<HashMap<Uuid, Instant>>);

impl AuthFailureThrottle {
    fn should_record(&self, key: Uuid) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < AUTH_FAILURE_EVERY);
        }
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < AUTH_FAILURE_EVERY => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

impl Services {
    /// Appends an event; returns once it is durable (with other requests' writes, see
    /// `group_commit`), or once its write has failed and been logged: never fatal to the request.
    pub async fn audit(&self, e: AuditEvent) {
        let action = e.action.clone();
        if let Err(err) = self.commit(vec![GroupWrite::Audit(e)]).await {
            tracing::error!(error = %err, action = %action, "could not write an audit event");
        }
    }

    /// A successful change made by a key.
    pub async fn audit_by(&self, actor: &Actor, action: &str, object: String) {
        self.audit_as(actor, Some(actor.account_id()), action, object)
            .await;
    }

    /// A successful change made by a key, with a detail that names what it pointed where
    /// (never a secret).
    pub async fn audit_by_detail(
        &self,
        actor: &Actor,
        action: &str,
        object: String,
        detail: String,
    ) {
        let environment = (!actor.is_operator()).then(|| actor.environment());
        let mut e = self.change_event(actor, Some(actor.account_id()), environment, action, object);
        e.detail = detail;
        self.audit(e).await;
    }

    /// A successful change made by `actor` to an object of `account` (the operator's reach
    /// beyond its own). The operator's changes are account-wide; a key's and a user's are in
    /// their environment.
    pub async fn audit_as(
        &self,
        actor: &Actor,
        account: Option<Uuid>,
        action: &str,
        object: String,
    ) {
        let environment = (!actor.is_operator()).then(|| actor.environment());
        self.audit(self.change_event(actor, account, environment, action, object))
            .await;
    }

    /// A successful change to an object of `account` in `environment` (a key the operator made
    /// in sandbox, or revoked in another account).
    pub async fn audit_in(
        &self,
        actor: &Actor,
        account: Uuid,
        environment: domain::Environment,
        action: &str,
        object: String,
    ) {
        self.audit(self.change_event(actor, Some(account), Some(environment), action, object))
            .await;
    }

    pub(crate) fn change_event(
        &self,
        actor: &Actor,
        account: Option<Uuid>,
        environment: Option<domain::Environment>,
        action: &str,
        object: String,
    ) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            account_id: account,
            actor: actor.label(),
            action: action.into(),
            object,
            outcome: "ok".into(),
            detail: String::new(),
            at: self.now_ms(),
            environment,
        }
    }

    /// A known key was refused (revoked, expired): recorded once a minute per key.
    pub async fn audit_auth_failure(&self, key: &KeyInfo, reason: &str) {
        if !self.auth_failures.should_record(key.id) {
            return;
        }
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(key.account_id),
            actor: format!("key:{}", key.id),
            action: "auth.refused".into(),
            object: format!("api_key:{}", key.id),
            outcome: reason.into(),
            detail: "a request presented this key and was refused (recorded at most once a minute per key)".into(),
            at: self.now_ms(),
            environment: Some(key.environment),
        })
        .await;
    }

    /// The audit log, newest first: the caller's account's, or, for the operator, the account
    /// it names (`None`: every account).
    pub async fn query_audit(
        &self,
        actor: &Actor,
        account: Option<Uuid>,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, Error> {
        actor.require(Permission(Resource::Audit, Action::List))?;
        // Each key (and the dashboard's current view) sees its own environment only.
        let (account, environment) = match actor.is_operator() {
            true => (account, None),
            false => (Some(actor.account_id()), Some(actor.environment())),
        };
        Ok(self
            .store
            .query_audit(account, environment, since_ms, limit.clamp(1, 10_000))
            .await?)
    }
}
