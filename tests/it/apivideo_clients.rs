//! api.video's own published clients (PyPI `api-video`, npm `@api.video/nodejs-client`, pinned
//! in tests/clients) against the real server. The Python run gives access tokens an 11 s life
//! and lets server time flow, so the client must refresh by itself to finish.

use crate::common;

use std::time::Duration;

use crate::common::external::{clients_dir, node_modules_ready, python, run_ok};
use crate::common::setup;
use streamgate::domain::Environment;
use streamgate::testkit::Backend;
use tokio::process::Command;

async fn keys(s: &common::Setup) -> (String, String) {
    let prod = s.new_key("sdk", |_| {}).await;
    let sandbox = s
        .new_key("sdk-sandbox", |k| k.environment = Environment::Sandbox)
        .await;
    (
        prod.secret.expose().to_string(),
        sandbox.secret.expose().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_works_and_refreshes_by_itself() {
    // The client refreshes `expires_in - 10` s after each token: with 11 s tokens, every second.
    let mut config = streamgate::Config::default();
    config.service.access_token_ttl = Duration::from_secs(11);
    let s = common::setup_with(Backend::Sqlite, config).await;
    let (key, sandbox) = keys(&s).await;
    let clock = s.server.clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            clock.advance_ms(100);
        }
    });
    let mut cmd = Command::new(python());
    cmd.arg(clients_dir().join("apivideo_sdk_test.py"))
        .env("SG_URL", &s.server.base_url)
        .env("SG_KEY", &key)
        .env("SG_SANDBOX_KEY", &sandbox)
        // Past the first token's 11 s: the last calls only work with a refreshed token.
        .env("SG_TTL_WAIT", "12");
    let out = run_ok(cmd, "the api.video Python client", Duration::from_secs(180)).await;
    ticker.abort();
    assert!(out.contains("all good"), "{out}");
    let replays = s
        .server
        .store()
        .list_audit(s.account.id, 10)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "refresh_token.reuse")
        .count();
    assert_eq!(replays, 0, "the client never replays a spent refresh token");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_client_works() {
    node_modules_ready();
    let s = setup(Backend::Sqlite).await;
    let (key, sandbox) = keys(&s).await;
    let mut cmd = Command::new("node");
    cmd.arg("apivideo_sdk_test.mjs")
        .current_dir(clients_dir())
        .env("SG_URL", &s.server.base_url)
        .env("SG_KEY", &key)
        .env("SG_SANDBOX_KEY", &sandbox);
    let out = run_ok(
        cmd,
        "the api.video JavaScript client",
        Duration::from_secs(120),
    )
    .await;
    assert!(out.contains("all good"), "{out}");
}
