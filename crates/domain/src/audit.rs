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

/// The most each text field of an audit row holds; longer values are cut (at a character
/// boundary, marked with `…`) before they are stored, whatever wrote them.
pub const MAX_ACTOR: usize = 256;
pub const MAX_ACTION: usize = 128;
pub const MAX_OBJECT: usize = 512;
pub const MAX_OUTCOME: usize = 128;
pub const MAX_DETAIL: usize = 2048;

/// `s` cut to at most `max` bytes at a character boundary, with `…` when it was cut.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let kept = crate::text::cap(s, max.saturating_sub('…'.len_utf8()));
    std::borrow::Cow::Owned(format!("{kept}…"))
}

impl AuditEvent {
    /// The fields as stored: each cut to its maximum.
    pub fn clipped(&self) -> [std::borrow::Cow<'_, str>; 5] {
        [
            clip(&self.actor, MAX_ACTOR),
            clip(&self.action, MAX_ACTION),
            clip(&self.object, MAX_OBJECT),
            clip(&self.outcome, MAX_OUTCOME),
            clip(&self.detail, MAX_DETAIL),
        ]
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        let long = "é".repeat(100);
        let c = clip(&long, 11);
        assert!(c.len() <= 11, "{c}");
        assert!(c.ends_with('…'));
        assert!(clip(&"x".repeat(70_000), MAX_ACTOR).len() <= MAX_ACTOR);
    }
}
