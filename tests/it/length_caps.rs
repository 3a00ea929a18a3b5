//! Every caller-supplied field is length-capped before it is stored: an over-long value is refused
//! with a 400 in the dialect's own error format and nothing is written; whatever reaches an audit
//! row is cut to the row's caps. (Issue 18: refusals cannot amplify into storage.)

use crate::common::{setup, Setup};
use reqwest::Method;
use serde_json::{json, Value};
use streamgate::clock::Clock;
use streamgate::domain::audit::{MAX_ACTOR, MAX_DETAIL, MAX_OBJECT};
use streamgate::domain::AuditEvent;
use streamgate::testkit::{operator, Backend};
use uuid::Uuid;

fn long(n: usize) -> String {
    "a".repeat(n)
}

/// A request in a dialect's own authentication style; returns status and body.
async fn send(s: &Setup, method: Method, path: &str, body: Value) -> (u16, Value) {
    let key = s.secret();
    let mut req = s.http.request(method, s.url(path)).json(&body);
    req = if path.starts_with("/v2/mcc") {
        req.header("authorization", format!("TOK:{key}"))
    } else if path.starts_with("/v1/") {
        req.header("x-api-key", key)
    } else if path.starts_with("/api/") || path.starts_with("/sg/") {
        req.bearer_auth(key)
    } else {
        req.basic_auth(key, Some(""))
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Every object the account holds, by dialect, to show a refused write left nothing behind.
async fn holdings(s: &Setup) -> String {
    let b = format!("/v2/mcc/customers/{}/httpstreaming/dcp", s.account.number);
    let mut all = String::new();
    for path in [
        "/api/stream".to_string(),
        "/live-streams".into(),
        "/webhooks".into(),
        "/api/webhook".into(),
        "/v1/credentials".into(),
        "/sg/v1/keys".into(),
        format!("{b}/streamkeys"),
    ] {
        let (status, body) = send(s, Method::GET, &path, Value::Null).await;
        assert_eq!(status, 200, "{path}: {body}");
        all.push_str(&body.to_string());
    }
    all
}

async fn over_long_fields_are_refused_and_nothing_is_written(backend: Backend) {
    let s = setup(backend).await;
    let b = format!("/v2/mcc/customers/{}/httpstreaming/dcp", s.account.number);
    let before = holdings(&s).await;
    let cred = |over: Value| {
        let mut v = json!({"credential_label": "l", "credential_type": "oauth",
            "credential_public": "client", "credential_private": "secret",
            "credential_token_url": "https://auth.example.com/token"});
        v.as_object_mut()
            .unwrap()
            .extend(over.as_object().unwrap().clone());
        v
    };
    let cases: Vec<(&str, String, Value, &str)> = vec![
        (
            "POST",
            "/sg/v1/keys".into(),
            json!({"name": long(201)}),
            "error",
        ),
        (
            "POST",
            "/sg/v1/keys".into(),
            json!({"name": "k", "meta": {"m": long(5000)}}),
            "error",
        ),
        (
            "POST",
            "/api/stream".into(),
            json!({"name": long(201)}),
            "errors",
        ),
        (
            "POST",
            "/api/stream".into(),
            json!({"name": "s", "userTags": {"t": long(20_000)}}),
            "errors",
        ),
        (
            "POST",
            "/live-streams".into(),
            json!({"name": long(201)}),
            "title",
        ),
        (
            "POST",
            "/webhooks".into(),
            json!({"url": format!("https://example.com/{}", long(2100)), "events": ["live-stream.broadcast.started"]}),
            "title",
        ),
        (
            "POST",
            "/webhooks".into(),
            json!({"url": "https://example.com/h", "events": vec!["live-stream.broadcast.started"; 500]}),
            "title",
        ),
        (
            "POST",
            "/api/webhook".into(),
            json!({"name": long(201), "url": "https://example.com/h", "events": ["stream.started"]}),
            "errors",
        ),
        (
            "POST",
            "/api/webhook".into(),
            json!({"name": "h", "url": format!("https://example.com/{}", long(2100)), "events": ["stream.started"]}),
            "errors",
        ),
        (
            "POST",
            "/api/webhook".into(),
            json!({"name": "h", "url": "https://example.com/h", "events": vec!["stream.started"; 500]}),
            "errors",
        ),
        (
            "POST",
            "/api/webhook".into(),
            json!({"name": "h", "url": "https://example.com/h", "events": ["stream.started"], "sharedSecret": long(257)}),
            "errors",
        ),
        (
            "POST",
            "/api/webhook".into(),
            json!({"name": "h", "url": "https://example.com/h", "events": ["stream.started"], "streamId": long(300)}),
            "errors",
        ),
        (
            "POST",
            format!("{b}/streamkeys"),
            json!({"DirPath": format!("inst/{}", long(300)), "Key": "abc123"}),
            "Message",
        ),
        (
            "POST",
            format!("{b}/streamkeys"),
            json!({"DirPath": "inst/cam", "Key": long(300)}),
            "Message",
        ),
        (
            "POST",
            "/v1/credentials".into(),
            cred(json!({"credential_label": long(201)})),
            "error",
        ),
        (
            "POST",
            "/v1/credentials".into(),
            cred(json!({"credential_public": long(1025)})),
            "error",
        ),
        (
            "POST",
            "/v1/credentials".into(),
            cred(json!({"credential_private": long(8193)})),
            "error",
        ),
        (
            "POST",
            "/v1/credentials".into(),
            cred(
                json!({"credential_token_url": format!("https://auth.example.com/{}", long(2100))}),
            ),
            "error",
        ),
    ];
    for (method, path, body, error_field) in cases {
        let (status, answer) = send(&s, method.parse().unwrap(), &path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body:.80}: {answer}");
        assert!(
            answer.get(error_field).is_some(),
            "{path}: the dialect's own error shape ({error_field}): {answer}"
        );
    }
    // A body past the limit is refused before any field is read.
    let (status, _) = send(
        &s,
        Method::POST,
        "/api/stream",
        json!({"name": long(70_000)}),
    )
    .await;
    assert!(status == 413 || status == 400, "{status}");
    assert_eq!(
        holdings(&s).await,
        before,
        "a refused write left something behind"
    );
}

#[tokio::test]
async fn over_long_fields_are_refused_and_nothing_is_written_sqlite() {
    over_long_fields_are_refused_and_nothing_is_written(Backend::Sqlite).await;
}

#[tokio::test]
async fn over_long_fields_are_refused_and_nothing_is_written_postgres() {
    over_long_fields_are_refused_and_nothing_is_written(Backend::Postgres).await;
}

#[tokio::test]
async fn audit_rows_are_cut_to_their_caps_whatever_wrote_them() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let e = AuditEvent {
            id: Uuid::now_v7(),
            account_id: Some(s.account.id),
            actor: format!("ingest:srs@{}", long(65_536)),
            action: "ingest.publish".into(),
            object: format!("app:{}", long(65_536)),
            outcome: "wrong_key".into(),
            detail: long(65_536),
            // Now: an event from 1970 is the retention task's to prune, at any moment.
            at: s.server.clock.now_ms(),
            environment: None,
        };
        s.server.store().insert_audit(&e).await.unwrap();
        let got = s
            .server
            .svc()
            .query_audit(&operator(), Some(s.account.id), 0, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.id == e.id)
            .expect("the event");
        assert!(got.actor.len() <= MAX_ACTOR && got.actor.starts_with("ingest:srs@"));
        assert!(got.object.len() <= MAX_OBJECT);
        assert!(got.detail.len() <= MAX_DETAIL);
    }
}
