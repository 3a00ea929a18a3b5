//! A live job's recordings: the media server records the job's stream (nginx-rtmp `record`) into
//! the configured directory and reports each finished file (`on_record_done`, authenticated by
//! its ingest token). The file must be in that directory (no other path is ever opened); it is
//! measured with ffprobe, streamed into object storage under the job, recorded, and then removed
//! from the media server's directory.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::ingest_tokens::IngestCaller;
use super::live_jobs::name_hash;
use super::Services;
use domain::ingest_token::caps;
use domain::live_job::Recording;
use domain::{AuditEvent, Error};

/// What the media server reports about a finished recording.
#[derive(Debug, Clone)]
pub struct RecordDone {
    pub caller: IngestCaller,
    pub app: String,
    pub stream: String,
    /// The recorded file, as the media server names it.
    pub path: String,
}

/// The object key of a job's recording.
pub fn recording_key(job: Uuid, recording: Uuid) -> String {
    format!("jobs/{job}/recordings/{recording}.flv")
}

/// `path` if it is a regular file inside `dir` (both resolved: no `..`, no symbolic link out).
fn inside(dir: &Path, path: &str) -> Result<PathBuf, String> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("the recordings directory: {e}"))?;
    let file = Path::new(path)
        .canonicalize()
        .map_err(|_| "no such recording".to_string())?;
    if !file.starts_with(&dir) || !file.is_file() {
        return Err("the recording is not in the recordings directory".into());
    }
    Ok(file)
}

impl Services {
    /// Takes a finished recording of a job into object storage. Ok(None): not a job's (another
    /// application, an unknown stream name), nothing done.
    pub async fn record_done(&self, r: &RecordDone) -> Result<Option<Recording>, Error> {
        if !self.is_job_app(&r.app) || r.stream.len() > caps::STREAM || r.path.len() > 4096 {
            return Ok(None);
        }
        let Some(job) = self
            .store
            .live_job_by_name_hash(&name_hash(&r.stream))
            .await?
        else {
            return Ok(None);
        };
        let Some(dir) = &self.settings.jobs.record_dir else {
            return Err(Error::Invalid(
                "recordings are not taken: set the recordings directory (STREAMGATE_RECORD_DIR)"
                    .into(),
            ));
        };
        let file = inside(dir, &r.path).map_err(Error::Invalid)?;
        let duration_ms = super::ffmpeg::duration_ms(&self.settings.jobs.ffprobe, &file)
            .await
            .map_err(|e| Error::Invalid(format!("the recording cannot be read: {e}")))?;
        let id = Uuid::now_v7();
        let key = recording_key(job.id, id);
        let source = tokio::fs::File::open(&file)
            .await
            .map_err(|e| Error::Invalid(format!("the recording cannot be opened: {e}")))?;
        let bytes = self
            .objects
            .write(
                &key,
                super::objects::file_stream(source),
                self.settings.upload_max_bytes,
            )
            .await?;
        let rec = Recording {
            id,
            job_id: job.id,
            account_id: job.account_id,
            environment: job.environment,
            object_key: key,
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            duration_ms,
            created_at: self.now_ms(),
        };
        self.store.insert_recording(&rec).await?;
        // Stored durably: the media server's copy is no longer needed.
        if let Err(e) = tokio::fs::remove_file(&file).await {
            tracing::warn!(error = %e, job = %job.id, "could not remove a recorded file");
        }
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(job.account_id),
            actor: format!("ingest_token:{}", r.caller.token_id()),
            action: "live_job.recording".into(),
            object: format!("live_job:{}", job.id),
            outcome: "ok".into(),
            detail: serde_json::json!({
                "recording": id.to_string(),
                "bytes": rec.bytes,
                "durationMs": duration_ms,
            })
            .to_string(),
            at: self.now_ms(),
            environment: Some(job.environment),
        })
        .await;
        Ok(Some(rec))
    }
}
