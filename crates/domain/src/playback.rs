//! Who may watch: playback signing keys (Livepeer's access-control keys) and a stream's playback
//! policy, as the platforms describe them. Livepeer's `playbackPolicy` is `public`, `jwt` (a JWT
//! signed by one of the account's signing keys) or `webhook` (the account's webhook decides),
//! each optionally limited to `allowedOrigins`; api.video's `public: false` makes a stream
//! private (readable only with its private token). Both live in the stream's settings.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Environment, Error};

/// Longest name a signing key may have.
pub const MAX_KEY_NAME: usize = 200;
/// At most this many allowed origins per policy…
pub const MAX_ORIGINS: usize = 50;
/// …each at most this long.
pub const MAX_ORIGIN: usize = 255;
/// Largest `webhookContext` (JSON) a policy may carry.
pub const MAX_CONTEXT_BYTES: usize = 4096;
/// Longest viewer credential (JWT, private token, access key) looked at.
pub const MAX_CREDENTIAL: usize = 4096;

/// A playback signing key: its public half only (the private half is handed out once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackKey {
    pub id: Uuid,
    pub account_id: Uuid,
    pub environment: Environment,
    pub name: String,
    /// Base64 of the SPKI PEM: what playback JWTs name in their `pub` claim.
    pub public_key: String,
    pub disabled: bool,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

/// What a stream's playback policy asks of a viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyKind {
    Public,
    Jwt,
    Webhook {
        webhook_id: String,
        context: Option<Value>,
    },
    /// A type streamgate does not enforce (stored before validation existed): nobody may watch.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackPolicy {
    pub kind: PolicyKind,
    /// Browser origins that may play (empty: any). `*` allows any.
    pub allowed_origins: Vec<String>,
}

impl PlaybackPolicy {
    /// The policy a stream's settings hold (Livepeer's `playbackPolicy`; none: public).
    pub fn of_settings(settings: &Map<String, Value>) -> Self {
        let Some(p) = settings.get("playbackPolicy").and_then(Value::as_object) else {
            return Self {
                kind: PolicyKind::Public,
                allowed_origins: vec![],
            };
        };
        let kind = match p.get("type").and_then(Value::as_str).unwrap_or("public") {
            "public" => PolicyKind::Public,
            "jwt" => PolicyKind::Jwt,
            "webhook" => match p.get("webhookId").and_then(Value::as_str) {
                Some(id) => PolicyKind::Webhook {
                    webhook_id: id.to_string(),
                    context: p.get("webhookContext").cloned(),
                },
                None => PolicyKind::Unsupported("webhook".into()),
            },
            other => PolicyKind::Unsupported(other.to_string()),
        };
        let allowed_origins = p
            .get("allowedOrigins")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            kind,
            allowed_origins,
        }
    }

    /// May a browser at `origin` play? No origin (not a browser, or not told): yes.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.allowed_origins.is_empty() => true,
            None => true,
            Some(o) => self
                .allowed_origins
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(o.trim_end_matches('/'))),
        }
    }
}

/// Is the stream private (api.video's `public: false`)?
pub fn is_private(settings: &Map<String, Value>) -> bool {
    settings.get("public").and_then(Value::as_bool) == Some(false)
}

/// Checks a `playbackPolicy` as a client sent it, and returns what is kept.
pub fn validate_policy(policy: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
    let bad = |m: &str| Err(Error::Invalid(format!("playbackPolicy: {m}")));
    for k in policy.keys() {
        if !matches!(
            k.as_str(),
            "type" | "webhookId" | "webhookContext" | "refreshInterval" | "allowedOrigins"
        ) {
            return bad(&format!("unknown field {k:?}"));
        }
    }
    let Some(kind) = policy.get("type").and_then(Value::as_str) else {
        return bad("type must be one of public, jwt, webhook");
    };
    match kind {
        "public" | "jwt" => {}
        "webhook" => {
            match policy.get("webhookId").and_then(Value::as_str) {
                Some(id) if !id.is_empty() && id.len() <= 64 => {}
                _ => return bad("a webhook policy needs webhookId, the id of one of your webhooks"),
            }
        }
        "lit_signing_condition" => {
            return bad("type lit_signing_condition is not supported by this server; use public, jwt or webhook")
        }
        _ => return bad("type must be one of public, jwt, webhook"),
    }
    if let Some(c) = policy.get("webhookContext") {
        if !c.is_object() {
            return bad("webhookContext must be an object");
        }
        if serde_json::to_vec(c).map_or(true, |b| b.len() > MAX_CONTEXT_BYTES) {
            return bad(&format!(
                "webhookContext must be at most {MAX_CONTEXT_BYTES} bytes"
            ));
        }
    }
    if let Some(r) = policy.get("refreshInterval") {
        if !r.as_f64().is_some_and(|n| n >= 0.0) {
            return bad("refreshInterval must be a number of seconds");
        }
    }
    if let Some(o) = policy.get("allowedOrigins") {
        let Some(list) = o.as_array() else {
            return bad("allowedOrigins must be an array of origins");
        };
        if list.len() > MAX_ORIGINS {
            return bad(&format!("at most {MAX_ORIGINS} allowedOrigins"));
        }
        for v in list {
            match v.as_str() {
                Some(s) if is_origin(s) => {}
                _ => {
                    return bad(&format!(
                        "allowedOrigins: {v} is not an origin (scheme://host[:port], or *)"
                    ))
                }
            }
        }
    }
    Ok(policy.clone())
}

