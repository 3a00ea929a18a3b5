//! No secret ever appears in a log line (at any level), a Debug print, an error or a list response.

mod common;

use common::setup;
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
