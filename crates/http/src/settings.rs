//! What configuration tells the HTTP layer. The binary fills it from its one typed `Config`;
//! tests build it directly. Nothing here reads the environment.

#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Dashboard cookies are always `Secure` (else only when `X-Forwarded-Proto: https`).
    pub cookie_secure: bool,
    /// `/metrics` answers only `Authorization: Bearer <this>` (None: anyone who can reach it).
    pub metrics_token: Option<domain::SecretString>,
    /// The publish URL the dashboard shows (else `rtmp://<host the dashboard was reached at>:1935/live`).
    pub rtmp_url: Option<String>,
}
