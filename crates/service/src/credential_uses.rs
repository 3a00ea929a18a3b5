//! Every use of a stored secret is audited — an `http` credential's password sent to a webhook,
//! an `oauth` credential's client secret sent to its token endpoint — as `credential.use` with
//! the credential's label and the destination host, never the value. At webhook volume that
//! would be a row per delivery, so uses are aggregated: the first use of a (credential, host)
//! pair is written at once, the further uses within the next minute are counted and written as
//! one row when that minute is over (at the delivery worker's next round, or when it stops).

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

use domain::{AuditEvent, Environment};

/// One row per credential and host per this many milliseconds, at most.
pub const WINDOW_MS: i64 = 60_000;

/// A use of a stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialUse {
    pub account_id: Uuid,
    pub environment: Environment,
    pub credential_id: Uuid,
    pub label: String,
    /// Where the secret went: a URL's host.
    pub host: String,
    /// How it was sent: `basic` (an http credential's password, to a webhook or a notification
    /// endpoint), `token_request` (an oauth client secret, to its token endpoint), `s3` and `ftp`
    /// (a clip's destination), or `rtmp_check` (an encoder's user and password checked against
    /// an rtmp credential at ingest).
    pub sent_as: &'static str,
}

struct Window {
    usage: CredentialUse,
    started: i64,
    /// Uses since the row that opened the window.
    pending: u64,
}

type Key = (Uuid, Environment, Uuid, String);

/// The open windows, by (account, environment, credential, host).
#[derive(Default)]
pub struct CredentialUses(Mutex<HashMap<Key, Window>>);

impl CredentialUses {
    /// Counts a use; returns the row to write now, if this use opens a window.
    pub fn record(&self, u: CredentialUse, now: i64) -> Option<AuditEvent> {
        let mut map = self.0.lock().ok()?;
        let key = (u.account_id, u.environment, u.credential_id, u.host.clone());
        match map.get_mut(&key) {
            Some(w) if now < w.started + WINDOW_MS => {
                // A label renamed meanwhile: the row names the newest.
                w.usage.label = u.label;
                w.pending += 1;
                None
            }
            Some(w) => {
                // The last window is over: this use opens the next one, with what was counted.
                let uses = w.pending + 1;
                let (since, label) = (w.started, u.label.clone());
                w.usage.label = label;
                w.started = now;
                w.pending = 0;
                Some(event(&w.usage, uses, since, now))
            }
            None => {
                let e = event(&u, 1, now, now);
                map.insert(
                    key,
                    Window {
                        usage: u,
                        started: now,
                        pending: 0,
                    },
                );
                Some(e)
            }
        }
    }

    /// The rows of windows that are over (every window, if `all`), and forgets idle ones.
    pub fn due(&self, now: i64, all: bool) -> Vec<AuditEvent> {
        let Ok(mut map) = self.0.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        map.retain(|_, w| {
            let over = now >= w.started + WINDOW_MS;
            if (over || all) && w.pending > 0 {
                out.push(event(&w.usage, w.pending, w.started, now));
                w.pending = 0;
            }
            !over
        });
        out
    }
}

fn event(u: &CredentialUse, uses: u64, since: i64, at: i64) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        account_id: Some(u.account_id),
        actor: "webhooks".into(),
        action: "credential.use".into(),
        object: format!("credential:{}", u.credential_id),
        outcome: "ok".into(),
        detail: serde_json::json!({
            "label": u.label,
            "host": u.host,
            "sentAs": u.sent_as,
            "uses": uses,
            "since": domain::clock::rfc3339(since),
        })
        .to_string(),
        at,
        environment: Some(u.environment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(host: &str) -> CredentialUse {
        CredentialUse {
            account_id: Uuid::nil(),
            environment: Environment::Production,
            credential_id: Uuid::from_u128(7),
            label: "hook basic".into(),
            host: host.into(),
            sent_as: "basic",
        }
    }

    fn uses(e: &AuditEvent) -> u64 {
        serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["uses"]
            .as_u64()
            .unwrap()
    }

    #[test]
    fn one_row_per_credential_and_host_per_window_with_a_count() {
        let log = CredentialUses::default();
        let first = log.record(u("a.example"), 1_000).unwrap();
        assert_eq!(first.action, "credential.use");
        assert_eq!(uses(&first), 1);
        assert!(first.detail.contains("a.example") && first.detail.contains("hook basic"));
        for t in [2_000, 3_000, 30_000] {
            assert!(log.record(u("a.example"), t).is_none());
        }
        // Another host is another row.
        assert!(log.record(u("b.example"), 3_000).is_some());
        assert!(log.due(50_000, false).is_empty(), "the window is not over");
        let rows = log.due(61_000, false);
        assert_eq!(rows.len(), 1);
        assert_eq!(uses(&rows[0]), 3);
        assert!(log.due(70_000, false).is_empty(), "nothing twice");
        // After the window: the next use is written at once again.
        assert_eq!(uses(&log.record(u("a.example"), 200_000).unwrap()), 1);
        assert!(log.record(u("a.example"), 200_001).is_none());
        let rows = log.due(200_002, true);
        assert_eq!(rows.len(), 1, "stopping writes what is counted");
        assert_eq!(uses(&rows[0]), 1);
    }

    #[test]
    fn a_use_after_the_window_carries_the_count() {
        let log = CredentialUses::default();
        log.record(u("a.example"), 0).unwrap();
        assert!(log.record(u("a.example"), 10).is_none());
        // No round flushed it in between: the next use writes both.
        assert_eq!(uses(&log.record(u("a.example"), WINDOW_MS + 5).unwrap()), 2);
    }
}
