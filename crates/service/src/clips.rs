//! VOD clips of live jobs (Brightcove's `POST /v1/vods`): each output takes a window of the job's
//! latest recording — its last `duration` seconds, or `start_time` to `end_time` — cut by
//! ffmpeg (stream copy) into an MP4, and delivers it to an `s3://bucket/key` with an `s3`
//! credential or an `ftp://host/path` (`ftps://` for TLS) with an `ftp` credential, named by
//! label. Destinations a self-hosted deployment cannot reach (Video Cloud, Zencoder) are refused
//! when the clip is asked for.
//!
//! Outputs are a durable queue: each attempt claims its row with a lease, at most `CLIP_SLOTS`
//! run at once, a failure is retried with backoff (up to `MAX_CLIP_ATTEMPTS`), and what a stopped
//! process left is picked up again when its lease ends. The stored secret is decrypted only in
//! the attempt, never logged or put in an error; each use is audited with the credential's label
//! and the destination host.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::credentials::CredentialRef;
use super::deliveries::backoff_secs;
use super::objects::{file_stream, Objects};
use super::Services;
use domain::credential::{Credential, CredentialType};
use domain::live_job::{
    unsupported_destination, ClipOutput, ClipState, ClipWindow, Destination, MAX_CLIP_ATTEMPTS,
    MAX_CLIP_ERROR, MAX_LABEL, MAX_OUTPUTS,
};
use domain::{Action, Actor, Error, Permission, Resource};
use store::Scope;

/// Clip attempts running at once.
pub const CLIP_SLOTS: usize = 2;
/// How long a claimed output is left to its attempt before it is due again (the process died).
const CLIP_LEASE_MS: i64 = 15 * 60 * 1000;
/// One whole attempt: fetching the recording, cutting, delivering.
const CLIP_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(12 * 60);
/// One step of an FTP conversation.
const FTP_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One output asked for (Brightcove's VOD output).
#[derive(Debug, Clone, Default)]
pub struct NewClipOutput {
    pub label: Option<String>,
    pub url: Option<String>,
    /// The destination's credential, by label (None: the default of the destination's type).
    pub credentials: Option<String>,
    pub duration: Option<f64>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    /// The output names a Video Cloud destination (a `videocloud` object).
    pub videocloud: bool,
    /// Endpoints told when it is delivered or given up.
    pub notifications: Vec<super::live_jobs::NotificationSpec>,
}

/// The running clip attempts: at most `CLIP_SLOTS`, one per account.
pub struct ClipWorkers {
    slots: Arc<tokio::sync::Semaphore>,
    tasks: std::sync::Mutex<tokio::task::JoinSet<()>>,
    /// The accounts with an attempt running.
    accounts: Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
}

impl Default for ClipWorkers {
    fn default() -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(CLIP_SLOTS)),
            tasks: Default::default(),
            accounts: Default::default(),
        }
    }
}

/// An account's running attempt: it leaves the set when dropped (the attempt ended or was aborted).
struct AccountSlot(Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>, Uuid);

impl Drop for AccountSlot {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&self.1);
        }
    }
}

/// An error as it is kept and shown: printable, and short.
fn kept_error(why: &str) -> String {
    why.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CLIP_ERROR)
        .collect()
}

/// Err((why, worth retrying)).
type Attempt<T> = Result<T, (String, bool)>;

