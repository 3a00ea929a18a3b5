//! Brightcove Live jobs, their recordings and their clip outputs, as the store keeps them. A
//! job's state changes in one statement that names the states it may change from (no lost
//! update between a hook and a cancel), with the notifications it queues in the same
//! transaction. Clip outputs are the durable queue of clip deliveries: claimed with a lease,
//! retried with backoff, picked up again after a restart.

use async_trait::async_trait;
use uuid::Uuid;

use crate::webhooks::DeliveryRecord;
use crate::{Scope, SqlStore, StoreError, StoreResult};
use domain::live_job::{
    ClipOutput, ClipState, ClipWindow, JobNotification, JobState, LiveJob, Recording,
    MAX_ACTIVE_JOBS, MAX_WAITING_CLIPS,
};
use domain::{Environment, Error, Webhook};

const JOB_COLUMNS: &str = "id, account_id, environment, state, stream_name_sealed, rtmp_credential, region, reconnect_time, outputs, notifications, created_at, updated_at, disconnected_at";
const RECORDING_COLUMNS: &str =
    "id, job_id, account_id, environment, object_key, bytes, duration_ms, began_at, created_at";
const CLIP_COLUMNS: &str = "id, vod_id, job_id, account_id, environment, recording_id, label, url, credential_label, clip_window, state, error, attempts, next_attempt_at, bytes, notifications, created_at, updated_at";

#[async_trait]
pub trait LiveJobStore: Send + Sync {
    /// Inserts a job with its notification endpoints (webhook rows), in one transaction; refused
    /// when the scope already has `MAX_ACTIVE_JOBS` jobs that are not over.
    async fn insert_live_job(
        &self,
        job: &LiveJob,
        name_hash: &str,
        hooks: &[Webhook],
    ) -> StoreResult<()>;
    async fn live_job(&self, scope: Scope, id: Uuid) -> StoreResult<Option<LiveJob>>;
    /// A page of the scope's jobs, newest first, in one state when asked.
    async fn list_live_jobs(
        &self,
        scope: Scope,
        state: Option<JobState>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<LiveJob>>;
    /// The job whose stream name has this SHA-256 (hex), in any account: for the media server's
    /// hooks, whose stream name is the credential.
    async fn live_job_by_name_hash(&self, hash: &str) -> StoreResult<Option<LiveJob>>;
    /// Moves the job to `to` if it is in one of `from`, queueing `deliveries` in the same
    /// transaction; the job as it is now, or None when it was not in one of those states.
    async fn set_live_job_state(
        &self,
        id: Uuid,
        from: &[JobState],
        to: JobState,
        at: i64,
        deliveries: &[DeliveryRecord],
    ) -> StoreResult<Option<LiveJob>>;
    /// Disconnected jobs whose encoder did not come back within their `reconnect_time`.
    async fn expired_live_jobs(&self, now: i64, limit: i64) -> StoreResult<Vec<LiveJob>>;
    async fn insert_recording(&self, r: &Recording) -> StoreResult<()>;
    /// The job's newest recording.
    async fn latest_recording(&self, job_id: Uuid) -> StoreResult<Option<Recording>>;
    async fn recording(&self, id: Uuid) -> StoreResult<Option<Recording>>;
    /// Inserts a clip request's outputs, with their notification endpoints (webhook rows), in
    /// one transaction; refused when their scope would have more than `MAX_WAITING_CLIPS` waiting.
    async fn insert_clip_outputs(
        &self,
        outputs: &[ClipOutput],
        hooks: &[Webhook],
    ) -> StoreResult<()>;
    /// The outputs of a clip request (its `vod_id`), or the one output with that id.
    async fn clip_outputs(&self, scope: Scope, id: Uuid) -> StoreResult<Vec<ClipOutput>>;
    /// The outputs due for an attempt, oldest first, at most one per account, none of the
    /// accounts skipped (those with an attempt running).
    async fn due_clip_outputs(
        &self,
        now: i64,
        limit: i64,
        skip_accounts: &[Uuid],
    ) -> StoreResult<Vec<ClipOutput>>;
    /// Claims a due output for one attempt: moves its next attempt to `lease_until` if it is
    /// still waiting at `next_attempt_at`. False: another worker has it.
    async fn claim_clip_output(
        &self,
        id: Uuid,
        next_attempt_at: i64,
        lease_until: i64,
    ) -> StoreResult<bool>;
    /// Records an attempt's outcome, if the output is still claimed by that attempt (its lease,
    /// `leased_until`, unchanged): an attempt that outlived its lease records nothing. With the
    /// outcome's notifications, queued in the same transaction.
    async fn record_clip_attempt(
        &self,
        o: &ClipOutput,
        leased_until: i64,
        deliveries: &[DeliveryRecord],
    ) -> StoreResult<bool>;
}

fn corrupt(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| corrupt(&e))
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    account_id: String,
    environment: String,
    state: String,
    stream_name_sealed: String,
    rtmp_credential: Option<String>,
    region: String,
    reconnect_time: i64,
    outputs: String,
    notifications: String,
    created_at: i64,
    updated_at: i64,
    disconnected_at: Option<i64>,
}

