//! Livepeer CORS keys in a real browser (Debian's Chromium, driven by playwright-core): the
//! browser, not a test client, decides what a page may read.

use std::process::Stdio;
use std::time::Duration;

use crate::common::external::{clients_dir, node_modules_ready};
use crate::common::setup;
use streamgate::testkit::Backend;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn cors_keys_in_chromium() {
    node_modules_ready();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run ./scripts/test.sh (it installs Chromium)"
    );
    let s = setup(Backend::Sqlite).await;
    let mut child = Command::new("node")
        .arg("livepeer_cors_browser.mjs")
        .current_dir(clients_dir())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut first))
        .await
        .expect("the page servers did not start")
        .unwrap();
    let origins: serde_json::Value = serde_json::from_str(&first).expect("origins line");
    let allowed = origins["allowed"].as_str().unwrap().to_string();
    let cors = s
        .new_key("web", |k| k.allowed_origins = vec![allowed.clone()])
        .await;
    let star = s
        .new_key("any", |k| k.allowed_origins = vec!["*".into()])
        .await;
    let keys = serde_json::json!({
        "api": s.server.base_url,
        "cors": cors.secret.expose(),
        "star": star.secret.expose(),
        "backend": s.secret(),
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{keys}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let mut rest = String::new();
    let mut stderr = String::new();
    let status = tokio::time::timeout(Duration::from_secs(120), async {
        stdout.read_to_string(&mut rest).await.unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the browser test hung");
    println!("{rest}");
    assert!(
        status.success(),
        "browser checks failed:\n{rest}\n--- stderr\n{stderr}"
    );
    assert_eq!(rest.matches("ok: ").count(), 6, "{rest}");
}
