//! Brightcove Live jobs and their VOD clips: a job is an ingest point on this deployment's media
//! server (an application and a secret stream name, optionally guarded by an `rtmp` credential)
//! whose state follows the media server's hooks; its recordings are kept in object storage; a
//! clip cuts a window out of the latest recording and delivers it to an S3 bucket or an FTP
//! server, with a stored credential named by its label.

use uuid::Uuid;

use super::{Environment, Error};

/// At most this many notification endpoints per job (and per clip output).
pub const MAX_NOTIFICATIONS: usize = 5;
/// At most this many outputs per job, and per clip request.
pub const MAX_OUTPUTS: usize = 10;
/// Jobs of one account and environment that are not over yet, at most.
pub const MAX_ACTIVE_JOBS: i64 = 100;
/// The longest a disconnected job waits for its encoder to come back (Brightcove's limit).
pub const MAX_RECONNECT_SECS: i64 = 1800;
/// The longest clip.
pub const MAX_CLIP_SECS: f64 = 6.0 * 3600.0;
/// The longest label, URL and free text the caller may give.
pub const MAX_LABEL: usize = 200;
pub const MAX_URL: usize = 2048;
/// A failed delivery is tried this many times in all.
pub const MAX_CLIP_ATTEMPTS: i64 = 8;
/// Clip outputs of one account and environment waiting for delivery, at most.
pub const MAX_WAITING_CLIPS: i64 = 50;
/// The longest error kept for a clip output.
pub const MAX_CLIP_ERROR: usize = 500;

/// Where a job is in its life (Brightcove's job states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Created; no encoder has published yet.
    Waiting,
    /// An encoder is publishing.
    Processing,
    /// The encoder went away; it may come back within `reconnect_time`.
    Disconnected,
    /// Over: stopped, or not reconnected in time.
    Finished,
    /// Over: cancelled through the API.
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        Self::Waiting,
        Self::Processing,
        Self::Disconnected,
        Self::Finished,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Processing => "processing",
            Self::Disconnected => "disconnected",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "state must be one of waiting, processing, disconnected, finished, cancelled (got {s:?})"
                ))
            })
    }

    /// No encoder may publish to it any more.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Finished | Self::Cancelled)
    }
}

/// Where a job's state changes are sent: a webhook row of the `brightcove` flavor (the outbox
/// delivers it), authenticated with the named `http` or `oauth` credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobNotification {
    pub url: String,
    pub credentials: Option<String>,
    pub webhook_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct LiveJob {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub state: JobState,
    /// The stream name the encoder publishes under: a secret (sealed by the vault; found by its
    /// SHA-256).
    pub stream_name_sealed: String,
    /// The `rtmp` credential the encoder must also present (`?user=…&pass=…`), by label.
    pub rtmp_credential: Option<String>,
    pub region: String,
    pub reconnect_time: i64,
    /// The caller's outputs, as given (labels and rendition settings; this deployment does not
    /// transcode, so they are kept and shown, not acted on).
    pub outputs: serde_json::Value,
    pub notifications: Vec<JobNotification>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When it last went to `disconnected`.
    pub disconnected_at: Option<i64>,
}

/// A recording the media server finished for a job, kept in object storage.
#[derive(Debug, Clone)]
pub struct Recording {
    pub id: Uuid,
    pub job_id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub object_key: String,
    pub bytes: i64,
    pub duration_ms: i64,
    /// When it began (ms): its file's last write less its duration.
    pub began_at: i64,
    pub created_at: i64,
}

/// The part of a recording a clip takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClipWindow {
    /// The last this-many seconds.
    Last(f64),
    /// From `start` to `end` (None: the end of the recording). Each is seconds into the
    /// recording, or a Unix time in seconds (at least `EPOCH_FROM`), as Brightcove takes both.
    Range(f64, Option<f64>),
}

/// A `start_time` or `end_time` this large is a Unix time (2001 onwards), not an offset.
pub const EPOCH_FROM: f64 = 1e9;