impl JobRow {
    fn into_record(self) -> StoreResult<LiveJob> {
        let notifications: Vec<JobNotification> =
            serde_json::from_str(&self.notifications).map_err(|e| corrupt(&e))?;
        Ok(LiveJob {
            id: uuid(&self.id)?,
            account_id: uuid(&self.account_id)?,
            environment: Environment::parse(&self.environment).map_err(|e| corrupt(&e))?,
            state: JobState::parse(&self.state).map_err(|e| corrupt(&e))?,
            stream_name_sealed: self.stream_name_sealed,
            rtmp_credential: self.rtmp_credential,
            region: self.region,
            reconnect_time: self.reconnect_time,
            outputs: serde_json::from_str(&self.outputs).map_err(|e| corrupt(&e))?,
            notifications,
            created_at: self.created_at,
            updated_at: self.updated_at,
            disconnected_at: self.disconnected_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RecordingRow {
    id: String,
    job_id: String,
    account_id: String,
    environment: String,
    object_key: String,
    bytes: i64,
    duration_ms: i64,
    began_at: i64,
    created_at: i64,
}

impl RecordingRow {
    fn into_record(self) -> StoreResult<Recording> {
        Ok(Recording {
            id: uuid(&self.id)?,
            job_id: uuid(&self.job_id)?,
            account_id: uuid(&self.account_id)?,
            environment: Environment::parse(&self.environment).map_err(|e| corrupt(&e))?,
            object_key: self.object_key,
            bytes: self.bytes,
            duration_ms: self.duration_ms,
            began_at: self.began_at,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClipRow {
    id: String,
    vod_id: String,
    job_id: String,
    account_id: String,
    environment: String,
    recording_id: String,
    label: String,
    url: String,
    credential_label: String,
    clip_window: String,
    state: String,
    error: Option<String>,
    attempts: i64,
    next_attempt_at: i64,
    bytes: Option<i64>,
    notifications: String,
    created_at: i64,
    updated_at: i64,
}

impl ClipRow {
    fn into_record(self) -> StoreResult<ClipOutput> {
        let window: serde_json::Value =
            serde_json::from_str(&self.clip_window).map_err(|e| corrupt(&e))?;
        Ok(ClipOutput {
            id: uuid(&self.id)?,
            vod_id: uuid(&self.vod_id)?,
            job_id: uuid(&self.job_id)?,
            account_id: uuid(&self.account_id)?,
            environment: Environment::parse(&self.environment).map_err(|e| corrupt(&e))?,
            recording_id: uuid(&self.recording_id)?,
            label: self.label,
            url: self.url,
            credential_label: self.credential_label,
            window: ClipWindow::from_json(&window)
                .ok_or_else(|| corrupt(&"a clip window names no duration or range"))?,
            state: ClipState::parse(&self.state).map_err(|e| corrupt(&e))?,
            error: self.error,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            bytes: self.bytes,
            notifications: serde_json::from_str(&self.notifications).map_err(|e| corrupt(&e))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Inserts notification endpoints inside the caller's transaction (with the job or clip they
/// belong to).
async fn insert_hooks(tx: &mut crate::db::Tx, hooks: &[Webhook]) -> StoreResult<()> {
    for w in hooks {
        let (sql, args) = crate::webhooks::insert_statement(w);
        tx.execute(&sql, args).await?;
    }
    Ok(())
}

/// Locks the account's row until the transaction ends, so two writes that count the account's
/// rows against a cap count one after the other.
async fn lock_account(tx: &mut crate::db::Tx, account_id: Uuid) -> StoreResult<()> {
    tx.lock_rows("accounts", "id = $1", crate::args![account_id.to_string()])
        .await?;
    Ok(())
}

/// `'a', 'b'`: states as SQL literals (they come from the enum, never from a caller).
fn state_list(states: &[JobState]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The states a job is not over in.
const ACTIVE: [JobState; 3] = [
    JobState::Waiting,
    JobState::Processing,
    JobState::Disconnected,
];

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

#[async_trait]
impl LiveJobStore for SqlStore {
    async fn insert_live_job(
        &self,
        job: &LiveJob,
        name_hash: &str,
        hooks: &[Webhook],
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        lock_account(&mut tx, job.account_id).await?;
        let active: Count = tx
            .fetch_one(
                &format!(
                    "SELECT COUNT(*) AS n FROM live_jobs WHERE account_id = $1 AND environment = $2 AND state IN ({})",
                    state_list(&ACTIVE)
                ),
                crate::args![job.account_id.to_string(), job.environment.as_str()],
            )
            .await?;
        if active.n >= MAX_ACTIVE_JOBS {
            return Err(StoreError::Refused(Error::Invalid(format!(
                "at most {MAX_ACTIVE_JOBS} jobs may be waiting, processing or disconnected at once: finish or cancel one first"
            ))));
        }
        insert_hooks(&mut tx, hooks).await?;
        tx.execute(
            &format!(
                "INSERT INTO live_jobs ({JOB_COLUMNS}, stream_name_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            crate::args![
                job.id.to_string(),
                job.account_id.to_string(),
                job.environment.as_str(),
                job.state.as_str(),
                &job.stream_name_sealed,
                &job.rtmp_credential,
                &job.region,
                job.reconnect_time,
                job.outputs.to_string(),
                serde_json::to_string(&job.notifications).unwrap_or_else(|_| "[]".into()),
                job.created_at,
                job.updated_at,
                job.disconnected_at,
                name_hash
            ],
        )
        .await
        .map_err(|e| crate::map_unique(e, "live job"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn live_job(&self, scope: Scope, id: Uuid) -> StoreResult<Option<LiveJob>> {
        self.db
            .fetch_optional::<JobRow>(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM live_jobs WHERE id = $1 AND account_id = $2 AND environment = $3"
                ),
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .map(JobRow::into_record)
            .transpose()
    }

    async fn list_live_jobs(
        &self,
        scope: Scope,
        state: Option<JobState>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<LiveJob>> {
        let filter = state
            .map(|s| format!(" AND state = '{}'", s.as_str()))
            .unwrap_or_default();
        self.db
            .fetch_all::<JobRow>(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM live_jobs WHERE account_id = $1 AND environment = $2{filter} \
                     ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
                ),
                crate::args![
                    scope.account_id.to_string(),
                    scope.environment.as_str(),
                    limit,
                    offset
                ],
            )
            .await?
            .into_iter()
            .map(JobRow::into_record)
            .collect()
    }

    async fn live_job_by_name_hash(&self, hash: &str) -> StoreResult<Option<LiveJob>> {
        self.db
            .fetch_optional::<JobRow>(
                &format!("SELECT {JOB_COLUMNS} FROM live_jobs WHERE stream_name_hash = $1"),
                crate::args![hash],
            )
            .await?
            .map(JobRow::into_record)
            .transpose()
    }

    async fn set_live_job_state(
        &self,
        id: Uuid,
        from: &[JobState],
        to: JobState,
        at: i64,
        deliveries: &[DeliveryRecord],
    ) -> StoreResult<Option<LiveJob>> {
        let mut tx = self.db.begin().await?;
        let disconnected_at = (to == JobState::Disconnected).then_some(at);
        let changed = tx
            .execute(
                &format!(
                    "UPDATE live_jobs SET state = $1, updated_at = $2, disconnected_at = $3 \
                     WHERE id = $4 AND state IN ({})",
                    state_list(from)
                ),
                crate::args![to.as_str(), at, disconnected_at, id.to_string()],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        Self::insert_deliveries(&mut tx, deliveries).await?;
        let row: JobRow = tx
            .fetch_one(
                &format!("SELECT {JOB_COLUMNS} FROM live_jobs WHERE id = $1"),
                crate::args![id.to_string()],
            )
            .await?;
        tx.commit().await?;
        row.into_record().map(Some)
    }

    async fn expired_live_jobs(&self, now: i64, limit: i64) -> StoreResult<Vec<LiveJob>> {
        self.db
            .fetch_all::<JobRow>(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM live_jobs WHERE state = 'disconnected' \
                     AND disconnected_at + reconnect_time * 1000 <= $1 ORDER BY disconnected_at LIMIT $2"
                ),
                crate::args![now, limit],
            )
            .await?
            .into_iter()
            .map(JobRow::into_record)
            .collect()
    }

    async fn insert_recording(&self, r: &Recording) -> StoreResult<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO live_job_recordings ({RECORDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                crate::args![
                    r.id.to_string(),
                    r.job_id.to_string(),
                    r.account_id.to_string(),
                    r.environment.as_str(),
                    &r.object_key,
                    r.bytes,
                    r.duration_ms,
                    r.began_at,
                    r.created_at
                ],
            )
            .await?;
        Ok(())
    }

    async fn latest_recording(&self, job_id: Uuid) -> StoreResult<Option<Recording>> {
        self.db
            .fetch_optional::<RecordingRow>(
                &format!(
                    "SELECT {RECORDING_COLUMNS} FROM live_job_recordings WHERE job_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT 1"
                ),
                crate::args![job_id.to_string()],
            )
            .await?
            .map(RecordingRow::into_record)
            .transpose()
    }

    async fn recording(&self, id: Uuid) -> StoreResult<Option<Recording>> {
        self.db
            .fetch_optional::<RecordingRow>(
                &format!("SELECT {RECORDING_COLUMNS} FROM live_job_recordings WHERE id = $1"),
                crate::args![id.to_string()],
            )
            .await?
            .map(RecordingRow::into_record)
            .transpose()
    }

    async fn insert_clip_outputs(
        &self,
        outputs: &[ClipOutput],
        hooks: &[Webhook],
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        if let Some(first) = outputs.first() {
            lock_account(&mut tx, first.account_id).await?;
            let waiting: Count = tx
                .fetch_one(
                    "SELECT COUNT(*) AS n FROM clip_outputs WHERE account_id = $1 AND environment = $2 AND state = 'waiting'",
                    crate::args![first.account_id.to_string(), first.environment.as_str()],
                )
                .await?;
            if waiting.n + outputs.len() as i64 > MAX_WAITING_CLIPS {
                return Err(StoreError::Refused(Error::Invalid(format!(
                    "at most {MAX_WAITING_CLIPS} clip outputs may wait for delivery at once: try again when some are delivered"
                ))));
            }
        }
        insert_hooks(&mut tx, hooks).await?;
        for o in outputs {
            tx.execute(
                &format!(
                    "INSERT INTO clip_outputs ({CLIP_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                ),
                crate::args![
                    o.id.to_string(),
                    o.vod_id.to_string(),
                    o.job_id.to_string(),
                    o.account_id.to_string(),
                    o.environment.as_str(),
                    o.recording_id.to_string(),
                    &o.label,
                    &o.url,
                    &o.credential_label,
                    o.window.to_json().to_string(),
                    o.state.as_str(),
                    &o.error,
                    o.attempts,
                    o.next_attempt_at,
                    o.bytes,
                    serde_json::to_string(&o.notifications).unwrap_or_else(|_| "[]".into()),
                    o.created_at,
                    o.updated_at
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clip_outputs(&self, scope: Scope, id: Uuid) -> StoreResult<Vec<ClipOutput>> {
        self.db
            .fetch_all::<ClipRow>(
                &format!(
                    "SELECT {CLIP_COLUMNS} FROM clip_outputs WHERE (vod_id = $1 OR id = $1) \
                     AND account_id = $2 AND environment = $3 ORDER BY created_at, id"
                ),
                crate::args![
                    id.to_string(),
                    scope.account_id.to_string(),
                    scope.environment.as_str()
                ],
            )
            .await?
            .into_iter()
            .map(ClipRow::into_record)
            .collect()
    }

    async fn due_clip_outputs(
        &self,
        now: i64,
        limit: i64,
        skip_accounts: &[Uuid],
    ) -> StoreResult<Vec<ClipOutput>> {
        // The oldest due output of each account (so one account's backlog waits its turn).
        let rows = self
            .db
            .fetch_all::<ClipRow>(
                &format!(
                    "SELECT {CLIP_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER \
                     (PARTITION BY account_id ORDER BY next_attempt_at, id) AS nth \
                     FROM clip_outputs WHERE state = 'waiting' AND next_attempt_at <= $1) due \
                     WHERE nth = 1 ORDER BY next_attempt_at, id LIMIT $2"
                ),
                crate::args![now, limit + skip_accounts.len() as i64],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            match r.into_record() {
                Ok(o) if !skip_accounts.contains(&o.account_id) => out.push(o),
                Ok(_) => {}
                // One bad row does not stop everyone's clips.
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable clip output"),
            }
        }
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }

    async fn claim_clip_output(
        &self,
        id: Uuid,
        next_attempt_at: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        let n = self
            .db
            .execute(
                "UPDATE clip_outputs SET next_attempt_at = $1 \
                 WHERE id = $2 AND state = 'waiting' AND next_attempt_at = $3",
                crate::args![lease_until, id.to_string(), next_attempt_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn record_clip_attempt(
        &self,
        o: &ClipOutput,
        leased_until: i64,
        deliveries: &[DeliveryRecord],
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE clip_outputs SET state = $1, error = $2, attempts = $3, next_attempt_at = $4, \
                 bytes = $5, updated_at = $6 WHERE id = $7 AND state = 'waiting' AND next_attempt_at = $8",
                crate::args![
                    o.state.as_str(),
                    &o.error,
                    o.attempts,
                    o.next_attempt_at,
                    o.bytes,
                    o.updated_at,
                    o.id.to_string(),
                    leased_until
                ],
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
        Self::insert_deliveries(&mut tx, deliveries).await?;
        tx.commit().await?;
        Ok(true)
    }
}
