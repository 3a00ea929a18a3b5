//! Keyset paging: lists continue after the last item seen, so page N costs the same at any depth.

use uuid::Uuid;

/// Keyset paging position: the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub created_at: i64,
    pub id: Uuid,
}
