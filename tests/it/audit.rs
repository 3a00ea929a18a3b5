//! The audit log across dialects: writes and refused known keys are recorded, readable with
//! `GET /v1/audit` (server-side keys of the account) and `streamgate audit list`, and it never
//! holds a secret.

use crate::common::{new_key, setup};
use serde_json::{json, Value};
use streamgate::testkit::Backend;

#[tokio::test]
async fn every_dialect_writes_the_audit_log_and_no_secret_gets_in() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let h = &s.http;
    let mut secrets = vec![k.clone()];

    let st: Value = h
        .post(s.url("/api/stream"))
        .bearer_auth(&k)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(st["streamKey"].as_str().unwrap().to_string());
    h.delete(s.url(&format!("/api/stream/{}", st["id"].as_str().unwrap())))
        .bearer_auth(&k)
        .send()
        .await
        .unwrap();
    let tok: Value = h
        .post(s.url("/api/api-token"))
        .bearer_auth(&k)
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = tok["key"].as_str().unwrap().to_string();
    secrets.push(revoked.clone());
    h.delete(s.url(&format!("/api/api-token/{}", tok["id"].as_str().unwrap())))
        .bearer_auth(&k)
        .send()
        .await
        .unwrap();
    let wh: Value = h.post(s.url("/webhooks")).basic_auth(&k, Some("")).json(&json!({"events": ["video.encoding.quality.completed"], "url": "https://example.com/h"})).send().await.unwrap().json().await.unwrap();
    secrets.push(wh["signatureSecret"].as_str().unwrap().to_string());
    h.post(s.url(&format!(
        "/v2/mcc/customers/{}/httpstreaming/dcp/streamkeys",
        s.account.number
    )))
    .header("authorization", format!("TOK:{k}"))
    .json(&json!({"DirPath": "i/s", "Key": "edgeSecret123"}))
    .send()
    .await
    .unwrap();
    secrets.push("edgeSecret123".into());
    h.post(s.url("/v1/credentials"))
        .header("x-api-key", &k)
        .json(&json!({"credential_label": "l", "credential_type": "ftp", "credential_public": "u", "credential_private": "ftpSecret-4242"}))
        .send()
        .await
        .unwrap();
    secrets.push("ftpSecret-4242".into());
    // A revoked key, tried three times: one audit entry (throttled), not three.
    for _ in 0..3 {
        let r = h
            .get(s.url("/api/stream"))
            .bearer_auth(&revoked)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }

    let res = h
        .get(s.url("/v1/audit?limit=100"))
        .header("x-api-key", &k)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let log: Value = res.json().await.unwrap();
    let events = log["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "stream.create",
        "stream.delete",
        "api_key.create",
        "api_key.revoke",
        "webhook.create",
        "edgecast.stream_key.create",
        "brightcove.credential.create",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "auth.refused").count(),
        1,
        "{actions:?}"
    );
    let refused = events
        .iter()
        .find(|e| e["action"] == "auth.refused")
        .unwrap();
    assert_eq!(refused["outcome"], "revoked");
    let ats: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");

    // Never a secret, whether read over HTTP or from the store.
    let all = format!(
        "{log} {:?}",
        s.server
            .store()
            .query_audit(None, None, 0, 1000)
            .await
            .unwrap()
    );
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{secret} is in the audit log"
        );
    }

    // `since` filters; browser keys and other accounts see nothing of it.
    s.server.clock.advance_ms(5_000);
    let later = streamgate::clock::rfc3339(s.server.clock.now_ms_for_tests());
    let none: Value = h
        .get(s.url(&format!("/v1/audit?since={later}")))
        .header("x-api-key", &k)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["events"], json!([]));
    let cors = s
        .new_key("web", |r| r.allowed_origins = vec!["*".into()])
        .await;
    let r = h
        .get(s.url("/v1/audit"))
        .header("x-api-key", cors.secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let theirs = new_key(&s.server, other.id, "t", |_| {}).await;
    let theirs: Value = h
        .get(s.url("/v1/audit"))
        .header("x-api-key", theirs.secret.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Another account sees only its own events (its creation and its key's), none of acme's.
    let theirs = theirs["events"].as_array().unwrap();
    assert!(!theirs.is_empty());
    assert!(
        theirs
            .iter()
            .all(|e| e["accountId"] == json!(other.id.to_string())),
        "{theirs:?}"
    );
    let bad = h
        .get(s.url("/v1/audit?since=yesterday"))
        .header("x-api-key", &k)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The CLI reads the same log.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamgate"))
        .args([
            "audit",
            "list",
            "--account",
            s.account.number.as_str(),
            "--since",
            "1h",
            "--json",
        ])
        .env("STREAMGATE_DATABASE_URL", &s.server.db.url)
        .env("STREAMGATE_MASTER_KEY", &s.server.db.master_key)
        .env(
            "STREAMGATE_DATA_DIR",
            std::env::temp_dir().join("streamgate-cli-tests"),
        )
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_actions: Vec<&str> = cli
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        cli_actions.contains(&"edgecast.stream_key.create"),
        "{cli_actions:?}"
    );
    for secret in &secrets {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret.as_str()));
    }
}

/// Concurrent writers share group commits; one caller's failing write (here an event id written
/// twice) fails that caller alone, and every other caller's event is durable when it returns.
async fn group_commit_isolates_a_failing_caller(backend: Backend) {
    use std::sync::Arc;
    use streamgate::domain::AuditEvent;
    use streamgate::store::GroupWrite;
    let s = setup(backend).await;
    let svc: Arc<streamgate::service::Services> = s.server.svc().clone();
    let event = |n: usize| AuditEvent {
        id: uuid::Uuid::now_v7(),
        account_id: Some(s.account.id),
        actor: "test".into(),
        action: "group.test".into(),
        object: format!("n:{n}"),
        outcome: "ok".into(),
        detail: String::new(),
        at: 1,
        environment: None,
    };
    let mut tasks = Vec::new();
    for n in 0..40 {
        let writes = if n == 17 {
            let dup = event(n);
            vec![GroupWrite::Audit(dup.clone()), GroupWrite::Audit(dup)]
        } else {
            vec![GroupWrite::Audit(event(n))]
        };
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move { (n, svc.commit(writes).await) }));
    }
    for t in tasks {
        let (n, result) = t.await.unwrap();
        if n == 17 {
            assert!(result.is_err(), "the duplicate fails: {result:?}");
        } else {
            assert_eq!(result.unwrap(), [true], "caller {n}");
        }
    }
    let written: Vec<String> = s
        .server
        .store()
        .query_audit(Some(s.account.id), None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "group.test")
        .map(|e| e.object)
        .collect();
    assert_eq!(written.len(), 39, "{written:?}");
    assert!(!written.contains(&"n:17".to_string()));
    // The callers did share a group, which failed on the duplicate and was written caller by caller.
    let retried = svc
        .group_commit_stats()
        .retried_alone
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        retried > 1,
        "no group of several callers was split: {retried}"
    );
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "streamgate_group_commit_retried_alone {retried}\n"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn group_commit_isolates_a_failing_caller_sqlite() {
    group_commit_isolates_a_failing_caller(Backend::Sqlite).await;
}

#[tokio::test]
async fn group_commit_isolates_a_failing_caller_postgres() {
    group_commit_isolates_a_failing_caller(Backend::Postgres).await;
}