/// `*`, or `scheme://host[:port]` with nothing after it.
fn is_origin(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    if s.len() > MAX_ORIGIN || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@'])
}

/// A signing key's name: trimmed, at most `MAX_KEY_NAME` characters, no control characters.
pub fn validate_key_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.chars().count() > MAX_KEY_NAME || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "signing key name must be at most {MAX_KEY_NAME} characters, without control characters"
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn policies_read_from_settings() {
        assert_eq!(
            PlaybackPolicy::of_settings(&Map::new()).kind,
            PolicyKind::Public
        );
        let s = map(
            json!({"playbackPolicy": {"type": "jwt", "allowedOrigins": ["https://a.example"]}}),
        );
        let p = PlaybackPolicy::of_settings(&s);
        assert_eq!(p.kind, PolicyKind::Jwt);
        assert!(p.origin_allowed(None));
        assert!(p.origin_allowed(Some("https://a.example")));
        assert!(!p.origin_allowed(Some("https://b.example")));
        let s = map(
            json!({"playbackPolicy": {"type": "webhook", "webhookId": "w1", "webhookContext": {"a": 1}}}),
        );
        assert_eq!(
            PlaybackPolicy::of_settings(&s).kind,
            PolicyKind::Webhook {
                webhook_id: "w1".into(),
                context: Some(json!({"a": 1}))
            }
        );
        let s = map(json!({"playbackPolicy": {"type": "lit_signing_condition"}}));
        assert!(matches!(
            PlaybackPolicy::of_settings(&s).kind,
            PolicyKind::Unsupported(_)
        ));
        assert!(is_private(&map(json!({"public": false}))));
        assert!(!is_private(&map(json!({"public": true}))));
        assert!(!is_private(&Map::new()));
    }

    #[test]
    fn policies_are_validated() {
        for ok in [
            json!({"type": "public"}),
            json!({"type": "jwt", "allowedOrigins": ["*", "http://localhost:3000"]}),
            json!({"type": "webhook", "webhookId": "abc", "webhookContext": {"x": "y"}, "refreshInterval": 600}),
        ] {
            assert!(validate_policy(&map(ok.clone())).is_ok(), "{ok}");
        }
        for bad in [
            json!({}),
            json!({"type": "nope"}),
            json!({"type": "lit_signing_condition"}),
            json!({"type": "webhook"}),
            json!({"type": "jwt", "extra": 1}),
            json!({"type": "jwt", "allowedOrigins": "x"}),
            json!({"type": "jwt", "allowedOrigins": ["https://a.example/path"]}),
            json!({"type": "jwt", "allowedOrigins": ["not an origin"]}),
            json!({"type": "webhook", "webhookId": "w", "webhookContext": "s"}),
            json!({"type": "webhook", "webhookId": "w", "webhookContext": {"x": "y".repeat(5000)}}),
        ] {
            assert!(validate_policy(&map(bad.clone())).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_ORIGINS)
            .map(|i| format!("https://h{i}.example"))
            .collect();
        assert!(validate_policy(&map(json!({"type": "jwt", "allowedOrigins": many}))).is_err());
        assert!(validate_key_name(&"x".repeat(MAX_KEY_NAME + 1)).is_err());
        assert_eq!(validate_key_name("  k ").unwrap(), "k");
    }
}