impl Services {
    /// Asks for clips of a job's latest recording, one per output; returns the request's id and
    /// its outputs, each waiting for delivery. Needs `jobs:create` and `credentials:use`.
    pub async fn create_clips(
        &self,
        actor: &Actor,
        job_id: Uuid,
        outputs: Vec<NewClipOutput>,
    ) -> Result<(Uuid, Vec<ClipOutput>), Error> {
        actor.require(Permission(Resource::Jobs, Action::Create))?;
        actor.require(Permission(Resource::Credentials, Action::Use))?;
        let scope = Scope::of(actor);
        let job = self
            .store
            .live_job(scope, job_id)
            .await?
            .ok_or(Error::NotFound("live job"))?;
        if outputs.is_empty() || outputs.len() > MAX_OUTPUTS {
            return Err(Error::Invalid(format!(
                "outputs must have 1 to {MAX_OUTPUTS} entries"
            )));
        }
        let mut checked = Vec::new();
        for o in &outputs {
            if o.videocloud {
                return Err(unsupported_destination("videocloud"));
            }
            let label = o.label.clone().unwrap_or_default();
            if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
                return Err(Error::Invalid(format!(
                    "label must be at most {MAX_LABEL} printable characters"
                )));
            }
            let Some(url) = &o.url else {
                return Err(Error::Invalid(
                    "each output needs a url: s3://bucket/key or ftp://host/path".into(),
                ));
            };
            let dest = Destination::parse(url)?;
            self.check_destination_host(&dest)?;
            let window = ClipWindow::new(o.duration, o.start_time, o.end_time)?;
            let cred = match &o.credentials {
                Some(l) => self.store.credential_by_label(scope, l).await?,
                None => {
                    self.store
                        .default_credential(scope, dest.credential_type().as_str())
                        .await?
                }
            };
            let Some(cred) = cred else {
                return Err(Error::Invalid(match &o.credentials {
                    Some(l) => format!("credentials: no credential labelled {l:?}"),
                    None => format!(
                        "credentials: name the {} credential to deliver with (no default {} credential is set)",
                        dest.credential_type().as_str(),
                        dest.credential_type().as_str()
                    ),
                }));
            };
            let kind = CredentialType::parse(cred.kind.as_str())?;
            if matches!(kind, CredentialType::Videocloud | CredentialType::Zencoder) {
                return Err(unsupported_destination(kind.as_str()));
            }
            if kind != dest.credential_type() {
                return Err(Error::Invalid(format!(
                    "credentials: {:?} is an {} credential; {url} needs an {} credential",
                    cred.label,
                    kind.as_str(),
                    dest.credential_type().as_str()
                )));
            }
            checked.push((label, url.clone(), cred.label, window, &o.notifications));
        }
        let recording = self.store.latest_recording(job.id).await?.ok_or_else(|| {
            Error::Invalid(
                "the job has no finished recording yet: clips are cut from what the media server recorded"
                    .into(),
            )
        })?;
        let total = recording.duration_ms as f64 / 1000.0;
        let began = recording.began_at as f64 / 1000.0;
        for (_, _, _, window, _) in &checked {
            window.within(total, began)?;
        }
        let vod_id = Uuid::now_v7();
        let now = self.now_ms();
        let mut hooks = Vec::new();
        let mut rows = Vec::new();
        for (label, url, credential_label, window, specs) in checked {
            let id = Uuid::now_v7();
            let (more, notifications) = self
                .notification_endpoints(scope, specs, &format!("vod output {id}"))
                .await?;
            hooks.extend(more);
            rows.push(ClipOutput {
                id,
                vod_id,
                job_id: job.id,
                account_id: job.account_id,
                environment: job.environment,
                recording_id: recording.id,
                label,
                url,
                credential_label,
                window,
                state: ClipState::Waiting,
                error: None,
                attempts: 0,
                next_attempt_at: now,
                bytes: None,
                notifications,
                created_at: now,
                updated_at: now,
            });
        }
        self.store.insert_clip_outputs(&rows, &hooks).await?;
        let detail = serde_json::json!({
            "liveJob": job.id.to_string(),
            "outputs": rows.iter().map(|o| serde_json::json!({
                "id": o.id.to_string(),
                "credentials": o.credential_label,
                "destination": destination_host(&o.url),
            })).collect::<Vec<_>>(),
        });
        self.audit_by_detail(
            actor,
            "vod.create",
            format!("vod:{vod_id}"),
            detail.to_string(),
        )
        .await;
        Ok((vod_id, rows))
    }

    /// An FTP destination's host, when it is an address, must be one deliveries may reach (a
    /// name is checked, like every address it resolves to, at delivery).
    fn check_destination_host(&self, dest: &Destination) -> Result<(), Error> {
        let Destination::Ftp { host, .. } = dest else {
            return Ok(());
        };
        let url = reqwest::Url::parse(&format!("ftp://{}/", bracketed(host)))
            .map_err(|_| Error::Invalid("url: the FTP host is not valid".into()))?;
        if let domain::webhook::Target::Ip(ip) = domain::webhook::target(&url)? {
            if !domain::webhook::deliverable(ip, self.webhooks_allow_private()) {
                return Err(Error::Invalid(format!(
                    "url: {host} is an internal address: clips are not delivered there"
                )));
            }
        }
        Ok(())
    }

    /// A clip request's outputs (by its id), or one output (by its own id).
    pub async fn clips(&self, actor: &Actor, id: Uuid) -> Result<Vec<ClipOutput>, Error> {
        actor.require(Permission(Resource::Jobs, Action::Read))?;
        let found = self.store.clip_outputs(Scope::of(actor), id).await?;
        if found.is_empty() {
            return Err(Error::NotFound("vod"));
        }
        Ok(found)
    }

    /// Starts attempts for the clip outputs that are due, as far as the free slots allow; and
    /// finishes the jobs whose encoder did not come back in time. Returns the attempts started.
    pub async fn work_clips(self: &Arc<Self>) -> Result<usize, Error> {
        if let Err(e) = self.expire_live_jobs().await {
            // Clips go on regardless.
            tracing::warn!(error = %e, "could not finish the live jobs past their reconnect window");
        }
        self.sweep_recordings_now_and_then().await;
        let workers = &self.clip_workers;
        if let Ok(mut tasks) = workers.tasks.lock() {
            while tasks.try_join_next().is_some() {}
        }
        let free = workers.slots.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let busy: Vec<Uuid> = match workers.accounts.lock() {
            Ok(set) => set.iter().copied().collect(),
            Err(_) => return Ok(0),
        };
        let now = self.now_ms();
        let mut started = 0;
        for mut o in self.store.due_clip_outputs(now, free as i64, &busy).await? {
            let Ok(permit) = workers.slots.clone().try_acquire_owned() else {
                break;
            };
            let lease = now + CLIP_LEASE_MS;
            if !self
                .store
                .claim_clip_output(o.id, o.next_attempt_at, lease)
                .await?
            {
                continue;
            }
            o.next_attempt_at = lease;
            let account = match workers.accounts.lock() {
                Ok(mut set) => {
                    set.insert(o.account_id);
                    AccountSlot(workers.accounts.clone(), o.account_id)
                }
                Err(_) => break,
            };
            let svc = Arc::clone(self);
            if let Ok(mut tasks) = workers.tasks.lock() {
                tasks.spawn(async move {
                    svc.clip_attempt(o, lease).await;
                    drop((permit, account));
                });
                started += 1;
            }
        }
        Ok(started)
    }

    /// Sweeps the recordings directory once a minute (`sweep_recordings`).
    async fn sweep_recordings_now_and_then(self: &Arc<Self>) {
        let due = match self.recordings_swept.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
                if due {
                    *last = Some(std::time::Instant::now());
                }
                due
            }
            Err(_) => false,
        };
        if due {
            if let Err(e) = self.sweep_recordings().await {
                tracing::warn!(error = %e, "could not sweep the recordings directory");
            }
        }
    }

    /// Stops the clip attempts in flight (retried once their lease ends).
    pub fn stop_clips(&self) {
        if let Ok(mut tasks) = self.clip_workers.tasks.lock() {
            tasks.abort_all();
        }
    }

    /// One attempt and its outcome recorded (under its lease: `leased_until`).
    async fn clip_attempt(&self, mut o: ClipOutput, leased_until: i64) {
        let outcome = tokio::time::timeout(CLIP_ATTEMPT_TIMEOUT, self.deliver_clip(&o))
            .await
            .unwrap_or_else(|_| Err(("timed out".into(), true)));
        o.attempts += 1;
        o.updated_at = self.now_ms();
        match outcome {
            Ok(bytes) => {
                o.state = ClipState::Finished;
                o.error = None;
                o.bytes = Some(bytes);
            }
            Err((why, retry)) => {
                let why = kept_error(&why);
                tracing::warn!(clip = %o.id, attempts = o.attempts, error = %why, "clip delivery failed");
                o.error = Some(why);
                if retry && o.attempts < MAX_CLIP_ATTEMPTS {
                    o.next_attempt_at = self.now_ms() + backoff_secs(o.attempts) * 1000;
                } else {
                    o.state = ClipState::Failed;
                }
            }
        }
        // Its endpoints hear of the outcome once: delivered, or given up.
        let deliveries = if o.state == ClipState::Waiting {
            Vec::new()
        } else {
            let now = self.now_ms();
            let body = serde_json::json!({
                "timestamp": now,
                "time": domain::clock::rfc3339(now),
                "account_id": o.account_id.to_string(),
                "entity": o.id.simple().to_string(),
                "entity_type": "vod_job",
                "event": super::live_jobs::STATE_CHANGED,
                "state": o.state.as_str(),
                "job_id": o.job_id.simple().to_string(),
                "vod_id": o.vod_id.simple().to_string(),
                "label": o.label,
                "error": o.error,
            })
            .to_string();
            super::live_jobs::state_changed(o.account_id, &o.notifications, &body, now)
        };
        match self
            .store
            .record_clip_attempt(&o, leased_until, &deliveries)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(clip = %o.id, "a clip attempt outlived its lease: its outcome is not kept")
            }
            // The lease runs out and it is attempted again.
            Err(e) => tracing::warn!(clip = %o.id, error = %e, "could not record a clip attempt"),
        }
    }

    /// Cuts the clip and delivers it; the bytes delivered.
    async fn deliver_clip(&self, o: &ClipOutput) -> Attempt<i64> {
        let dest = Destination::parse(&o.url).map_err(|e| (e.to_string(), false))?;
        let cred = self
            .resolve_credential(
                o.account_id,
                o.environment,
                CredentialRef::Label(&o.credential_label),
            )
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => (
                    format!("credential {:?} is gone", o.credential_label),
                    false,
                ),
                other => (other.to_string(), true),
            })?;
        if cred.kind != dest.credential_type() {
            return Err((
                format!(
                    "credential {:?} is now of type {}",
                    cred.label,
                    cred.kind.as_str()
                ),
                false,
            ));
        }
        let recording = match self.store.recording(o.recording_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(("the recording is gone".into(), false)),
            Err(e) => return Err((e.to_string(), true)),
        };
        let dir = tempfile::tempdir().map_err(|e| (format!("temp dir: {e}"), true))?;
        let input = dir.path().join("recording.flv");
        let output = dir.path().join("clip.mp4");
        self.fetch_object(&recording.object_key, &input).await?;
        let total = recording.duration_ms as f64 / 1000.0;
        let began = recording.began_at as f64 / 1000.0;
        let (start, len) = o
            .window
            .within(total, began)
            .map_err(|e| (e.to_string(), false))?;
        let j = &self.settings.jobs;
        super::ffmpeg::cut(&j.ffmpeg, &input, start, len, &output)
            .await
            .map_err(|e| (e, true))?;
        let size = tokio::fs::metadata(&output)
            .await
            .map_err(|e| (format!("the clip: {e}"), true))?
            .len();
        match dest {
            Destination::S3 { bucket, key } => self.clip_to_s3(&cred, &bucket, &key, &output).await,
            Destination::Ftp {
                host,
                port,
                path,
                tls,
            } => {
                self.clip_to_ftp(&cred, &host, port, &path, tls, &output, size)
                    .await
            }
        }?;
        Ok(i64::try_from(size).unwrap_or(i64::MAX))
    }

    /// Copies a stored object into a local file.
    async fn fetch_object(&self, key: &str, to: &std::path::Path) -> Attempt<()> {
        let read = self
            .objects
            .read(key)
            .await
            .map_err(|e| (e.to_string(), true))?
            .ok_or_else(|| ("the recording's file is gone".to_string(), false))?;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| (format!("temp file: {e}"), true))?;
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| (format!("reading the recording: {e}"), true))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| (format!("temp file: {e}"), true))?;
        }
        file.flush()
            .await
            .map_err(|e| (format!("temp file: {e}"), true))
    }

    async fn clip_to_s3(
        &self,
        cred: &Credential,
        bucket: &str,
        key: &str,
        file: &std::path::Path,
    ) -> Attempt<()> {
        let j = &self.settings.jobs;
        let bucket_store = Objects::s3_with_keys(
            bucket,
            j.s3_endpoint.as_deref(),
            &j.s3_region,
            &cred.public,
            cred.private.expose(),
        )
        .map_err(|e| (e.to_string(), false))?;
        let host = match &j.s3_endpoint {
            Some(e) => reqwest::Url::parse(e)
                .map(|u| super::deliveries::host_of(&u))
                .unwrap_or_default(),
            // Path-style requests: the regional endpoint.
            None => format!("s3.{}.amazonaws.com", j.s3_region),
        };
        self.credential_sent(cred, host, "s3").await;
        let source = tokio::fs::File::open(file)
            .await
            .map_err(|e| (format!("the clip: {e}"), true))?;
        bucket_store
            .write(key, file_stream(source), u64::MAX)
            .await
            .map_err(|e| (format!("S3: {}", Error::from(e)), true))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn clip_to_ftp(
        &self,
        cred: &Credential,
        host: &str,
        port: u16,
        path: &str,
        tls: bool,
        file: &std::path::Path,
        size: u64,
    ) -> Attempt<()> {
        let url = reqwest::Url::parse(&format!("ftp://{}:{port}/", bracketed(host)))
            .map_err(|e| (format!("ftp destination: {e}"), false))?;
        let (_, addrs) = self.checked_addrs(&url).await?;
        let roots = match &self.settings.jobs.ftp_ca_file {
            Some(p) => Some(
                tokio::fs::read(p)
                    .await
                    .map_err(|e| (format!("the FTP CA file: {e}"), false))?,
            ),
            None => None,
        };
        self.credential_sent(cred, super::deliveries::host_of(&url), "ftp")
            .await;
        let source = tokio::fs::File::open(file)
            .await
            .map_err(|e| (format!("the clip: {e}"), true))?;
        let target = super::ftp::FtpUpload {
            addrs: &addrs,
            host,
            user: &cred.public,
            password: cred.private.expose(),
            path,
            tls,
            extra_roots_pem: roots.as_deref(),
            timeout: FTP_STEP_TIMEOUT,
        };
        super::ftp::upload(&target, source, size).await.map(|_| ())
    }
}

/// A host as a URL names it: an IPv6 address in brackets.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The host a clip goes to, for the audit log: the bucket, or the FTP server.
fn destination_host(url: &str) -> String {
    match Destination::parse(url) {
        Ok(Destination::S3 { bucket, .. }) => format!("s3://{bucket}"),
        Ok(Destination::Ftp { host, port, .. }) => format!("{host}:{port}"),
        Err(_) => String::new(),
    }
}
