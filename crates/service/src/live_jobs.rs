//! Brightcove Live jobs: an ingest point on this deployment's media server (the jobs application
//! and a secret stream name, optionally guarded by an `rtmp` credential the encoder presents as
//! `?user=…&pass=…`). The media server's hooks move a job through waiting → processing →
//! disconnected (→ processing again) → finished; the API cancels or stops it. Every change is one
//! statement that names the states it may leave, and queues the job's notifications — webhook
//! rows of the `brightcove` flavor, authenticated with the `http` or `oauth` credential they
//! name — in the same transaction, for the outbox to deliver.

use uuid::Uuid;

use super::credentials::CredentialRef;
use super::ingest::{constant_time_eq, PublishDecision, PublishRequest};
use super::Services;
use crypto::{random_base62, sha256, Aad, SecretString};
use domain::clock::rfc3339;
use domain::credential::CredentialType;
use domain::live_job::{
    JobNotification, JobState, LiveJob, MAX_LABEL, MAX_NOTIFICATIONS, MAX_OUTPUTS,
    MAX_RECONNECT_SECS,
};
use domain::webhook::{self, Flavor, BRIGHTCOVE_EVENTS};
use domain::{Action, Actor, Error, Permission, Resource, Webhook};
use store::{DeliveryRecord, Scope};

/// The event every notification carries.
pub const STATE_CHANGED: &str = "state_changed";
/// The largest `outputs` a job keeps (serialized JSON).
const MAX_OUTPUTS_JSON: usize = 16 * 1024;

/// A notification endpoint a job is created with.
#[derive(Debug, Clone)]
pub struct NotificationSpec {
    pub url: String,
    /// An `http` or `oauth` credential's label.
    pub credentials: Option<String>,
}

/// What a new job is made of (Brightcove's create-job body, the parts this deployment honours).
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub region: Option<String>,
    pub reconnect_time: Option<i64>,
    pub outputs: Option<serde_json::Value>,
    pub notifications: Vec<NotificationSpec>,
    /// The `rtmp` credential the encoder must present.
    pub rtmp_credentials: Option<String>,
}

fn name_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "live_jobs",
        id,
        field: "stream_name",
    }
}

