//! The web dashboard in a real browser (Debian's Chromium, driven by playwright-core): sign-in,
//! the CORS key dialog, streams, credentials, stream keys, signing keys, usage charts, audit,
//! CSRF, roles and lockout. Screenshots of every page at 1280 and 390 px go to
//! target/test-output/dashboard/.

use std::time::Duration;

use crate::common::external::{clients_dir, node_modules_ready, repo, run_ok};
use crate::common::setup;
use serde_json::json;
use streamgate::crypto::SecretString;
use streamgate::domain::Role;
use streamgate::service::streams::NewStream;
use streamgate::testkit::{Backend, LogCapture};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_in_chromium() {
    node_modules_ready();
    let logs = LogCapture::install();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run ./scripts/test.sh (it installs Chromium)"
    );
    let s = setup(Backend::Sqlite).await;
    let svc = s.server.svc().clone();
    let admin_pw = SecretString::new("admin password 0001".into());
    let admin = svc
        .create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "ada",
            &admin_pw,
            Role::Admin,
        )
        .await
        .unwrap();
    // A member of another account, and that other account's objects.
    let other = svc
        .create_account(&streamgate::testkit::operator(), "globex", None)
        .await
        .unwrap();
    let member_pw = SecretString::new("member password 0002".into());
    let member = svc
        .create_user(
            &streamgate::testkit::operator(),
            other.id,
            "max",
            &member_pw,
            Role::Member,
        )
        .await
        .unwrap();
    let lock_pw = SecretString::new("lockout password 03".into());
    let lockout = svc
        .create_user(
            &streamgate::testkit::operator(),
            other.id,
            "lou",
            &lock_pw,
            Role::Member,
        )
        .await
        .unwrap();
    let probe = s.new_key("usage probe", |_| {}).await;
    let actor = svc.authenticate(s.secret(), None).await.unwrap();
    let foreign_stream = svc
        .create_stream(
            &actor,
            NewStream {
                name: "acme private".into(),
                record: false,
                restreams: vec![],
                settings: Default::default(),
            },
        )
        .await
        .unwrap();
    // One finished publish of that stream, for the sessions timeline.
    let http = crate::common::client();
    for call in ["publish", "publish-done"] {
        let res = http
            .post(
                s.server
                    .ingest_url(&format!("/ingest/nginx-rtmp/{call}"))
                    .await,
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "app=live&addr=10.0.0.7&name={}",
                foreign_stream.stream_key.expose()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(crate::common::hook_status(&res), 200);
    }
    let shots = repo().join("target/test-output/dashboard");
    let cfg = json!({
        "base": s.server.base_url,
        "admin": {"username": admin.username, "password": admin_pw.expose()},
        "member": {"username": member.username, "password": member_pw.expose()},
        "lockout": {"username": lockout.username, "password": lock_pw.expose()},
        "probeKey": probe.secret.expose(),
        "probeKeyId": probe.key.id,
        "foreignStreamId": foreign_stream.id,
        "foreignKeyId": s.key.key.id,
        "shots": shots,
    });
    let mut cmd = Command::new("node");
    cmd.arg("dashboard_browser.mjs")
        .current_dir(clients_dir())
        .env("CHROMIUM", &chromium)
        .env("DASHBOARD_CONFIG", cfg.to_string());
    let out = run_ok(cmd, "the dashboard browser test", Duration::from_secs(240)).await;
    println!("{out}");
    assert!(!out.contains("FAILED"), "{out}");
    assert_eq!(out.matches("ok: ").count(), 47, "{out}");
    for page in [
        "login",
        "keys-dialog",
        "keys-created",
        "keys",
        "stream",
        "streams",
        "credentials",
        "stream-keys",
        "signing-keys",
        "usage",
        "audit",
        "users",
        "account",
        "member-streams",
    ] {
        for width in [1280, 390] {
            let p = shots.join(format!("{page}-{width}.png"));
            assert!(p.exists(), "{} was not saved", p.display());
        }
    }
    // Passwords never reach the logs.
    let captured = logs.contents();
    for secret in [
        admin_pw.expose(),
        member_pw.expose(),
        lock_pw.expose(),
        "hook-password-never-shown-4711",
    ] {
        assert!(!captured.contains(secret), "a secret reached the logs");
    }
}
