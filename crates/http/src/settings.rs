//! What configuration tells the HTTP layer. The binary fills it from its one typed `Config`;
//! tests build it directly. Nothing here reads the environment.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Dashboard cookies are always `Secure` (else only when `X-Forwarded-Proto: https`).
    pub cookie_secure: bool,
    /// `/metrics` answers only `Authorization: Bearer <this>` (None: anyone who can reach it).
    pub metrics_token: Option<domain::SecretString>,
    /// The publish URL the dashboard shows (else `rtmp://<host the dashboard was reached at>:1935/live`).
    pub rtmp_url: Option<String>,
    /// Where viewers fetch HLS: `<this>/<playbackId>/index.m3u8` (else `http://<host the API
    /// was reached at>/hls`). Rendered in Livepeer's playback info and api.video's `assets`.
    pub playback_url: Option<String>,
    /// Where clients reach this server (else `http://<host the API was reached at>`): the
    /// one-time upload URLs and video file URLs name it.
    pub public_url: Option<String>,
    /// A connection that has not sent a complete request head this long after it opened (or
    /// after the head's first byte, on a kept-alive connection) is closed.
    pub header_timeout: Duration,
    /// A kept-alive connection with no next request this long after a response is closed.
    pub idle_timeout: Duration,
    /// A request body that has not arrived this long after its head is refused with 408.
    pub body_timeout: Duration,
    /// At most this many client connections are open (None: derived from the open-file limit,
    /// see `connections::default_max_connections`).
    pub max_connections: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            metrics_token: None,
            rtmp_url: None,
            playback_url: None,
            public_url: None,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: None,
        }
    }
}