impl ClipWindow {
    /// From a clip output's `duration`, or `start_time` and/or `end_time` (one or the other).
    pub fn new(duration: Option<f64>, start: Option<f64>, end: Option<f64>) -> Result<Self, Error> {
        let ok = |s: f64| s.is_finite() && (0.0..1e12).contains(&s);
        match (duration, start, end) {
            (Some(d), None, None) if ok(d) && d > 0.0 && d <= MAX_CLIP_SECS => Ok(Self::Last(d)),
            (Some(_), None, None) => Err(Error::Invalid(format!(
                "duration must be more than 0 and at most {MAX_CLIP_SECS} seconds"
            ))),
            (None, Some(_), _) | (None, None, Some(_)) => {
                let s = start.unwrap_or(0.0);
                // Both offsets or both Unix times (an end alone may be either).
                let same_kind = |e: f64| start.is_none() || (s >= EPOCH_FROM) == (e >= EPOCH_FROM);
                let valid = ok(s) && end.is_none_or(|e| ok(e) && e > s && same_kind(e));
                if valid {
                    Ok(Self::Range(s, end))
                } else {
                    Err(Error::Invalid(
                        "start_time and end_time must be seconds into the recording (or both Unix times), end_time after start_time"
                            .into(),
                    ))
                }
            }
            _ => Err(Error::Invalid(
                "each output needs either duration, or start_time and/or end_time".into(),
            )),
        }
    }

    /// (start, length) in seconds within a recording of `total` seconds that began at the Unix
    /// time `began` (seconds); Err: the window is not inside it (a clear message naming both).
    pub fn within(self, total: f64, began: f64) -> Result<(f64, f64), Error> {
        // Timestamps of a stream copy are not exact: allow a quarter second past the end.
        const SLACK: f64 = 0.25;
        let rel = |t: f64| if t >= EPOCH_FROM { t - began } else { t };
        let (s, e) = match self {
            Self::Last(d) => (total - d, total),
            Self::Range(s, e) => (rel(s), e.map_or(total, rel)),
        };
        let inside = s >= -SLACK && s < total && e > s && e <= total + SLACK;
        if !inside {
            return Err(Error::Invalid(format!(
                "the clip window {s:.1}-{e:.1} s is outside the recording (0-{total:.1} s)"
            )));
        }
        let s = s.max(0.0);
        let len = (e.min(total) - s).min(MAX_CLIP_SECS);
        Ok((s, len))
    }

    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Last(d) => serde_json::json!({ "duration": d }),
            Self::Range(s, Some(e)) => serde_json::json!({ "start_time": s, "end_time": e }),
            Self::Range(s, None) => serde_json::json!({ "start_time": s }),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        match (f("duration"), f("start_time"), f("end_time")) {
            (Some(d), ..) => Some(Self::Last(d)),
            (None, Some(s), e) => Some(Self::Range(s, e)),
            _ => None,
        }
    }
}

/// Where a clip goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `s3://bucket/key`.
    S3 { bucket: String, key: String },
    /// `ftp://host[:port]/path` (or `ftps://`: explicit TLS).
    Ftp {
        host: String,
        port: u16,
        path: String,
        tls: bool,
    },
}

impl Destination {
    /// The credential type this destination needs.
    pub fn credential_type(&self) -> super::credential::CredentialType {
        match self {
            Self::S3 { .. } => super::credential::CredentialType::S3,
            Self::Ftp { .. } => super::credential::CredentialType::Ftp,
        }
    }

