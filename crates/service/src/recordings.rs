//! A live job's recordings: the media server records the job's stream (nginx-rtmp `record`) into
//! the configured directory and reports each finished file (`on_record_done`, authenticated by
//! its ingest token). The file must be in that directory (no other path is ever opened) and named
//! after the job's stream; it is measured with ffprobe, streamed into object storage under the
//! job, recorded, and then removed from the media server's directory — in the background, a
//! bounded number at once. Files left there (a report that never came, a take that failed) are
//! taken by a sweep once untouched for ten minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use super::ingest_tokens::IngestCaller;
use super::live_jobs::name_hash;
use super::Services;
use domain::ingest_token::caps;
use domain::live_job::{LiveJob, Recording};
use domain::{AuditEvent, Error};

/// What the media server reports about a finished recording.
#[derive(Clone)]
pub struct RecordDone {
    pub caller: IngestCaller,
    pub app: String,
    pub stream: String,
    /// The recorded file, as the media server names it.
    pub path: String,
}

/// Neither the stream name nor the file (named after it) is ever printed.
impl std::fmt::Debug for RecordDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDone")
            .field("caller", &self.caller.token_id())
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// Recordings being taken at once…
const TAKING: usize = 2;
/// …and at most this many waiting (beyond: 503, and the sweep takes them later).
const MAX_PENDING: usize = 64;
/// A file left in the recordings directory this long (no report came, or its take failed) is
/// taken by the sweep, when it is named after a job.
const LEFT_BEHIND: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Recordings being taken: a bounded number at once, each file once.
pub struct Takes {
    slots: tokio::sync::Semaphore,
    files: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl Default for Takes {
    fn default() -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(TAKING),
            files: Default::default(),
        }
    }
}

/// The object key of a job's recording.
pub fn recording_key(job: Uuid, recording: Uuid) -> String {
    format!("jobs/{job}/recordings/{recording}.flv")
}

/// `path` if it is a regular file inside `dir` (both resolved: no `..`, no symbolic link out).
fn inside(dir: &Path, path: &Path) -> Result<PathBuf, String> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("the recordings directory: {e}"))?;
    let file = path
        .canonicalize()
        .map_err(|_| "no such recording".to_string())?;
    if !file.starts_with(&dir) || !file.is_file() {
        return Err("the recording is not in the recordings directory".into());
    }
    Ok(file)
}

/// The stream name a recorded file is named after: nginx-rtmp writes `<name>.flv`, or
/// `<name>-<unix time>.flv` with `record_unique`.
fn stream_of(file: &Path) -> Option<&str> {
    let stem = file.file_stem()?.to_str()?;
    Some(match stem.rsplit_once('-') {
        Some((name, ts)) if !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => stem,
    })
}

impl Services {
    /// A finished recording of a job, reported by the media server: checked here (a job's, a
    /// file in the recordings directory named after that job's stream), then taken into object
    /// storage in the background, so a large file never holds the hook (nginx-rtmp gives up on
    /// slow ones, and does not ask again). Ok(false): not a job's, nothing done.
    pub async fn record_done(self: &Arc<Self>, r: &RecordDone) -> Result<bool, Error> {
        if !self.is_job_app(&r.app) || r.stream.len() > caps::STREAM || r.path.len() > 4096 {
            return Ok(false);
        }
        let Some(job) = self
            .store
            .live_job_by_name_hash(&name_hash(&r.stream))
            .await?
        else {
            return Ok(false);
        };
        let Some(dir) = &self.settings.jobs.record_dir else {
            return Err(Error::Invalid(
                "recordings are not taken: set the recordings directory (STREAMGATE_RECORD_DIR)"
                    .into(),
            ));
        };
        let file = inside(dir, Path::new(&r.path)).map_err(Error::Invalid)?;
        // Only the job's own recording: one report cannot hand another job's file to this one.
        if stream_of(&file) != Some(r.stream.as_str()) {
            return Err(Error::Invalid(
                "the recording is not named after the stream it is reported for".into(),
            ));
        }
        self.spawn_take(job, file, format!("ingest_token:{}", r.caller.token_id()))?;
        Ok(true)
    }