/// The hex SHA-256 a job's stream name is found by.
pub fn name_hash(name: &str) -> String {
    sha256(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The outbox rows announcing a state change (`body`) to each of these endpoints.
pub(crate) fn state_changed(
    account_id: Uuid,
    to: &[JobNotification],
    body: &str,
    now: i64,
) -> Vec<DeliveryRecord> {
    to.iter()
        .map(|n| DeliveryRecord {
            id: Uuid::now_v7(),
            account_id,
            webhook_id: n.webhook_id,
            event: STATE_CHANGED.into(),
            body: body.to_string(),
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            failed_at: None,
            last_error: None,
            created_at: now,
        })
        .collect()
}

fn check_outputs(outputs: Option<serde_json::Value>) -> Result<serde_json::Value, Error> {
    let outputs = outputs.unwrap_or_else(|| serde_json::json!([]));
    let Some(list) = outputs.as_array() else {
        return Err(Error::Invalid("outputs must be an array".into()));
    };
    if list.len() > MAX_OUTPUTS {
        return Err(Error::Invalid(format!(
            "outputs may have at most {MAX_OUTPUTS} entries"
        )));
    }
    for o in list {
        let label_ok = match o.get("label") {
            None => true,
            Some(l) => l.as_str().is_some_and(|l| l.chars().count() <= MAX_LABEL),
        };
        if !o.is_object() || !label_ok {
            return Err(Error::Invalid(format!(
                "each output must be an object; its label a string of at most {MAX_LABEL} characters"
            )));
        }
    }
    if outputs.to_string().len() > MAX_OUTPUTS_JSON {
        return Err(Error::Invalid(format!(
            "outputs may be at most {MAX_OUTPUTS_JSON} bytes of JSON"
        )));
    }
    Ok(outputs)
}

fn check_region(region: Option<String>) -> Result<String, Error> {
    let region = region.unwrap_or_else(|| "local".into());
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(region)
    } else {
        Err(Error::Invalid(
            "region must be 1 to 64 letters, digits, hyphens or underscores".into(),
        ))
    }
}

impl Services {
    /// Creates a job; returns it with its stream name (the encoder's secret). Naming a
    /// credential (the encoder's `rtmp`, a notification's `http`/`oauth`) puts it to work, which
    /// needs `credentials:use` besides `jobs:create`.
    pub async fn create_live_job(
        &self,
        actor: &Actor,
        new: NewJob,
    ) -> Result<(LiveJob, SecretString), Error> {
        actor.require(Permission(Resource::Jobs, Action::Create))?;
        let names_credential = new.rtmp_credentials.is_some()
            || new.notifications.iter().any(|n| n.credentials.is_some());
        if names_credential {
            actor.require(Permission(Resource::Credentials, Action::Use))?;
        }
        let scope = Scope::of(actor);
        let region = check_region(new.region)?;
        let reconnect_time = new.reconnect_time.unwrap_or(MAX_RECONNECT_SECS);
        if !(1..=MAX_RECONNECT_SECS).contains(&reconnect_time) {
            return Err(Error::Invalid(format!(
                "reconnect_time must be 1 to {MAX_RECONNECT_SECS} seconds"
            )));
        }
        let outputs = check_outputs(new.outputs)?;
        if let Some(label) = &new.rtmp_credentials {
            self.credential_of_type(scope, label, &[CredentialType::Rtmp], "rtmp_credentials")
                .await?;
        }
        let id = Uuid::now_v7();
        let now = self.now_ms();
        let (hooks, notifications) = self
            .notification_endpoints(scope, &new.notifications, &format!("live job {id}"))
            .await?;
        let name = SecretString::new(random_base62(24));
        let job = LiveJob {
            id,
            account_id: scope.account_id,
            environment: scope.environment,
            state: JobState::Waiting,
            stream_name_sealed: self.vault.seal(&name_aad(&id.to_string()), name.expose()),
            rtmp_credential: new.rtmp_credentials,
            region,
            reconnect_time,
            outputs,
            notifications,
            created_at: now,
            updated_at: now,
            disconnected_at: None,
        };
        self.store
            .insert_live_job(&job, &name_hash(name.expose()), &hooks)
            .await?;
        // Where each credential named will be sent (its label and host, never its value).
        let detail = serde_json::json!({
            "rtmpCredentials": job.rtmp_credential,
            "notifications": job.notifications.iter().map(|n| serde_json::json!({
                "host": reqwest::Url::parse(&n.url).map(|u| super::deliveries::host_of(&u)).unwrap_or_default(),
                "credentials": n.credentials,
            })).collect::<Vec<_>>(),
        });
        self.audit_by_detail(
            actor,
            "live_job.create",
            format!("live_job:{id}"),
            detail.to_string(),
        )
        .await;
        Ok((job, name))
    }

    /// Notification endpoints (a job's, or a clip output's) as webhook rows of the `brightcove`
    /// flavor, to be inserted with their owner: each URL checked as a webhook's, each credential
    /// an `http` or `oauth` one of the scope; at most `MAX_NOTIFICATIONS`.
    pub(crate) async fn notification_endpoints(
        &self,
        scope: Scope,
        specs: &[NotificationSpec],
        owner: &str,
    ) -> Result<(Vec<Webhook>, Vec<JobNotification>), Error> {
        if specs.len() > MAX_NOTIFICATIONS {
            return Err(Error::Invalid(format!(
                "notifications may have at most {MAX_NOTIFICATIONS} entries"
            )));
        }
        let now = self.now_ms();
        let mut hooks = Vec::new();
        let mut notifications = Vec::new();
        for n in specs {
            let url = webhook::validate_url(&n.url, self.webhooks_allow_private())?;
            if let Some(label) = &n.credentials {
                self.credential_of_type(
                    scope,
                    label,
                    &[CredentialType::Http, CredentialType::Oauth],
                    "notifications[].credentials",
                )
                .await?;
            }
            let hook_id = Uuid::now_v7();
            hooks.push(Webhook {
                id: hook_id,
                account_id: scope.account_id,
                environment: scope.environment,
                url: url.clone(),
                events: BRIGHTCOVE_EVENTS.iter().map(|e| e.to_string()).collect(),
                secret_sealed: self.vault.seal(
                    &super::webhooks::secret_aad(&hook_id.to_string()),
                    &random_base62(32),
                ),
                created_at: now,
                credential_label: n.credentials.clone(),
                flavor: Flavor::Brightcove,
                name: Some(owner.to_string()),
                stream_id: None,
            });
            notifications.push(JobNotification {
                url,
                credentials: n.credentials.clone(),
                webhook_id: hook_id,
            });
        }
        Ok((hooks, notifications))
    }

    /// The scope's credential of that label, which must be of one of `kinds`.
    pub(crate) async fn credential_of_type(
        &self,
        scope: Scope,
        label: &str,
        kinds: &[CredentialType],
        field: &str,
    ) -> Result<CredentialType, Error> {
        if label.is_empty() || label.chars().count() > MAX_LABEL {
            return Err(Error::Invalid(format!(
                "{field} must be a credential label of 1 to {MAX_LABEL} characters"
            )));
        }
        let found = self
            .store
            .credential_by_label(scope, label)
            .await?
            .ok_or_else(|| Error::Invalid(format!("{field}: no credential labelled {label:?}")))?;
        let kind = CredentialType::parse(found.kind.as_str())?;
        if !kinds.contains(&kind) {
            let wanted: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(Error::Invalid(format!(
                "{field}: credential {label:?} is of type {}, not {}",
                kind.as_str(),
                wanted.join(" or ")
            )));
        }
        Ok(kind)
    }

    /// The encoder's stream name of a job (shown to its owner).
    pub fn live_job_stream_name(&self, job: &LiveJob) -> Result<SecretString, Error> {
        self.vault
            .open(&name_aad(&job.id.to_string()), &job.stream_name_sealed)
            .map_err(|e| Error::Internal(format!("live job {}: {e}", job.id)))
    }

    /// One of the caller's jobs.
    pub async fn live_job(&self, actor: &Actor, id: Uuid) -> Result<LiveJob, Error> {
        actor.require(Permission(Resource::Jobs, Action::Read))?;
        self.store
            .live_job(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("live job"))
    }

    /// A page of the caller's jobs, newest first.
    pub async fn list_live_jobs(
        &self,
        actor: &Actor,
        state: Option<JobState>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<LiveJob>, Error> {
        actor.require(Permission(Resource::Jobs, Action::List))?;
        Ok(self
            .store
            .list_live_jobs(Scope::of(actor), state, offset.max(0), limit.clamp(1, 1000))
            .await?)
    }

    /// Ends a job through the API: `cancelled` (Brightcove's cancel) or `finished` (its stop).
    /// A job already over is a 400 saying so. The publisher, if any, is dropped at the media
    /// server where its control endpoint is configured; it could not publish again anyway.
    pub async fn end_live_job(
        &self,
        actor: &Actor,
        id: Uuid,
        to: JobState,
    ) -> Result<LiveJob, Error> {
        actor.require(Permission(Resource::Jobs, Action::Update))?;
        let job = self
            .store
            .live_job(Scope::of(actor), id)
            .await?
            .ok_or(Error::NotFound("live job"))?;
        let from = [
            JobState::Waiting,
            JobState::Processing,
            JobState::Disconnected,
        ];
        let Some(after) = self.job_transition(&job, &from, to).await? else {
            return Err(Error::Invalid(format!(
                "the job is {} already",
                self.store
                    .live_job(Scope::of(actor), id)
                    .await?
                    .map_or("gone", |j| j.state.as_str())
            )));
        };
        if job.state == JobState::Processing {
            if let Ok(name) = self.live_job_stream_name(&job) {
                self.drop_job_publisher(name.expose()).await;
            }
        }
        let action = match to {
            JobState::Cancelled => "live_job.cancel",
            _ => "live_job.stop",
        };
        self.audit_by(actor, action, format!("live_job:{id}")).await;
        Ok(after)
    }

    /// Moves the job from one of `from` to `to`, with its notifications queued in the same
    /// transaction. None: it was in none of those states.
    pub(crate) async fn job_transition(
        &self,
        job: &LiveJob,
        from: &[JobState],
        to: JobState,
    ) -> Result<Option<LiveJob>, Error> {
        let now = self.now_ms();
        let body = serde_json::json!({
            "timestamp": now,
            "time": rfc3339(now),
            "account_id": job.account_id.to_string(),
            "entity": job.id.simple().to_string(),
            "entity_type": "live_job",
            "event": STATE_CHANGED,
            "state": to.as_str(),
            "job_id": job.id.simple().to_string(),
        })
        .to_string();
        let deliveries = state_changed(job.account_id, &job.notifications, &body, now);
        Ok(self
            .store
            .set_live_job_state(job.id, from, to, now, &deliveries)
            .await?)
    }

    /// Finishes the disconnected jobs whose encoder did not come back in time; how many.
    pub async fn expire_live_jobs(&self) -> Result<usize, Error> {
        let mut n = 0;
        for job in self.store.expired_live_jobs(self.now_ms(), 100).await? {
            if self
                .job_transition(&job, &[JobState::Disconnected], JobState::Finished)
                .await?
                .is_some()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Is this a publish to the jobs application?
    pub(crate) fn is_job_app(&self, app: &str) -> bool {
        app.eq_ignore_ascii_case(&self.settings.jobs.app)
    }

    /// The decision for a publish to the jobs application: the stream name must be a job's that
    /// is not over, and when the job names an `rtmp` credential the query must carry its user and
    /// password. The job goes to `processing` (from waiting or disconnected); a second encoder
    /// while one publishes is refused.
    pub(crate) async fn decide_job_publish(
        &self,
        req: &PublishRequest,
    ) -> Result<PublishDecision, Error> {
        let Some(job) = self
            .store
            .live_job_by_name_hash(&name_hash(&req.stream))
            .await?
        else {
            return Ok(PublishDecision::Refused("unknown_stream", None));
        };
        let account = Some(job.account_id);
        if job.state.is_over() {
            return Ok(PublishDecision::Refused("job_over", account));
        }
        if let Some(label) = &job.rtmp_credential {
            let (Some(user), Some(pass)) = (req.param("user"), req.param("pass")) else {
                return Ok(PublishDecision::Refused("credential_missing", account));
            };
            let cred = match self
                .resolve_credential(job.account_id, job.environment, CredentialRef::Label(label))
                .await
            {
                Ok(c) if c.kind == CredentialType::Rtmp => c,
                // Deleted or changed type since: nobody can present it.
                Ok(_) | Err(Error::NotFound(_)) | Err(Error::Invalid(_)) => {
                    return Ok(PublishDecision::Refused("wrong_credential", account))
                }
                Err(e) => return Err(e),
            };
            let user_ok = constant_time_eq(cred.public.as_bytes(), user.as_bytes());
            let pass_ok = constant_time_eq(cred.private.expose().as_bytes(), pass.as_bytes());
            if !(user_ok && pass_ok) {
                return Ok(PublishDecision::Refused("wrong_credential", account));
            }
            // The stored secret was put to work: audited with its label (never its value).
            self.credential_sent(&cred, format!("ingest:{}", req.ingest), "rtmp_check")
                .await;
        }
        let allowed = PublishDecision::Allowed {
            via: "live_job",
            account: job.account_id,
            session: None,
            rename: None,
        };
        // A second encoder where that is allowed: the job is processing already, nothing changes.
        if self.ingest_allow_concurrent && job.state == JobState::Processing {
            return Ok(allowed);
        }
        let from = [JobState::Waiting, JobState::Disconnected];
        if self
            .job_transition(&job, &from, JobState::Processing)
            .await?
            .is_none()
        {
            let hash = name_hash(&req.stream);
            let now = self.store.live_job_by_name_hash(&hash).await?;
            let why = match now.map(|j| j.state) {
                Some(s) if s.is_over() => "job_over",
                _ => "already_publishing",
            };
            return Ok(PublishDecision::Refused(why, account));
        }
        Ok(allowed)
    }

    /// The publish to a job ended: it is `disconnected` (its encoder may come back within its
    /// `reconnect_time`). Whoever knows the stream name may report it, as with stream keys.
    pub(crate) async fn end_job_publish(&self, req: &PublishRequest) -> Result<(), Error> {
        if let Some(job) = self
            .store
            .live_job_by_name_hash(&name_hash(&req.stream))
            .await?
        {
            if self
                .job_transition(&job, &[JobState::Processing], JobState::Disconnected)
                .await?
                .is_some()
            {
                let audit = self.publish_audit(req, Some(job.account_id), "publish_done");
                self.audit(audit).await;
            }
        }
        Ok(())
    }
}