    /// A clip output's `url`. Destinations this deployment cannot reach (Video Cloud, Zencoder)
    /// and URLs carrying a user or password (credentials go by label) are refused.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() > MAX_URL || raw.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Invalid(format!(
                "url must be an s3:// or ftp:// URL of at most {MAX_URL} characters"
            )));
        }
        let lowered = raw.to_ascii_lowercase();
        for unsupported in ["videocloud", "zencoder"] {
            if lowered.starts_with(&format!("{unsupported}:")) {
                return Err(unsupported_destination(unsupported));
            }
        }
        let url = url::Url::parse(raw).map_err(|_| {
            Error::Invalid("url must be an s3://bucket/key or ftp://host/path URL".into())
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Invalid(
                "url must not carry a user name or password: name the credential by its label in `credentials`"
                    .into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::Invalid(
                "url must not have a query or fragment".into(),
            ));
        }
        let path = percent_decode(url.path())?;
        match url.scheme() {
            "s3" => {
                let bucket = url.host_str().unwrap_or_default().to_string();
                let valid_bucket = (3..=63).contains(&bucket.len())
                    && bucket.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    });
                let key = path.trim_start_matches('/').to_string();
                if !valid_bucket || url.port().is_some() {
                    return Err(Error::Invalid(
                        "url: an s3:// URL names a bucket (3-63 lower-case letters, digits, dots, hyphens)"
                            .into(),
                    ));
                }
                // Stored under exactly this key: no empty, `.` or `..` segment to be folded away.
                let odd_segment = key.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..");
                if key.is_empty() || odd_segment {
                    return Err(Error::Invalid(
                        "url: an s3:// URL must name the object's key (s3://bucket/path/clip.mp4)"
                            .into(),
                    ));
                }
                Ok(Self::S3 { bucket, key })
            }
            "ftp" | "ftps" => {
                let host = match url.host() {
                    Some(url::Host::Ipv6(v6)) => v6.to_string(),
                    Some(h) => h.to_string(),
                    None => String::new(),
                };
                if host.is_empty() || path.len() < 2 || path.ends_with('/') {
                    return Err(Error::Invalid(
                        "url: an ftp:// URL names a host and the file's path (ftp://host/dir/clip.mp4)"
                            .into(),
                    ));
                }
                if path.split('/').any(|seg| seg == "..") {
                    return Err(Error::Invalid("url: the path must not contain ..".into()));
                }
                Ok(Self::Ftp {
                    host,
                    port: url.port().unwrap_or(21),
                    path,
                    tls: url.scheme() == "ftps",
                })
            }
            other => Err(Error::Invalid(format!(
                "url: {other}:// destinations are not supported; use s3:// or ftp:// (ftps:// for TLS)"
            ))),
        }
    }
}

/// The 400 for a destination a self-hosted deployment cannot deliver to.
pub fn unsupported_destination(kind: &str) -> Error {
    Error::Invalid(format!(
        "{kind} destinations are not supported: this self-hosted deployment cannot reach Brightcove's {kind} service; deliver clips to s3:// or ftp:// instead"
    ))
}

fn percent_decode(s: &str) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return Err(Error::Invalid("url: bad percent-encoding".into())),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let decoded =
        String::from_utf8(out).map_err(|_| Error::Invalid("url: the path is not UTF-8".into()))?;
    if decoded.chars().any(|c| c.is_control()) {
        return Err(Error::Invalid(
            "url: the path has control characters".into(),
        ));
    }
    Ok(decoded)
}

/// Where a clip output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipState {
    /// Waiting for its (next) attempt.
    Waiting,
    /// Delivered.
    Finished,
    /// Given up: refused for good, or out of attempts.
    Failed,
}

impl ClipState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "waiting" => Ok(Self::Waiting),
            "finished" => Ok(Self::Finished),
            "failed" => Ok(Self::Failed),
            other => Err(Error::Invalid(format!("unknown clip state {other:?}"))),
        }
    }
}

