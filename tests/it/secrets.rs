//! No secret ever appears in a log line (at any level), a Debug print, an error or a list response.

use crate::common;

use crate::common::setup;
use serde_json::json;
use streamgate::testkit::{Backend, LogCapture};

#[tokio::test]
async fn a_full_run_never_logs_or_echoes_a_secret() {
    let logs = LogCapture::install();
    let mut secrets: Vec<String> = Vec::new();
    let mut seen = String::new();

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let svc = s.server.svc().clone();
        secrets.push(s.secret().to_string());
        let cors = s
            .new_key("cors", |r| r.allowed_origins = vec!["*".into()])
            .await;
        let short = s.new_key("short", |r| r.expires_in_ms = Some(1)).await;
        let revoked = s.new_key("revoked", |_| {}).await;
        for k in [&cors, &short, &revoked] {
            secrets.push(k.secret.expose().to_string());
            seen.push_str(&format!("{k:?}"));
        }
        let boot = svc
            .bootstrap_if_empty(&streamgate::testkit::operator())
            .await
            .unwrap();
        assert!(boot.is_none(), "store not empty, so no bootstrap");
        let pw = streamgate::crypto::SecretString::new("correct horse battery staple".into());
        let user = svc
            .create_user(
                &streamgate::testkit::operator(),
                s.account.id,
                "ops",
                &pw,
                streamgate::domain::Role::Member,
            )
            .await
            .unwrap();
        secrets.push(pw.expose().to_string());
        seen.push_str(&format!("{user:?} {pw:?}"));

        svc.revoke_key(&streamgate::testkit::operator(), revoked.key.id)
            .await
            .unwrap();
        s.server.clock.advance_ms(10);
        for secret in secrets.clone() {
            let mut styles = common::header_styles(&secret);
            styles.push(("authorization", format!("Bearer {secret}x")));
            for (name, value) in styles {
                let res = s.get_with("/sg/v1/me", name, &value).await;
                seen.push_str(&format!("{:?}", res.headers()));
                seen.push_str(&res.text().await.unwrap());
            }
            for body in [
                json!({"key": secret}).to_string(),
                format!("{{\"key\":\"{secret}\""),
                format!("{{\"key\":[\"{secret}\"]}}"),
            ] {
                let res = s
                    .http
                    .post(s.url("/sg/v1/keys/verify"))
                    .bearer_auth(s.secret())
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                seen.push_str(&res.text().await.unwrap());
            }
        }
        // Ingest tokens: on a hook URL's query and as Bearer, valid and revoked, listed.
        let op = streamgate::testkit::operator();
        let ingest = svc.create_ingest_token(&op, "edge").await.unwrap();
        let gone = svc.create_ingest_token(&op, "gone").await.unwrap();
        svc.revoke_ingest_token(&op, gone.token.id).await.unwrap();
        for t in [&ingest, &gone] {
            let token = t.secret.expose().to_string();
            seen.push_str(&format!("{t:?}"));
            for (url, bearer) in [
                (
                    s.url(&format!("/ingest/nginx-rtmp/publish?token={token}")),
                    None,
                ),
                (s.url("/ingest/srs"), Some(token.clone())),
            ] {
                let mut req = s.http.post(url).body("app=live&name=nope&addr=10.0.0.1");
                if let Some(b) = bearer {
                    req = req.bearer_auth(b);
                }
                let res = req.send().await.unwrap();
                seen.push_str(&format!("{:?}", res.headers()));
                seen.push_str(&res.text().await.unwrap());
            }
            secrets.push(token);
        }
        svc.flush_ingest_refusals().await;
        seen.push_str(&format!("{:?}", svc.list_ingest_tokens(&op).await.unwrap()));
        seen.push_str(&format!(
            "{:?}",
            s.server
                .store()
                .query_audit(None, None, 0, 1000)
                .await
                .unwrap()
        ));
        let keys = svc
            .list_keys(
                &streamgate::testkit::operator().in_account(s.account.id),
                true,
            )
            .await
            .unwrap();
        seen.push_str(&format!("{keys:?}"));
        seen.push_str(&s.get_text("/metrics").await);
        s.server.stop().await;
    }

    let logged = logs.contents();
    assert!(logged.contains("api key created"), "logs were not captured");
    assert!(logged.contains("authentication refused"));
    for secret in &secrets {
        assert!(!logged.contains(secret.as_str()), "a secret was logged");
        assert!(
            !seen.contains(secret.as_str()),
            "a secret was echoed in a response or Debug output"
        );
        // Not even the random part without its prefix.
        let tail = &secret[secret.len() - 20..];
        assert!(!logged.contains(tail) && !seen.contains(tail));
    }
}

