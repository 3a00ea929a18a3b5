//! Livepeer's own published clients (PyPI `livepeer`, npm `livepeer`, pinned in tests/clients)
//! against the real server: streams and multistream targets end to end, and a revoked key.

use crate::common;

use std::time::Duration;

use crate::common::external::{clients_dir, node_modules_ready, python, run_ok};
use crate::common::setup_with;
use streamgate::testkit::Backend;
use tokio::process::Command;

/// A recorded stream with one ended publish session: its id.
async fn recorded_session(s: &common::Setup) -> String {
    let st: serde_json::Value = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&serde_json::json!({"name": "recorded", "record": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = st["streamKey"].as_str().unwrap();
    for call in ["publish", "publish-done"] {
        let res = s
            .http
            .post(
                s.server
                    .ingest_url(&format!("/ingest/nginx-rtmp/{call}"))
                    .await,
            )
            .form(&[("app", "live"), ("name", key), ("addr", "10.6.0.1")])
            .send()
            .await
            .unwrap();
        assert_eq!(common::hook_status(&res), 200);
    }
    st["id"].as_str().unwrap().to_string()
}

async fn keys(s: &common::Setup) -> (String, String) {
    let full = s.new_key("sdk", |_| {}).await;
    let revoked = s.new_key("revoked", |_| {}).await;
    s.server
        .svc()
        .revoke_key(&streamgate::testkit::operator(), revoked.key.id)
        .await
        .unwrap();
    (
        full.secret.expose().to_string(),
        revoked.secret.expose().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_works() {
    // A lab: the scripts import assets from a file server of their own on this machine.
    let s = setup_with(Backend::Sqlite, crate::common::lab()).await;
    let (key, revoked) = keys(&s).await;
    let recorded = recorded_session(&s).await;
    let mut cmd = Command::new(python());
    cmd.arg(clients_dir().join("livepeer_sdk_test.py"))
        .env("SG_LIVEPEER_URL", s.url("/api"))
        .env("SG_KEY", &key)
        .env("SG_REVOKED_KEY", &revoked)
        .env("SG_RECORDED_STREAM", &recorded);
    let out = run_ok(cmd, "the livepeer Python client", Duration::from_secs(120)).await;
    assert!(out.contains("all good"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_client_works() {
    node_modules_ready();
    // A lab: the scripts import assets from a file server of their own on this machine.
    let s = setup_with(Backend::Sqlite, crate::common::lab()).await;
    let (key, revoked) = keys(&s).await;
    let recorded = recorded_session(&s).await;
    let mut cmd = Command::new("node");
    cmd.arg("livepeer_sdk_test.mjs")
        .current_dir(clients_dir())
        .env("SG_LIVEPEER_URL", s.url("/api"))
        .env("SG_KEY", &key)
        .env("SG_REVOKED_KEY", &revoked)
        .env("SG_RECORDED_STREAM", &recorded);
    let out = run_ok(
        cmd,
        "the livepeer JavaScript client",
        Duration::from_secs(120),
    )
    .await;
    assert!(out.contains("all good"), "{out}");
}