/// One output of a clip request (Brightcove's VOD job, `jvod_id`): a window of a recording,
/// delivered to one destination.
#[derive(Debug, Clone)]
pub struct ClipOutput {
    pub id: Uuid,
    /// The request it came with (`POST /v1/vods`).
    pub vod_id: Uuid,
    pub job_id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub recording_id: Uuid,
    pub label: String,
    pub url: String,
    pub credential_label: String,
    pub window: ClipWindow,
    pub state: ClipState,
    pub error: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub bytes: Option<i64>,
    /// Told when it is delivered or given up (Brightcove's per-output `notifications`).
    pub notifications: Vec<JobNotification>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(
            Destination::parse("s3://my-bucket/clips/a%20b.mp4").unwrap(),
            Destination::S3 {
                bucket: "my-bucket".into(),
                key: "clips/a b.mp4".into()
            }
        );
        assert_eq!(
            Destination::parse("ftps://ftp.example.com:2121/in/c.mp4").unwrap(),
            Destination::Ftp {
                host: "ftp.example.com".into(),
                port: 2121,
                path: "/in/c.mp4".into(),
                tls: true
            }
        );
        for bad in [
            "s3://B/x.mp4",
            "s3://bucket/",
            "s3://bucket",
            "ftp://user:pw@h/x.mp4",
            "ftp://h/",
            "ftp://h/a%2F..%2Fb.mp4",
            "https://h/x.mp4",
            "ftp://h/x.mp4?a=1",
            "s3://bucket/%zz",
            "s3://bucket/a//b.mp4",
            "s3://bucket/a%2F..%2Fb.mp4",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
        // The URL parser resolves dot segments itself: what is left stays under the root.
        assert!(matches!(
            Destination::parse("ftp://h/a/../b.mp4").unwrap(),
            Destination::Ftp { path, .. } if path == "/b.mp4"
        ));
        let e = Destination::parse("videocloud://x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("videocloud destinations are not supported"),
            "{e}"
        );
        let e = Destination::parse("zencoder://x").unwrap_err().to_string();
        assert!(e.contains("zencoder"), "{e}");
    }

    #[test]
    fn windows() {
        assert!(ClipWindow::new(None, None, None).is_err());
        assert!(ClipWindow::new(Some(0.0), None, None).is_err());
        assert!(ClipWindow::new(Some(3.0), Some(1.0), None).is_err());
        assert!(ClipWindow::new(None, Some(5.0), Some(2.0)).is_err());
        let last = ClipWindow::new(Some(3.0), None, None).unwrap();
        assert_eq!(last.within(10.0, 0.0).unwrap(), (7.0, 3.0));
        assert!(last.within(2.0, 0.0).is_err());
        let r = ClipWindow::new(None, Some(2.0), Some(6.0)).unwrap();
        assert_eq!(r.within(10.0, 0.0).unwrap(), (2.0, 4.0));
        let e = r.within(5.0, 0.0).unwrap_err().to_string();
        assert!(e.contains("outside the recording (0-5.0 s)"), "{e}");
        // A start past the end is outside, even with an end inside the slack.
        let late = ClipWindow::new(None, Some(5.1), Some(5.2)).unwrap();
        assert!(late.within(5.0, 0.0).is_err());
        // Open-ended: from a start to the end, from the beginning to an end.
        let from = ClipWindow::new(None, Some(4.0), None).unwrap();
        assert_eq!(from.within(10.0, 0.0).unwrap(), (4.0, 6.0));
        let to = ClipWindow::new(None, None, Some(3.0)).unwrap();
        assert_eq!(to.within(10.0, 0.0).unwrap(), (0.0, 3.0));
        // Unix times, against when the recording began.
        let epoch = ClipWindow::new(None, Some(1_800_000_002.0), Some(1_800_000_005.0)).unwrap();
        assert_eq!(epoch.within(10.0, 1_800_000_000.0).unwrap(), (2.0, 3.0));
        assert!(epoch.within(10.0, 1_800_000_100.0).is_err());
        assert!(ClipWindow::new(None, Some(2.0), Some(1_800_000_005.0)).is_err());
        for w in [r, last, from, to, epoch] {
            assert_eq!(ClipWindow::from_json(&w.to_json()), Some(w));
        }
    }
}
