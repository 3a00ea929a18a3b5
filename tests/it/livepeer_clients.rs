//! Livepeer's own published clients (PyPI `livepeer`, npm `livepeer`, pinned in tests/clients)
//! against the real server: streams and multistream targets end to end, and a revoked key.

use crate::common;

use std::time::Duration;

use crate::common::external::{clients_dir, node_modules_ready, python, run_ok};
use crate::common::setup;
use streamgate::testkit::Backend;
use tokio::process::Command;

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
    let s = setup(Backend::Sqlite).await;
    let (key, revoked) = keys(&s).await;
    let mut cmd = Command::new(python());
    cmd.arg(clients_dir().join("livepeer_sdk_test.py"))
        .env("SG_LIVEPEER_URL", s.url("/api"))
        .env("SG_KEY", &key)
        .env("SG_REVOKED_KEY", &revoked);
    let out = run_ok(cmd, "the livepeer Python client", Duration::from_secs(120)).await;
    assert!(out.contains("all good"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_client_works() {
    node_modules_ready();
    let s = setup(Backend::Sqlite).await;
    let (key, revoked) = keys(&s).await;
    let mut cmd = Command::new("node");
    cmd.arg("livepeer_sdk_test.mjs")
        .current_dir(clients_dir())
        .env("SG_LIVEPEER_URL", s.url("/api"))
        .env("SG_KEY", &key)
        .env("SG_REVOKED_KEY", &revoked);
    let out = run_ok(
        cmd,
        "the livepeer JavaScript client",
        Duration::from_secs(120),
    )
    .await;
    assert!(out.contains("all good"), "{out}");
}
