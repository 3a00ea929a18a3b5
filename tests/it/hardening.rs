//! Hardening from issue 18 that has no file of its own: two Authorization headers refused (every
//! dialect and the ingest hooks), `/metrics` behind a token when configured, a credential's
//! destination or type changed only with its secret entered again, upload tokens never in audit
//! rows, the data directory and database files the owner's only.

use crate::common::{setup, setup_with};
use serde_json::{json, Value};
use streamgate::domain::SecretString;
use streamgate::testkit::Backend;

#[tokio::test]
async fn two_authorization_headers_are_refused_in_every_dialect() {
    let s = setup(Backend::Sqlite).await;
    let other = s.new_key("other", |_| {}).await;
    for (path, content_type) in [
        ("/sg/v1/me", "application/json"),
        ("/api/stream", "application/json"),
        ("/live-streams", "application/problem+json"),
        ("/v1/credentials", "application/json"),
    ] {
        let res = s
            .http
            .get(s.url(path))
            .header("authorization", format!("Bearer {}", s.secret()))
            .header("authorization", format!("Bearer {}", other.secret.expose()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
    }
}

/// Edgecast's `TOK:` style and the media servers' hooks follow the same rule: two
/// `Authorization` headers are 400, and a hook so refused decides nothing and writes nothing.
#[tokio::test]
async fn two_authorization_headers_are_refused_on_edgecast_and_the_ingest_hooks() {
    let s = setup(Backend::Sqlite).await;
    let other = s.new_key("other", |_| {}).await;
    let number = s.account.number.as_str().to_string();
    let keys = s.url(&format!(
        "/v2/mcc/customers/{number}/httpstreaming/dcp/streamkeys"
    ));
    let one = s
        .http
        .get(&keys)
        .header("authorization", format!("TOK:{}", s.secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200, "one header is answered");
    let res = s
        .http
        .get(&keys)
        .header("authorization", format!("TOK:{}", s.secret()))
        .header("authorization", format!("TOK:{}", other.secret.expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let token = s.server.ingest_token().await;
    let audit = || async {
        s.server
            .store()
            .query_audit(None, None, 0, 10_000)
            .await
            .unwrap()
            .len()
    };
    let before = audit().await;
    for path in [
        "/ingest/nginx-rtmp/publish",
        "/ingest/nginx-rtmp/record-done",
    ] {
        let res = s
            .http
            .post(s.url(path))
            .header("authorization", format!("Bearer {token}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("app=live&name=whatever&addr=10.0.0.1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
    }
    s.server.svc().flush_ingest_refusals().await;
    assert_eq!(
        audit().await,
        before,
        "a refused hook wrote to the audit log"
    );
}

#[tokio::test]
async fn a_bare_access_token_beside_another_authorization_is_refused_too() {
    let s = setup(Backend::Sqlite).await;
    let pair: Value = s
        .http
        .post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": s.secret()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = s
        .http
        .get(s.url("/live-streams"))
        .header("authorization", pair["access_token"].as_str().unwrap())
        .header("authorization", format!("Bearer {}", s.secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let mut config = streamgate::Config::default();
    config.http.metrics_token = Some(SecretString::new("scrape-me-0123".into()));
    let s = setup_with(Backend::Sqlite, config).await;
    let res = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth("scrape-me-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("streamgate_http_requests_total"));
    // The right token beside another header: one Authorization header, as everywhere.
    let res = s
        .http
        .get(s.url("/metrics"))
        .header("authorization", "Bearer scrape-me-0123")
        .header("authorization", "Bearer wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Without the setting, as before: open.
    let open = setup(Backend::Sqlite).await;
    assert_eq!(
        open.http
            .get(open.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_credential_is_re_aimed_only_with_its_secret_entered_again() {
    let s = setup(Backend::Sqlite).await;
    let post = |body: Value| {
        s.http
            .post(s.url("/v1/credentials"))
            .header("x-api-key", s.secret())
            .json(&body)
            .send()
    };
    let made: Value = post(
        json!({"credential_label": "idp", "credential_type": "oauth",
        "credential_public": "client-1", "credential_private": "client-secret-77",
        "credential_token_url": "https://idp.example/token"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = made["credential_id"].as_str().unwrap().to_string();
    let put = |body: Value| {
        s.http
            .put(s.url(&format!("/v1/credentials/{id}")))
            .header("x-api-key", s.secret())
            .json(&body)
            .send()
    };
    // Another token URL without the secret: refused, the stored one unchanged.
    let res = put(
        json!({"credential_label": "idp", "credential_type": "oauth",
        "credential_public": "client-1", "credential_token_url": "https://listener.example/steal"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("credential_private"),
        "{v}"
    );
    // Another type without the secret (an http credential sends it as Basic to any webhook):
    // refused too.
    let res = put(json!({"credential_label": "idp", "credential_type": "http",
        "credential_public": "client-1"}))
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("credential_private"),
        "{v}"
    );
    // The same URL without the secret (a rename, say): fine, the secret kept.
    let res = put(
        json!({"credential_label": "idp2", "credential_type": "oauth",
        "credential_public": "client-1", "credential_token_url": "https://idp.example/token"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    // A new URL with the secret entered again: fine.
    let res = put(
        json!({"credential_label": "idp2", "credential_type": "oauth",
        "credential_public": "client-1", "credential_private": "client-secret-78",
        "credential_token_url": "https://idp2.example/token"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn upload_tokens_never_reach_the_audit_log() {
    let s = setup(Backend::Sqlite).await;
    let t: Value = s
        .http
        .post(s.url("/upload-tokens"))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"ttl": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["token"].as_str().unwrap().to_string();
    let res = s
        .http
        .delete(s.url(&format!("/upload-tokens/{token}")))
        .basic_auth(s.secret(), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let audit = s
        .server
        .store()
        .query_audit(Some(s.account.id), None, 0, 100)
        .await
        .unwrap();
    let uploads: Vec<_> = audit
        .iter()
        .filter(|e| e.action.starts_with("upload_token."))
        .collect();
    assert_eq!(uploads.len(), 2, "{audit:?}");
    for e in uploads {
        assert!(
            !e.object.contains(&token) && !e.detail.contains(&token),
            "{e:?}"
        );
        assert!(e.object.starts_with("upload_token:sha256:"));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamgate"))
        .arg("migrate")
        .env("STREAMGATE_DATA_DIR", &data)
        .env_remove("STREAMGATE_DATABASE_URL")
        .env_remove("STREAMGATE_MASTER_KEY")
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(data.clone()), 0o700);
    assert_eq!(mode(data.join("streamgate.db")), 0o600);
    assert_eq!(mode(data.join("master.key")), 0o600);
    for journal in ["streamgate.db-wal", "streamgate.db-shm"] {
        if data.join(journal).exists() {
            assert_eq!(mode(data.join(journal)), 0o600, "{journal}");
        }
    }
}