/// Every byte of the SQLite database and its WAL.
fn sqlite_bytes(db: &streamgate::testkit::TestDb) -> Vec<u8> {
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let path = path.split('?').next().unwrap().to_string();
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    raw
}

fn holds(bytes: &[u8], secret: &str) -> bool {
    bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
}

async fn upload_token(s: &common::Setup) -> String {
    let res = s
        .http
        .post(s.url("/upload-tokens"))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"ttl": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// The token is found by its value, listed back to its owner, and deleted by its value.
async fn token_works(s: &common::Setup, token: &str) {
    let res = s
        .http
        .get(s.url(&format!("/upload-tokens/{token}")))
        .basic_auth(s.secret(), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["token"], token);
    let list: serde_json::Value = s
        .http
        .get(s.url("/upload-tokens"))
        .basic_auth(s.secret(), Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["token"] == token),
        "{list}"
    );
}

#[tokio::test]
async fn upload_tokens_are_sealed_at_rest() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let token = upload_token(&s).await;
        let other = upload_token(&s).await;
        token_works(&s, &token).await;
        // Another account finds nothing by the value.
        let intruder = s
            .server
            .svc()
            .create_account(&streamgate::testkit::operator(), "intruder", None)
            .await
            .unwrap();
        let k = common::new_key(&s.server, intruder.id, "i", |_| {}).await;
        let res = s
            .http
            .get(s.url(&format!("/upload-tokens/{token}")))
            .basic_auth(k.secret.expose(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let res = s
            .http
            .delete(s.url(&format!("/upload-tokens/{other}")))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let res = s
            .http
            .get(s.url(&format!("/upload-tokens/{other}")))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let t = s
            .server
            .svc()
            .get_upload_token(
                &streamgate::testkit::operator().in_account(s.account.id),
                &token,
            )
            .await
            .unwrap();
        assert!(!format!("{t:?}").contains(&token), "Debug shows the token");
        if backend == Backend::Sqlite {
            let bytes = sqlite_bytes(&s.server.db);
            for t in [&token, &other] {
                assert!(!holds(&bytes, t), "an upload token is stored in clear");
            }
        }
        s.server.stop().await;
    }
}

#[tokio::test]
async fn upload_tokens_an_older_version_kept_in_clear_are_sealed_at_start() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let db = std::sync::Arc::clone(&s.server.db);
        let legacy = "toLegacy0123456789abcdefXY";
        let dead = "toLegacyDeleted0123456789a";
        let insert = "INSERT INTO upload_tokens_plain \
            (token, account_id, environment, ttl, created_at, expires_at, deleted_at) \
            VALUES ($1, $2, 'production', 0, 1, NULL, $3)";
        let count_plain = "SELECT COUNT(*) FROM upload_tokens_plain";
        match backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                for (t, deleted) in [(legacy, None), (dead, Some(5_i64))] {
                    sqlx::query(insert)
                        .bind(t)
                        .bind(s.account.id.to_string())
                        .bind(deleted)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                for (t, deleted) in [(legacy, None), (dead, Some(5_i64))] {
                    sqlx::query(insert)
                        .bind(t)
                        .bind(s.account.id.to_string())
                        .bind(deleted)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                pool.close().await;
            }
        }
        let common::Setup {
            server,
            account,
            key,
            http,
        } = s;
        server.stop().await;
        // The next start seals them before it serves.
        let s = common::Setup {
            server: streamgate::testkit::TestServer::start_on(db.clone()).await,
            account,
            key,
            http,
        };
        token_works(&s, legacy).await;
        let res = s
            .http
            .get(s.url(&format!("/upload-tokens/{dead}")))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "a deleted token stays deleted");
        let left: i64 = match backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                let (n,): (i64,) = sqlx::query_as(count_plain).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                let (n,): (i64,) = sqlx::query_as(count_plain).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
        };
        assert_eq!(left, 0, "tokens left in clear");
        if backend == Backend::Sqlite {
            let bytes = sqlite_bytes(&db);
            for t in [legacy, dead] {
                assert!(!holds(&bytes, t), "{t} lingers in the database file");
            }
        }
        // Starting again moves nothing and breaks nothing.
        let again = streamgate::testkit::TestServer::start_on(db.clone()).await;
        assert_eq!(again.svc().seal_plain_upload_tokens().await.unwrap(), 0);
        again.stop().await;
        token_works(&s, legacy).await;
        s.server.stop().await;
    }
}
