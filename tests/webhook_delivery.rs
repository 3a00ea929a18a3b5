//! Broadcast webhooks: a stream going live and idle is delivered, signed, to the account's
//! webhooks from a durable outbox — retried with backoff, surviving a server restart, and never
//! sent to an internal address unless that is allowed.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::{eventually, setup, Setup};
use serde_json::{json, Value};
use streamgate::service::deliveries::{signature, SIGNATURE_HEADER};
use streamgate::testkit::{Backend, TestServer};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, String)>>>,
    fail_next: Arc<Mutex<u32>>,
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                {
                    let mut fail = state.fail_next.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                }
                let sig = headers
                    .get(SIGNATURE_HEADER)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                state.got.lock().unwrap().push((sig, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

async fn hook(s: &Setup, url: &str) -> String {
    s.server.svc().set_webhooks_allow_private(true);
    let res = s.http.post(s.url("/webhooks")).basic_auth(s.secret(), Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started", "live-stream.broadcast.ended"], "url": url}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    v["signatureSecret"].as_str().unwrap().to_string()
}

async fn nginx(server: &TestServer, call: &str, key: &str) -> u16 {
    let path = if call == "publish" {
        "publish"
    } else {
        "publish-done"
    };
    reqwest::Client::new()
        .post(server.url(&format!("/ingest/nginx-rtmp/{path}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "app=live&addr=10.0.0.1&call={call}&name={key}&type=live"
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn new_stream(s: &Setup) -> Value {
    s.http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "w"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn live_and_idle_are_delivered_signed() {
    let s = setup(Backend::Sqlite).await;
    let (rx, url) = receiver().await;
    let secret = hook(&s, &url).await;
    let st = new_stream(&s).await;
    let key = st["streamKey"].as_str().unwrap();
    assert_eq!(nginx(&s.server, "publish", key).await, 200);
    assert_eq!(nginx(&s.server, "publish_done", key).await, 200);
    let got = eventually(Duration::from_secs(5), || async {
        rx.got.lock().unwrap().len() >= 2
    })
    .await;
    assert!(got.is_some(), "deliveries did not arrive");
    let got = rx.got.lock().unwrap().clone();
    let types: Vec<String> = got
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "live-stream.broadcast.started",
            "live-stream.broadcast.ended"
        ]
    );
    for (sig, body) in &got {
        assert_eq!(
            sig,
            &signature(&secret, body),
            "HMAC-SHA256 of the body with the webhook's secret"
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert!(v["liveStreamId"].as_str().unwrap().starts_with("li"));
        assert!(!body.contains(key), "the stream key is not in the event");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_retried_and_survive_a_restart() {
    let s = setup(Backend::Sqlite).await;
    let (rx, url) = receiver().await;
    let secret = hook(&s, &url).await;
    *rx.fail_next.lock().unwrap() = 1;
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    // The first attempt fails (503) and is scheduled again with backoff.
    let svc = s.server.svc().clone();
    let failed_once = eventually(Duration::from_secs(5), || {
        let svc = svc.clone();
        let account = s.account.id;
        async move {
            svc.store
                .deliveries_for_account(account)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.attempts == 1 && d.delivered_at.is_none())
        }
    })
    .await;
    assert!(failed_once.is_some());
    let d = &svc
        .store
        .deliveries_for_account(s.account.id)
        .await
        .unwrap()[0];
    assert_eq!(d.last_error.as_deref(), Some("HTTP 503"));
    // Stop the server before the retry is due; another one on the same database delivers it.
    let db = Arc::clone(&s.server.db);
    let Setup { server, .. } = s;
    server.stop().await;
    assert!(rx.got.lock().unwrap().is_empty());
    let again = TestServer::start_on(db).await;
    again.svc().set_webhooks_allow_private(true);
    again.clock.advance_ms(3_000);
    let got = eventually(Duration::from_secs(5), || async {
        !rx.got.lock().unwrap().is_empty()
    })
    .await;
    assert!(got.is_some(), "the delivery was lost across the restart");
    let (sig, body) = rx.got.lock().unwrap()[0].clone();
    assert_eq!(sig, signature(&secret, &body));
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_addresses_are_refused_at_delivery() {
    let s = setup(Backend::Sqlite).await;
    let (rx, url) = receiver().await;
    hook(&s, &url).await;
    // Allowed when the webhook was made, not any more when it is delivered.
    s.server.svc().set_webhooks_allow_private(false);
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let svc = s.server.svc().clone();
    let account = s.account.id;
    let gave_up = eventually(Duration::from_secs(5), || {
        let svc = svc.clone();
        async move {
            svc.store
                .deliveries_for_account(account)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.failed_at.is_some())
        }
    })
    .await;
    assert!(gave_up.is_some(), "the delivery was not refused");
    let d = &svc.store.deliveries_for_account(account).await.unwrap()[0];
    assert!(
        d.last_error
            .as_deref()
            .unwrap()
            .contains("internal address"),
        "{:?}",
        d.last_error
    );
    assert!(rx.got.lock().unwrap().is_empty());
}