    /// Takes `file` into storage for `job` in a task of its own (under `TAKING`), unless it is
    /// being taken already.
    fn spawn_take(
        self: &Arc<Self>,
        job: LiveJob,
        file: PathBuf,
        actor: String,
    ) -> Result<(), Error> {
        {
            let Ok(mut files) = self.recording_takes.files.lock() else {
                return Err(Error::Internal("recording takes: poisoned".into()));
            };
            if files.contains(&file) {
                return Ok(());
            }
            if files.len() >= MAX_PENDING {
                return Err(Error::Busy { retry_after: 60 });
            }
            files.insert(file.clone());
        }
        let svc = Arc::clone(self);
        tokio::spawn(async move {
            let taken = match svc.recording_takes.slots.acquire().await {
                Ok(_slot) => svc.take_recording(&job, &file, actor).await,
                Err(_) => Err(Error::Internal("recording takes: closed".into())),
            };
            if let Err(e) = taken {
                // The file stays; the sweep tries again once it has been left long enough.
                tracing::warn!(job = %job.id, error = %e, "a recording was not taken");
            }
            if let Ok(mut files) = svc.recording_takes.files.lock() {
                files.remove(&file);
            }
        });
        Ok(())
    }

    /// Measures `file`, streams it into object storage, records it, removes the media server's
    /// copy, and audits it.
    async fn take_recording(
        &self,
        job: &LiveJob,
        file: &Path,
        actor: String,
    ) -> Result<Recording, Error> {
        let duration_ms = super::ffmpeg::duration_ms(&self.settings.jobs.ffprobe, file)
            .await
            .map_err(|e| Error::Invalid(format!("the recording cannot be read: {e}")))?;
        // Its last write, less its length: when it began (for clip windows in Unix time).
        let written = tokio::fs::metadata(file)
            .await
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(self.now_ms(), |d| {
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            });
        let id = Uuid::now_v7();
        let key = recording_key(job.id, id);
        let source = tokio::fs::File::open(file)
            .await
            .map_err(|e| Error::Invalid(format!("the recording cannot be opened: {}", e.kind())))?;
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
            began_at: written.saturating_sub(duration_ms),
            created_at: self.now_ms(),
        };
        self.store.insert_recording(&rec).await?;
        // Stored durably: the media server's copy is no longer needed.
        if let Err(e) = tokio::fs::remove_file(file).await {
            tracing::warn!(error = %e.kind(), job = %job.id, "could not remove a recorded file");
        }
        self.audit(AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(job.account_id),
            actor,
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
        Ok(rec)
    }

    /// Takes the recordings left in the recordings directory: files untouched for `LEFT_BEHIND`
    /// (whose report never came, or whose take failed) named after a job's stream. Returns how
    /// many it started.
    pub async fn sweep_recordings(self: &Arc<Self>) -> Result<usize, Error> {
        let Some(dir) = self.settings.jobs.record_dir.clone() else {
            return Ok(0);
        };
        let old = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<PathBuf>> {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&dir)?.take(10_000) {
                let entry = entry?;
                let meta = entry.metadata()?;
                let idle = meta.modified()?.elapsed().unwrap_or_default();
                if meta.is_file() && idle >= LEFT_BEHIND {
                    out.push(entry.path());
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("the recordings directory: {}", e.kind())))?;
        let mut started = 0;
        for file in old {
            let Some(name) = stream_of(&file) else {
                continue;
            };
            let Some(job) = self.store.live_job_by_name_hash(&name_hash(name)).await? else {
                continue;
            };
            if self
                .spawn_take(job, file, "recordings:sweep".into())
                .is_ok()
            {
                started += 1;
            }
        }
        Ok(started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_files_are_named_after_their_stream() {
        assert_eq!(stream_of(Path::new("/r/abc-1700000000.flv")), Some("abc"));
        assert_eq!(stream_of(Path::new("/r/abc.flv")), Some("abc"));
        assert_eq!(stream_of(Path::new("/r/a-b.flv")), Some("a-b"));
        assert_eq!(stream_of(Path::new("/r/a-b-12.flv")), Some("a-b"));
    }
}
