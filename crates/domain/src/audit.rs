//! The audit log: who did what to which object, when, and how it ended. Append-only; never
//! holds a secret.

use uuid::Uuid;

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    /// Who: `key:<id>`, `cli`, `ip:<addr>`, … — never a secret.
    pub actor: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub detail: String,
    pub at: i64,
    /// The environment it happened in; None: account-wide (an account or user created).
    pub environment: Option<crate::Environment>,
}

impl AuditEvent {
    /// The one JSON shape of an audit entry, for every caller that shows the log (the CLI's
    /// `audit list --json`, Brightcove's `/v1/audit`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "at": crate::clock::rfc3339(self.at),
            "accountId": self.account_id,
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "outcome": self.outcome,
            "detail": self.detail,
            "environment": self.environment,
        })
    }
}
