//! The one typed configuration, read once at start: defaults < file (`streamgate.toml`) <
//! environment `STREAMGATE_*` < flags. Every setting is a row of `SETTINGS`, which parses it,
//! names it in its errors, and generates the README's settings table (a test compares them).
//! Nothing else in streamgate reads the environment; the layers get their part of the value
//! (`service::Settings`, `http::Settings`) passed down.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::domain::clock::parse_duration_ms;
use crate::domain::SecretString;

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`; None: an SQLite file under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Log filter (RUST_LOG syntax).
    pub log: String,
    pub master_key_file: Option<PathBuf>,
    /// Base64 of 32 bytes; overrides the key file.
    pub master_key: Option<SecretString>,
    pub service: crate::service::Settings,
    pub http: crate::http::Settings,
    /// Uploaded bytes go to this S3 bucket (None: `objects/` under `data_dir`)…
    pub s3_bucket: Option<String>,
    /// …at this S3-compatible endpoint (None: AWS)…
    pub s3_endpoint: Option<String>,
    /// …in this region.
    pub s3_region: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("./streamgate-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log: "info".into(),
            master_key_file: None,
            master_key: None,
            service: Default::default(),
            http: Default::default(),
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
        }
    }
}

/// One setting: where it can come from, what it defaults to, and how its text becomes a value.
pub struct Setting {
    /// Its key in the file; None: not allowed in the file (a secret).
    pub file: Option<&'static str>,
    pub env: &'static str,
    /// Its flag, when it has one.
    pub flag: Option<&'static str>,
    pub default: &'static str,
    pub doc: &'static str,
    apply: fn(&mut Config, &str) -> Result<(), String>,
}

fn flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("must be true or false (got {s:?})")),
    }
}

fn whole(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("must be a whole number above 0 (got {s:?})"))
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration_ms(s)
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Duration::from_millis)
        .ok_or_else(|| format!("must look like 90s, 60m or 1h (got {s:?})"))
}

fn non_empty(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// Every setting, in the order the README lists them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        file: Some("database_url"),
        env: "STREAMGATE_DATABASE_URL",
        flag: Some("--database-url"),
        default: "`sqlite://<data-dir>/streamgate.db`",
        doc: "the store: `sqlite://PATH` or `postgres://…`",
        apply: |c, s| {
            let s = non_empty(s)?;
            if !(s.starts_with("sqlite:") || s.starts_with("postgres:") || s.starts_with("postgresql:")) {
                return Err(format!(
                    "unsupported database url {s:?}: use sqlite://PATH or postgres://…"
                ));
            }
            c.database_url = Some(s);
            Ok(())
        },
    },
    Setting {
        file: Some("data_dir"),
        env: "STREAMGATE_DATA_DIR",
        flag: Some("--data-dir"),
        default: "`./streamgate-data`",
        doc: "where the default SQLite database and the vault's key file live",
        apply: |c, s| {
            c.data_dir = PathBuf::from(non_empty(s)?);
            Ok(())
        },
    },
    Setting {
        file: Some("listen"),
        env: "STREAMGATE_LISTEN",
        flag: Some("--listen (serve)"),
        default: "`127.0.0.1:8080`",
        doc: "the address `serve` listens on",
        apply: |c, s| {
            c.listen = s
                .trim()
                .parse()
                .map_err(|_| format!("must be an address such as 127.0.0.1:8080 (got {s:?})"))?;
            Ok(())
        },
    },
    Setting {
        file: Some("header_timeout"),
        env: "STREAMGATE_HEADER_TIMEOUT",
        flag: None,
        default: "`10s`",
        doc: "a connection that has not sent a whole request head this long after it opened (or after the head's first byte, on a kept-alive connection) is closed",
        apply: |c, s| {
            c.http.header_timeout = duration(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("idle_timeout"),
        env: "STREAMGATE_IDLE_TIMEOUT",
        flag: None,
        default: "`60s`",
        doc: "a kept-alive connection with no next request this long after a response is closed",
        apply: |c, s| {
            c.http.idle_timeout = duration(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("body_timeout"),
        env: "STREAMGATE_BODY_TIMEOUT",
        flag: None,
        default: "`30s`",
        doc: "a request body not received this long after its head is answered 408 and its connection closed",
        apply: |c, s| {
            c.http.body_timeout = duration(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("max_connections"),
        env: "STREAMGATE_MAX_CONNECTIONS",
        flag: None,
        default: "¾ of the open-file limit (`ulimit -n`), at most `10000`",
        doc: "client connections open at once; when full, the ones waiting longest on their client are closed to admit a new one (see [Connections](#connections-and-timeouts))",
        apply: |c, s| {
            c.http.max_connections = Some(whole(s)? as usize);
            Ok(())
        },
    },
    Setting {
        file: Some("password_hash_concurrency"),
        env: "STREAMGATE_PASSWORD_HASH_CONCURRENCY",
        flag: None,
        default: "the number of CPUs",
        doc: "dashboard password hashes (argon2id) computed at once",
        apply: |c, s| {
            c.service.password_hash_concurrency = whole(s)? as usize;
            Ok(())
        },
    },
    Setting {
        file: Some("password_hash_queue"),
        env: "STREAMGATE_PASSWORD_HASH_QUEUE",
        flag: None,
        default: "`32`",
        doc: "password hashes that may wait for those; beyond them a sign-in is answered 503 at once",
        apply: |c, s| {
            c.service.password_hash_queue = s
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("must be a whole number (got {s:?})"))?
                as usize;
            Ok(())
        },
    },
    Setting {
        file: Some("cache_capacity"),
        env: "STREAMGATE_CACHE_CAPACITY",
        flag: None,
        default: "`200000`",
        doc: "entries each in-process cache holds at most (API keys by hash and by id, streams by id and by key, …); the least used go first",
        apply: |c, s| {
            c.service.cache_capacity = whole(s)? as usize;
            Ok(())
        },
    },
    Setting {
        file: Some("log"),
        env: "STREAMGATE_LOG",
        flag: Some("--log"),
        default: "`info`",
        doc: "log filter in RUST_LOG syntax (`RUST_LOG`, when set, is read after `STREAMGATE_LOG`)",
        apply: |c, s| {
            c.log = non_empty(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("master_key_file"),
        env: "STREAMGATE_MASTER_KEY_FILE",
        flag: Some("--master-key-file"),
        default: "`master.key` beside an SQLite database, else under the data dir",
        doc: "the vault's master key file (created, mode 0600, on first start)",
        apply: |c, s| {
            c.master_key_file = Some(PathBuf::from(non_empty(s)?));
            Ok(())
        },
    },
    Setting {
        file: None,
        env: "STREAMGATE_MASTER_KEY",
        flag: None,
        default: "—",
        doc: "the vault's master key itself, base64 of 32 bytes; overrides the file (never in the file)",
        apply: |c, s| {
            c.master_key = Some(SecretString::new(non_empty(s)?));
            Ok(())
        },
    },
    Setting {
        file: Some("access_token_ttl"),
        env: "STREAMGATE_ACCESS_TOKEN_TTL",
        flag: None,
        default: "`1h`",
        doc: "lifetime of api.video access tokens",
        apply: |c, s| {
            c.service.access_token_ttl = duration(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("rate_limit"),
        env: "STREAMGATE_RATE_LIMIT",
        flag: None,
        default: "`1200`",
        doc: "requests per key per window, in every dialect, unless the key has its own limit (also per client address for requests without a valid key)",
        apply: |c, s| {
            c.service.rate_limit.limit = whole(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("rate_limit_window_secs"),
        env: "STREAMGATE_RATE_LIMIT_WINDOW_SECS",
        flag: None,
        default: "`60`",
        doc: "the rate limit's window in seconds",
        apply: |c, s| {
            c.service.rate_limit.duration_ms = i64::from(whole(s)?) * 1000;
            Ok(())
        },
    },
    Setting {
        file: Some("audit_retention_days"),
        env: "STREAMGATE_AUDIT_RETENTION_DAYS",
        flag: None,
        default: "`90`",
        doc: "audit events older than this many days are pruned (hourly, in the background); `0` keeps them forever",
        apply: |c, s| {
            let days = s
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("must be a whole number of days, 0 to keep forever (got {s:?})"))?;
            c.service.audit_retention =
                (days > 0).then(|| Duration::from_secs(u64::from(days) * 24 * 3600));
            Ok(())
        },
    },
    Setting {
        file: Some("webhook_allow_private"),
        env: "STREAMGATE_WEBHOOK_ALLOW_PRIVATE",
        flag: None,
        default: "`false`",
        doc: "webhooks may target loopback and private addresses (labs, tests)",
        apply: |c, s| {
            c.service.webhook_allow_private = flag(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("ingest_max_failures"),
        env: "STREAMGATE_INGEST_MAX_FAILURES",
        flag: None,
        default: "`10`",
        doc: "refused ingest decisions for one (ingest token, client address) before it is throttled",
        apply: |c, s| {
            c.service.ingest_max_failures = whole(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("ingest_failure_window_secs"),
        env: "STREAMGATE_INGEST_FAILURE_WINDOW_SECS",
        flag: None,
        default: "`60`",
        doc: "the window of that count, in seconds",
        apply: |c, s| {
            c.service.ingest_failure_window = Duration::from_secs(u64::from(whole(s)?));
            Ok(())
        },
    },
    Setting {
        file: Some("ingest_allow_concurrent"),
        env: "STREAMGATE_INGEST_ALLOW_CONCURRENT",
        flag: None,
        default: "`false`",
        doc: "a second simultaneous publish of one stream key is allowed",
        apply: |c, s| {
            c.service.ingest_allow_concurrent = flag(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("cookie_secure"),
        env: "STREAMGATE_COOKIE_SECURE",
        flag: None,
        default: "`false` (`Secure` only behind TLS)",
        doc: "dashboard cookies are always `Secure`",
        apply: |c, s| {
            c.http.cookie_secure = flag(s)?;
            Ok(())
        },
    },
    Setting {
        file: None,
        env: "STREAMGATE_METRICS_TOKEN",
        flag: None,
        default: "—",
        doc: "when set, `/metrics` answers only `Authorization: Bearer <token>` (never in the file)",
        apply: |c, s| {
            c.http.metrics_token = Some(SecretString::new(non_empty(s)?));
            Ok(())
        },
    },
    Setting {
        file: Some("rtmp_url"),
        env: "STREAMGATE_RTMP_URL",
        flag: None,
        default: "`rtmp://<host>:1935/live`",
        doc: "the publish URL the dashboard shows; its application (like `live`, always) cannot be an Edgecast DirPath instance",
        apply: |c, s| {
            let url = non_empty(s)?;
            if let Some(app) = crate::domain::edgecast::rtmp_app(&url) {
                if !c.service.stream_key_apps.iter().any(|a| a.eq_ignore_ascii_case(&app)) {
                    c.service.stream_key_apps.push(app);
                }
            }
            c.http.rtmp_url = Some(url);
            Ok(())
        },
    },
    Setting {
        file: Some("nginx_rtmp_control_url"),
        env: "STREAMGATE_NGINX_RTMP_CONTROL_URL",
        flag: None,
        default: "—",
        doc: "nginx-rtmp's control endpoint (`rtmp_control all;`, e.g. `http://127.0.0.1:8081/control`): a terminated stream's publisher is dropped there",
        apply: |c, s| {
            let url = non_empty(s)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("must be an http:// or https:// URL (got {url:?})"));
            }
            c.service.nginx_rtmp_control_url = Some(url);
            Ok(())
        },
    },
    Setting {
        file: Some("playback_url"),
        env: "STREAMGATE_PLAYBACK_URL",
        flag: None,
        default: "`http://<host>/hls`",
        doc: "where viewers fetch HLS (`<this>/<playbackId>/index.m3u8`): Livepeer's playback info and api.video's `assets` name it",
        apply: |c, s| {
            let url = non_empty(s)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("must be an http:// or https:// URL (got {url:?})"));
            }
            c.http.playback_url = Some(url);
            Ok(())
        },
    },
    Setting {
        file: Some("public_url"),
        env: "STREAMGATE_PUBLIC_URL",
        flag: None,
        default: "`http://<host>`",
        doc: "where clients reach this server: the one-time upload URLs and the video file URLs it hands out name it",
        apply: |c, s| {
            let url = non_empty(s)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("must be an http:// or https:// URL (got {url:?})"));
            }
            c.http.public_url = Some(url.trim_end_matches('/').to_string());
            Ok(())
        },
    },
    Setting {
        file: Some("upload_max_bytes"),
        env: "STREAMGATE_UPLOAD_MAX_BYTES",
        flag: None,
        default: "`4294967296` (4 GiB)",
        doc: "the largest file an upload or import may store; checked as the bytes arrive",
        apply: |c, s| {
            let n: u64 = s
                .trim()
                .parse()
                .map_err(|_| format!("must be a number of bytes (got {s:?})"))?;
            if n == 0 {
                return Err("must be positive".into());
            }
            c.service.upload_max_bytes = n;
            Ok(())
        },
    },
    Setting {
        file: Some("s3_bucket"),
        env: "STREAMGATE_S3_BUCKET",
        flag: None,
        default: "— (a directory, `objects/` under the data dir)",
        doc: "store uploaded files in this S3 bucket instead; credentials from the standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`",
        apply: |c, s| {
            c.s3_bucket = Some(non_empty(s)?);
            Ok(())
        },
    },
    Setting {
        file: Some("s3_endpoint"),
        env: "STREAMGATE_S3_ENDPOINT",
        flag: None,
        default: "— (AWS)",
        doc: "an S3-compatible service's URL (MinIO, moto, Ceph…), path-style",
        apply: |c, s| {
            let url = non_empty(s)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("must be an http:// or https:// URL (got {url:?})"));
            }
            c.s3_endpoint = Some(url);
            Ok(())
        },
    },
    Setting {
        file: Some("s3_region"),
        env: "STREAMGATE_S3_REGION",
        flag: None,
        default: "`us-east-1`",
        doc: "the bucket's region",
        apply: |c, s| {
            c.s3_region = non_empty(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("job_app"),
        env: "STREAMGATE_JOB_APP",
        flag: None,
        default: "`jobs`",
        doc: "the media server application Brightcove Live jobs publish to (`rtmp://<host>/<app>/<stream_name>`); it cannot be an Edgecast DirPath instance",
        apply: |c, s| {
            let app = non_empty(s)?;
            if !app.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
                return Err(format!("must be letters, digits, - or _ (got {app:?})"));
            }
            c.service.jobs.app = app;
            Ok(())
        },
    },
    Setting {
        file: Some("record_dir"),
        env: "STREAMGATE_RECORD_DIR",
        flag: None,
        default: "— (recordings are not taken)",
        doc: "the directory the media server records live jobs into (nginx-rtmp `record_path`): `on_record_done` moves a recording from there into object storage; no other path is read",
        apply: |c, s| {
            c.service.jobs.record_dir = Some(PathBuf::from(non_empty(s)?));
            Ok(())
        },
    },
    Setting {
        file: Some("ffmpeg"),
        env: "STREAMGATE_FFMPEG",
        flag: None,
        default: "`ffmpeg`",
        doc: "the ffmpeg that cuts clips (stream copy)",
        apply: |c, s| {
            c.service.jobs.ffmpeg = non_empty(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("ffprobe"),
        env: "STREAMGATE_FFPROBE",
        flag: None,
        default: "`ffprobe`",
        doc: "the ffprobe that measures recordings",
        apply: |c, s| {
            c.service.jobs.ffprobe = non_empty(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("clip_s3_endpoint"),
        env: "STREAMGATE_CLIP_S3_ENDPOINT",
        flag: None,
        default: "— (AWS)",
        doc: "where `s3://` clip destinations are: an S3-compatible service's URL (MinIO, moto…), path-style",
        apply: |c, s| {
            let url = non_empty(s)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("must be an http:// or https:// URL (got {url:?})"));
            }
            c.service.jobs.s3_endpoint = Some(url);
            Ok(())
        },
    },
    Setting {
        file: Some("clip_s3_region"),
        env: "STREAMGATE_CLIP_S3_REGION",
        flag: None,
        default: "`us-east-1`",
        doc: "the region of `s3://` clip destinations",
        apply: |c, s| {
            c.service.jobs.s3_region = non_empty(s)?;
            Ok(())
        },
    },
    Setting {
        file: Some("ftp_ca_file"),
        env: "STREAMGATE_FTP_CA_FILE",
        flag: None,
        default: "— (public roots only)",
        doc: "a PEM file of extra roots `ftps://` clip destinations are trusted by",
        apply: |c, s| {
            c.service.jobs.ftp_ca_file = Some(PathBuf::from(non_empty(s)?));
            Ok(())
        },
    },
];

pub const DEFAULT_FILE: &str = "streamgate.toml";

/// Values given on the command line, by the setting's environment variable name.
pub type Flags = Vec<(&'static str, String)>;

impl Config {
    /// Reads the file (`STREAMGATE_CONFIG`, else `./streamgate.toml` if it exists), then the
    /// environment through `env`, then `flags`. Errors name the setting and where it came from.
    pub fn load(env: impl Fn(&str) -> Option<String>, flags: &Flags) -> Result<Config, String> {
        let path = match env("STREAMGATE_CONFIG") {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()),
        };
        let file = match &path {
            Some(p) => Some((
                std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read config file {}: {e}", p.display()))?,
                p.as_path(),
            )),
            None => None,
        };
        Self::from_sources(file, env, flags)
    }

    /// `load` without touching the file system: the file's text and name, the environment, flags.
    pub fn from_sources(
        file: Option<(String, &Path)>,
        env: impl Fn(&str) -> Option<String>,
        flags: &Flags,
    ) -> Result<Config, String> {
        let mut c = Config::default();
        if let Some((text, origin)) = file {
            for (setting, value) in parse_file(&text, origin)? {
                (setting.apply)(&mut c, &value).map_err(|e| {
                    format!(
                        "{}: {}: {e}",
                        origin.display(),
                        setting.file.unwrap_or(setting.env)
                    )
                })?;
            }
        }
        // An empty variable counts as unset, as shells and clap have it.
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        for s in SETTINGS {
            if let Some(v) = env(s.env) {
                (s.apply)(&mut c, &v).map_err(|e| format!("{}: {e}", s.env))?;
            }
            if s.env == "STREAMGATE_LOG" {
                if let Some(v) = env("RUST_LOG") {
                    (s.apply)(&mut c, &v).map_err(|e| format!("RUST_LOG: {e}"))?;
                }
            }
        }
        for (env_name, value) in flags {
            let Some(s) = SETTINGS.iter().find(|s| s.env == *env_name) else {
                continue;
            };
            let name = s.flag.unwrap_or(s.env);
            (s.apply)(&mut c, value).map_err(|e| format!("{name}: {e}"))?;
        }
        c.service.objects = match &c.s3_bucket {
            Some(bucket) => crate::service::objects::ObjectsSetting::S3 {
                bucket: bucket.clone(),
                endpoint: c.s3_endpoint.clone(),
                region: c.s3_region.clone(),
            },
            None => crate::service::objects::ObjectsSetting::Local(c.data_dir.join("objects")),
        };
        let jobs = &c.service.jobs.app;
        if c.service
            .stream_key_apps
            .iter()
            .any(|a| a.eq_ignore_ascii_case(jobs))
        {
            return Err(format!(
                "STREAMGATE_JOB_APP: {jobs:?} is where stream keys publish (`live`, or the application of STREAMGATE_RTMP_URL): live jobs need an application of their own"
            ));
        }
        Ok(c)
    }

    /// The store's URL: the setting, else an SQLite file under the data dir (created here).
    pub fn database_url(&self) -> anyhow::Result<String> {
        use anyhow::Context;
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        // It holds the database and the vault's key: the owner's only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", self.data_dir.display()))?;
        }
        Ok(sqlite_url(&self.data_dir.join("streamgate.db")))
    }
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The file's settings with their text values. Unknown keys (and secrets, which only the
/// environment may hold) are errors.
fn parse_file(text: &str, origin: &Path) -> Result<Vec<(&'static Setting, String)>, String> {
    let table: BTreeMap<String, toml::Value> =
        toml::from_str(text).map_err(|e| format!("{}: {e}", origin.display()))?;
    let mut out = Vec::new();
    for (key, value) in table {
        let Some(setting) = SETTINGS.iter().find(|s| s.file == Some(key.as_str())) else {
            let known: Vec<&str> = SETTINGS.iter().filter_map(|s| s.file).collect();
            return Err(format!(
                "{}: unknown setting {key:?} (known: {})",
                origin.display(),
                known.join(", ")
            ));
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}: {key} must be a string, a number or a boolean, got {}",
                    origin.display(),
                    other.type_str()
                ))
            }
        };
        out.push((setting, value));
    }
    Ok(out)
}

/// The README's settings table, generated from `SETTINGS`.
pub fn settings_markdown() -> String {
    let mut out = String::from(
        "| flag | environment | file key | default | what |\n| --- | --- | --- | --- | --- |\n",
    );
    for s in SETTINGS {
        let code = |x: &str| format!("`{x}`");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            s.flag.map_or("—".into(), |f| match f.split_once(' ') {
                Some((f, rest)) => format!("`{f}` {rest}"),
                None => code(f),
            }),
            code(s.env),
            s.file.map_or("—".into(), code),
            s.default,
            s.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file(text: &str) -> Option<(String, &'static Path)> {
        Some((text.to_string(), Path::new("streamgate.toml")))
    }

    #[test]
    fn defaults_then_file_then_environment_then_flags() {
        let c = Config::from_sources(None, env_of(&[]), &vec![]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.service.rate_limit.limit, 1200);
        let text = "listen = \"0.0.0.0:9000\"\nrate_limit = 50\nlog = \"debug\"\nwebhook_allow_private = true\n";
        let c = Config::from_sources(file(text), env_of(&[]), &vec![]).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.service.rate_limit.limit, 50);
        assert!(c.service.webhook_allow_private);
        let env = env_of(&[("STREAMGATE_RATE_LIMIT", "70"), ("STREAMGATE_LOG", "warn")]);
        let c = Config::from_sources(file(text), &env, &vec![]).unwrap();
        assert_eq!((c.service.rate_limit.limit, c.log.as_str()), (70, "warn"));
        let flags = vec![("STREAMGATE_LOG", "trace".to_string())];
        let c = Config::from_sources(file(text), &env, &flags).unwrap();
        assert_eq!(c.log, "trace");
        // RUST_LOG is read after STREAMGATE_LOG.
        let c = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_LOG", "warn"), ("RUST_LOG", "debug")]),
            &vec![],
        )
        .unwrap();
        assert_eq!(c.log, "debug");
    }

    #[test]
    fn live_jobs_need_an_application_of_their_own() {
        let c = Config::from_sources(None, env_of(&[]), &vec![]).unwrap();
        assert_eq!(c.service.jobs.app, "jobs");
        let env = env_of(&[
            ("STREAMGATE_JOB_APP", "studio"),
            ("STREAMGATE_RECORD_DIR", "/var/rec"),
            ("STREAMGATE_CLIP_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ]);
        let c = Config::from_sources(None, env, &vec![]).unwrap();
        assert_eq!(c.service.jobs.app, "studio");
        assert_eq!(c.service.jobs.record_dir, Some(PathBuf::from("/var/rec")));
        for env in [
            env_of(&[("STREAMGATE_JOB_APP", "live")]),
            env_of(&[
                ("STREAMGATE_JOB_APP", "ingest"),
                ("STREAMGATE_RTMP_URL", "rtmp://media.example:1935/ingest"),
            ]),
        ] {
            let e = Config::from_sources(None, env, &vec![]).unwrap_err();
            assert!(e.contains("application of their own"), "{e}");
        }
        let e = Config::from_sources(None, env_of(&[("STREAMGATE_JOB_APP", "a/b")]), &vec![])
            .unwrap_err();
        assert!(e.contains("STREAMGATE_JOB_APP"), "{e}");
    }

    #[test]
    fn connection_limits_and_password_hashing_are_settings() {
        let c = Config::from_sources(None, env_of(&[]), &vec![]).unwrap();
        assert_eq!(c.http.header_timeout, Duration::from_secs(10));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.http.body_timeout, Duration::from_secs(30));
        assert_eq!(
            c.http.max_connections, None,
            "derived from the open-file limit"
        );
        assert_eq!(c.service.password_hash_queue, 32);
        assert!(c.service.password_hash_concurrency >= 1);
        let text = "header_timeout = \"5s\"\nidle_timeout = \"2m\"\nbody_timeout = \"15s\"\nmax_connections = 500\npassword_hash_concurrency = 3\npassword_hash_queue = 0\n";
        let c = Config::from_sources(file(text), env_of(&[]), &vec![]).unwrap();
        assert_eq!(c.http.header_timeout, Duration::from_secs(5));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(120));
        assert_eq!(c.http.body_timeout, Duration::from_secs(15));
        assert_eq!(c.http.max_connections, Some(500));
        assert_eq!(c.service.password_hash_concurrency, 3);
        assert_eq!(c.service.password_hash_queue, 0, "no waiting at all");
        let e = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_MAX_CONNECTIONS", "0")]),
            &vec![],
        )
        .unwrap_err();
        assert!(
            e.starts_with("STREAMGATE_MAX_CONNECTIONS: must be a whole number above 0"),
            "{e}"
        );
        let e = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_HEADER_TIMEOUT", "10")]),
            &vec![],
        )
        .unwrap_err();
        assert!(
            e.starts_with("STREAMGATE_HEADER_TIMEOUT: must look like"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_setting_and_its_source() {
        let e = Config::from_sources(file("lisen = \"x\""), env_of(&[]), &vec![]).unwrap_err();
        assert!(e.contains("unknown setting \"lisen\""), "{e}");
        let e =
            Config::from_sources(file("rate_limit = \"many\""), env_of(&[]), &vec![]).unwrap_err();
        assert!(
            e.contains("streamgate.toml: rate_limit: must be a whole number"),
            "{e}"
        );
        let e = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_ACCESS_TOKEN_TTL", "soon")]),
            &vec![],
        )
        .unwrap_err();
        assert!(
            e.starts_with("STREAMGATE_ACCESS_TOKEN_TTL: must look like"),
            "{e}"
        );
        let e = Config::from_sources(
            None,
            env_of(&[]),
            &vec![("STREAMGATE_LISTEN", "here".into())],
        )
        .unwrap_err();
        assert!(e.starts_with("--listen (serve): must be an address"), "{e}");
        let e = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_INGEST_ALLOW_CONCURRENT", "maybe")]),
            &vec![],
        )
        .unwrap_err();
        assert!(e.contains("must be true or false"), "{e}");
        // Secrets come from the environment only, never the file.
        let e = Config::from_sources(file("master_key = \"x\""), env_of(&[]), &vec![]).unwrap_err();
        assert!(e.contains("unknown setting \"master_key\""), "{e}");
        assert!(
            Config::from_sources(file("listen = [1]"), env_of(&[]), &vec![])
                .unwrap_err()
                .contains("must be a string")
        );
        assert!(Config::from_sources(file("listen = "), env_of(&[]), &vec![]).is_err());
    }

    #[test]
    fn the_readme_lists_every_setting_as_the_table_says() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("<!-- settings:begin -->\n")
            .expect("README has the settings markers");
        let end = readme
            .find("<!-- settings:end -->")
            .expect("README has the settings end marker");
        let table = &readme[start + "<!-- settings:begin -->\n".len()..end];
        assert_eq!(
            table,
            settings_markdown(),
            "README's settings table is out of date; paste config::settings_markdown()"
        );
    }

    #[test]
    fn the_master_key_never_prints() {
        let c = Config::from_sources(
            None,
            env_of(&[("STREAMGATE_MASTER_KEY", "c2VjcmV0LXNlY3JldA==")]),
            &vec![],
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }
}
