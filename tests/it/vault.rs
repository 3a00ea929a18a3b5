//! The vault: rotation while serving (old and new ciphertexts both open mid-rotation), resuming an
//! interrupted rotation, record-bound ciphertexts, and refusing a wrong or missing master key.

use std::time::Duration;

use crate::common::{eventually, setup, Setup};
use serde_json::{json, Value};
use streamgate::testkit::Backend;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_streamgate");

/// Creates one secret of every kind; returns a check that reads them all back over HTTP.
async fn seed(s: &Setup) -> Vec<(String, String, String)> {
    let k = s.secret();
    let h = &s.http;
    let st: Value = h
        .post(s.url("/api/stream"))
        .bearer_auth(k)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t: Value = h
        .post(s.url("/api/multistream/target"))
        .bearer_auth(k)
        .json(&json!({"url": "rtmp://a.example/x/targetSecret1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ls: Value = h.post(s.url("/live-streams")).basic_auth(k, Some("")).json(&json!({"name": "b", "restreams": [{"name": "r", "serverUrl": "rtmp://b.example/live", "streamKey": "restreamSecret2"}]})).send().await.unwrap().json().await.unwrap();
    let ec = format!("/v2/mcc/customers/{}/httpstreaming/dcp", s.account.number);
    let sk: Value = h
        .post(s.url(&format!("{ec}/streamkeys")))
        .header("authorization", format!("TOK:{k}"))
        .json(&json!({"DirPath": "i/s", "Key": "edgeSecret3"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    h.put(s.url(&format!("{ec}/globalkey")))
        .header("authorization", format!("TOK:{k}"))
        .json(&json!({"Key": "globalSecret4"}))
        .send()
        .await
        .unwrap();
    h.post(s.url("/v1/credentials")).header("x-api-key", k).json(&json!({"credential_label": "c", "credential_type": "ftp", "credential_public": "u", "credential_private": "credSecret5-0005"})).send().await.unwrap();
    h.post(s.url("/webhooks"))
        .basic_auth(k, Some(""))
        .json(
            &json!({"events": ["video.encoding.quality.completed"], "url": "https://e.example/h"}),
        )
        .send()
        .await
        .unwrap();
    let up: Value = h
        .post(s.url("/upload-tokens"))
        .basic_auth(k, Some(""))
        .json(&json!({"ttl": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let up = up["token"].as_str().unwrap().to_string();
    // Issuing a token creates the signing key (its private half is sealed too).
    h.post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": k}))
        .send()
        .await
        .unwrap();
    vec![
        (
            format!("/api/stream/{}", st["id"].as_str().unwrap()),
            "streamKey".into(),
            st["streamKey"].as_str().unwrap().to_string(),
        ),
        (
            format!("/live-streams/{}", ls["liveStreamId"].as_str().unwrap()),
            "restreams".into(),
            "****ret2".into(),
        ),
        (
            format!("{ec}/streamkeys/{}", sk["Id"]),
            "Key".into(),
            "edgeSecret3".into(),
        ),
        (
            format!("{ec}/globalkey"),
            "Key".into(),
            "globalSecret4".into(),
        ),
        (
            "/v1/credentials".into(),
            "credentials".into(),
            "****0005".into(),
        ),
        (format!("/upload-tokens/{up}"), "token".into(), up.clone()),
        (
            format!("/api/multistream/target/{}", t["id"].as_str().unwrap()),
            "name".into(),
            String::new(),
        ),
    ]
}

/// Every seeded secret reads back (each route must decrypt its row).
async fn all_readable(s: &Setup, checks: &[(String, String, String)]) {
    let k = s.secret();
    for (path, field, want) in checks {
        let res = s
            .http
            .get(s.url(path))
            .header("x-api-key", k)
            .header(
                "authorization",
                if path.starts_with("/v2/") {
                    format!("TOK:{k}")
                } else if path.starts_with("/live") || path.starts_with("/upload") {
                    format!("Basic {}", b64(k))
                } else {
                    format!("Bearer {k}")
                },
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let v: Value = res.json().await.unwrap();
        assert!(
            v.to_string().contains(want.as_str()) && v.get(field).is_some(),
            "{path}: {v}"
        );
    }
    // Tokens still sign and verify (the signing key's private half).
    let t: Value = s
        .http
        .post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": k}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = s
        .http
        .get(s.url("/sg/v1/me"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

fn b64(k: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{k}:"))
}

#[tokio::test]
async fn rotation_reseals_everything_and_nothing_breaks_midway() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let checks = seed(&s).await;
        let svc = s.server.svc();
        let before = svc
            .count_stale_secrets(&streamgate::testkit::operator())
            .await
            .unwrap();
        assert_eq!(before, 0, "everything is on key 1");
        let n = svc
            .add_vault_key(&streamgate::testkit::operator())
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert!(
            svc.count_stale_secrets(&streamgate::testkit::operator())
                .await
                .unwrap()
                >= 8
        );
        // One small batch: now some rows are on key 2 and some still on key 1. All must open.
        assert!(
            svc.reseal_batch(&streamgate::testkit::operator(), 1)
                .await
                .unwrap()
                > 0
        );
        assert!(
            svc.count_stale_secrets(&streamgate::testkit::operator())
                .await
                .unwrap()
                > 0,
            "mid-rotation"
        );
        all_readable(&s, &checks).await;
        // Finish.
        while svc
            .reseal_batch(&streamgate::testkit::operator(), 2)
            .await
            .unwrap()
            > 0
        {}
        assert_eq!(
            svc.reseal_restreams(&streamgate::testkit::operator(), 10)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            svc.count_stale_secrets(&streamgate::testkit::operator())
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            svc.reseal_restreams(&streamgate::testkit::operator(), 10)
                .await
                .unwrap(),
            0,
            "idempotent"
        );
        all_readable(&s, &checks).await;
        // New secrets are sealed with key 2.
        let rec = s
            .server
            .store()
            .credential_by_label(
                streamgate::store::Scope {
                    account_id: s.account.id,
                    environment: streamgate::domain::Environment::Production,
                },
                "c",
            )
            .await
            .unwrap()
            .unwrap();
        assert!(
            rec.private_sealed.starts_with("v1.2."),
            "{}",
            &rec.private_sealed[..8]
        );
        // Another server on the same database (same master key) loads the keyring and reads all.
        let again =
            streamgate::testkit::TestServer::start_on(std::sync::Arc::clone(&s.server.db)).await;
        let k = s.secret();
        let r = reqwest::Client::new()
            .get(again.url("/v1/credentials"))
            .header("x-api-key", k)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        again.stop().await;
    }
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_row_does_not_open() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret();
    let a: Value = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(k)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(k)
        .json(&json!({"name": "b"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&s.server.db.url).await.unwrap();
    sqlx::query("UPDATE streams SET key_sealed = (SELECT key_sealed FROM streams WHERE id = $1) WHERE id = $2")
        .bind(a["id"].as_str().unwrap())
        .bind(b["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let res = s
        .http
        .get(s.url(&format!("/api/stream/{}", b["id"].as_str().unwrap())))
        .bearer_auth(k)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        500,
        "the moved ciphertext is refused, not shown as b's key"
    );
    let body = res.text().await.unwrap();
    assert!(!body.contains(a["streamKey"].as_str().unwrap()));
    let ok = s
        .http
        .get(s.url(&format!("/api/stream/{}", a["id"].as_str().unwrap())))
        .bearer_auth(k)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

async fn cli(
    db: &streamgate::testkit::TestDb,
    key: Option<&str>,
    data_dir: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("STREAMGATE_DATABASE_URL", &db.url)
        .env("STREAMGATE_DATA_DIR", data_dir)
        .env_remove("STREAMGATE_MASTER_KEY")
        .env_remove("RUST_LOG");
    if let Some(k) = key {
        c.env("STREAMGATE_MASTER_KEY", k);
    }
    let out = c.output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_rotates_a_running_server_resumes_and_refuses_a_wrong_key() {
    let s = setup(Backend::Sqlite).await;
    let checks = seed(&s).await;
    let db = &s.server.db;
    let dir = tempfile::tempdir().unwrap();

    // A wrong key, or none at all, is refused before anything is written.
    let wrong = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    };
    let (ok, _, err) = cli(db, Some(&wrong), dir.path(), &["account", "list"]).await;
    assert!(
        !ok && err.contains("does not open the store's encrypted data"),
        "{err}"
    );
    let (ok, _, err) = cli(db, None, dir.path(), &["serve", "--listen", "127.0.0.1:0"]).await;
    assert!(!ok && err.contains("no master key"), "{err}");
    assert!(
        !dir.path().join("master.key").exists(),
        "no new key was made up"
    );

    // Interrupt a rotation (service level, one batch), then let the CLI resume it.
    let svc = s.server.svc();
    svc.add_vault_key(&streamgate::testkit::operator())
        .await
        .unwrap();
    svc.reseal_batch(&streamgate::testkit::operator(), 1)
        .await
        .unwrap();
    let (ok, out, err) = cli(
        db,
        Some(&db.master_key),
        dir.path(),
        &["vault", "rotate", "--settle", "1s", "--batch", "2"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("resuming the rotation to data key 2"), "{err}");
    assert!(out.contains("vault rotated to data key 2"), "{out}");
    assert_eq!(
        svc.count_stale_secrets(&streamgate::testkit::operator())
            .await
            .unwrap(),
        0
    );

    // A fresh rotation by the CLI: the running server learns key 3 from the change log.
    let (ok, out, err) = cli(
        db,
        Some(&db.master_key),
        dir.path(),
        &["vault", "rotate", "--settle", "1s"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("vault rotated to data key 3"), "{out}");
    let loaded = eventually(Duration::from_secs(2), || async {
        svc.vault.numbers().contains(&3)
    })
    .await;
    assert!(loaded.is_some(), "the server never loaded key 3");
    all_readable(&s, &checks).await;
    let audit = s
        .server
        .store()
        .query_audit(None, None, 0, 100)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "vault.rotate"));
}
