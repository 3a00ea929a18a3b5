//! What configuration tells the HTTP layer. The binary fills it from its one typed `Config`;
//! tests build it directly. Nothing here reads the environment.

/// Requests per key per window, by default.
pub const DEFAULT_RATE_LIMIT: u32 = 1200;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Token-bucket size per key (or per client address before authentication)…
    pub rate_limit: u32,
    /// …refilled over this many seconds.
    pub rate_limit_window_secs: u32,
    /// Dashboard cookies are always `Secure` (else only when `X-Forwarded-Proto: https`).
    pub cookie_secure: bool,
    /// The publish URL the dashboard shows (else `rtmp://<host the dashboard was reached at>:1935/live`).
    pub rtmp_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_limit_window_secs: 60,
            cookie_secure: false,
            rtmp_url: None,
        }
    }
}
