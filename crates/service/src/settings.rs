//! What configuration tells the services. The binary fills it from its one typed `Config`; tests
//! build it directly. Nothing here reads the environment.

use std::time::Duration;

use domain::RateLimit;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Webhooks and notification endpoints may target internal addresses (labs, tests).
    pub webhook_allow_private: bool,
    /// Refused ingest decisions from one client address before it is throttled…
    pub ingest_max_failures: u32,
    /// …within this window.
    pub ingest_failure_window: Duration,
    /// A second simultaneous publish of one stream key is allowed.
    pub ingest_allow_concurrent: bool,
    /// Lifetime of the access tokens `/auth/api-key` and `/auth/refresh` issue.
    pub access_token_ttl: Duration,
    /// Requests per key per window, unless the key has its own limit.
    pub rate_limit: RateLimit,
    /// Audit events older than this are pruned; None keeps them forever.
    pub audit_retention: Option<Duration>,
    /// The applications stream-key publishes go to (`live`, and the app of `rtmp_url`): no
    /// Edgecast DirPath may use one as its instance, so none can shadow a stream key's publish.
    pub stream_key_apps: Vec<String>,
    /// Password hashes (argon2id) computed at once…
    pub password_hash_concurrency: usize,
    /// …and how many more may wait; beyond that, refused at once (503).
    pub password_hash_queue: usize,
    /// Entries each in-process cache (key hashes, streams, …) holds at most.
    pub cache_capacity: usize,
    /// nginx-rtmp's control endpoint (`rtmp_control all;`), e.g. `http://127.0.0.1:8081/control`:
    /// a terminated stream's publisher is dropped there. None: streams are only marked idle.
    pub nginx_rtmp_control_url: Option<String>,
    /// Where uploaded bytes are stored.
    pub objects: crate::objects::ObjectsSetting,
    /// Largest file an upload or import may store (checked as it streams).
    pub upload_max_bytes: u64,
    /// Brightcove Live jobs and their clips.
    pub jobs: JobSettings,
}

/// Where Brightcove Live jobs publish and record, and how their clips are cut and delivered.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The media server application jobs publish to (`rtmp://<host>/<app>/<stream name>`).
    pub app: String,
    /// The directory the media server writes its recordings to (nginx-rtmp `record_path`): an
    /// `on_record_done` report names a file there, which is moved into object storage. None:
    /// recordings are not taken (reports are refused).
    pub record_dir: Option<std::path::PathBuf>,
    /// The ffmpeg and ffprobe programs (a name on PATH, or a path).
    pub ffmpeg: String,
    pub ffprobe: String,
    /// Clip delivery to `s3://`: an S3-compatible service's URL (None: AWS), and the region.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    /// Extra trusted roots (a PEM file) for `ftps://` destinations, besides the public ones.
    pub ftp_ca_file: Option<std::path::PathBuf>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            app: "jobs".into(),
            record_dir: None,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            ftp_ca_file: None,
        }
    }
}

/// Largest upload by default: 4 GiB.
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 4 << 30;

/// The machine's CPU count: password hashes that may run at once by default.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            webhook_allow_private: false,
            ingest_max_failures: 10,
            ingest_failure_window: Duration::from_secs(60),
            ingest_allow_concurrent: false,
            access_token_ttl: Duration::from_secs(3600),
            rate_limit: RateLimit {
                limit: 1200,
                duration_ms: 60_000,
            },
            audit_retention: Some(Duration::from_secs(90 * 24 * 3600)),
            stream_key_apps: vec!["live".into()],
            password_hash_concurrency: cpu_count(),
            password_hash_queue: 32,
            cache_capacity: crate::verifier::CACHE_CAPACITY,
            nginx_rtmp_control_url: None,
            objects: Default::default(),
            upload_max_bytes: DEFAULT_UPLOAD_MAX_BYTES,
            jobs: JobSettings::default(),
        }
    }
}
