//! Ingest tokens: what a media server presents when it calls an ingest hook (`?token=` on the hook
//! URL, or `Authorization: Bearer`). The operator makes one per media server; only its SHA-256 is
//! kept. And the length caps every caller-supplied ingest field is held to.

use uuid::Uuid;

/// One media server's credential for the ingest hooks (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestToken {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    /// Written back in batches (about once a minute), not per hook.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Caps on what a media server reports about a publish. A field over its cap refuses the publish
/// (`field_too_long`), except the client address, which is only a label: it is cut to its cap.
pub mod caps {
    /// The application / instance (nginx-rtmp `app`, the first part of a MediaMTX path).
    pub const APP: usize = 256;
    /// The stream name (a stream key, or an Edgecast stream name).
    pub const STREAM: usize = 256;
    /// Query parameters of the publish URL.
    pub const PARAMS: usize = 32;
    /// One parameter's name or value (an Edgecast key is at most 256 characters).
    pub const PARAM: usize = 512;
    /// The reported client address (an IPv6 address with a zone fits).
    pub const ADDR: usize = 64;
    /// A string written to an audit row's actor or object.
    pub const AUDIT_FIELD: usize = 300;
}

pub use crate::text::cap;
