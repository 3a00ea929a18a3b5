//! Broadcast webhooks: a stream going live and idle is delivered, signed, to the account's
//! webhooks from a durable outbox — retried with backoff, surviving a server restart, and never
//! sent to an internal address unless that is allowed.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{eventually, lab, setup_with, Setup};
use axum::http::{HeaderMap, StatusCode};
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
    hook_as(s, s.secret(), url).await
}

async fn hook_as(s: &Setup, secret: &str, url: &str) -> String {
    let res = s.http.post(s.url("/webhooks")).basic_auth(secret, Some(""))
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
    let res = crate::common::client()
        .post(
            server
                .ingest_url(&format!("/ingest/nginx-rtmp/{path}"))
                .await,
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "app=live&addr=10.0.0.1&call={call}&name={key}&type=live"
        ))
        .send()
        .await
        .unwrap();
    crate::common::hook_status(&res)
}

async fn new_stream(s: &Setup) -> Value {
    new_stream_as(s, s.secret()).await
}

async fn new_stream_as(s: &Setup, secret: &str) -> Value {
    s.http
        .post(s.url("/api/stream"))
        .bearer_auth(secret)
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
    let s = setup_with(Backend::Sqlite, lab()).await;
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
    // Up to two attempts to one endpoint run at once: events may arrive in either order.
    let mut types: Vec<String> = got
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "live-stream.broadcast.ended",
            "live-stream.broadcast.started"
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
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (rx, url) = receiver().await;
    let secret = hook(&s, &url).await;
    *rx.fail_next.lock().unwrap() = 1;
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    // The first attempt fails (503) and is scheduled again with backoff.
    let svc = s.server.store().clone();
    let failed_once = eventually(Duration::from_secs(5), || {
        let svc = svc.clone();
        let account = s.account.id;
        async move {
            svc.deliveries_for_account(account)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.attempts == 1 && d.delivered_at.is_none())
        }
    })
    .await;
    assert!(failed_once.is_some());
    let d = &svc.deliveries_for_account(s.account.id).await.unwrap()[0];
    assert_eq!(d.last_error.as_deref(), Some("HTTP 503"));
    // Stop the server before the retry is due; another one on the same database delivers it.
    let db = Arc::clone(&s.server.db);
    let Setup { server, .. } = s;
    server.stop().await;
    assert!(rx.got.lock().unwrap().is_empty());
    let again = TestServer::start_on_with(db, lab()).await;
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
    let made = setup_with(Backend::Sqlite, lab()).await;
    let (rx, url) = receiver().await;
    hook(&made, &url).await;
    // Allowed when the webhook was made, not any more when it is delivered: the server that
    // delivers runs without the lab setting, on the same database.
    let db = Arc::clone(&made.server.db);
    let Setup {
        server,
        account,
        key,
        http,
    } = made;
    server.stop().await;
    let s = Setup {
        server: TestServer::start_on(db).await,
        account,
        key,
        http,
    };
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let svc = s.server.store().clone();
    let account = s.account.id;
    let gave_up = eventually(Duration::from_secs(5), || {
        let svc = svc.clone();
        async move {
            svc.deliveries_for_account(account)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.failed_at.is_some())
        }
    })
    .await;
    assert!(gave_up.is_some(), "the delivery was not refused");
    let d = &svc.deliveries_for_account(account).await.unwrap()[0];
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

/// An endpoint that records each delivery's `Authorization`, and an OAuth token endpoint that
/// grants `at-<n>` to `client-1:oauth-secret-77` for the client-credentials grant only.
async fn authed_receiver() -> (Arc<Mutex<Vec<String>>>, Arc<Mutex<u32>>, String) {
    let auths = Arc::new(Mutex::new(Vec::<String>::new()));
    let grants = Arc::new(Mutex::new(0u32));
    let (a, g) = (auths.clone(), grants.clone());
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let a = a.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default();
                    a.lock().unwrap().push(auth);
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/token",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let g = g.clone();
                async move {
                    use base64::Engine as _;
                    let basic = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode("client-1:oauth-secret-77")
                    );
                    let ok = headers.get("authorization").map(|v| v.to_str().unwrap())
                        == Some(basic.as_str())
                        && body == "grant_type=client_credentials";
                    if !ok {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    let n = {
                        let mut n = g.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    (
                        StatusCode::OK,
                        json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 3600})
                            .to_string(),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (auths, grants, base)
}

async fn credential(s: &Setup, body: Value) {
    let res = s
        .http
        .post(s.url("/v1/credentials"))
        .header("x-api-key", s.secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn webhook_id(s: &Setup) -> String {
    let v: Value = s
        .http
        .get(s.url("/webhooks"))
        .basic_auth(s.secret(), Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"][0]["webhookId"].as_str().unwrap().to_string()
}

async fn use_credential(s: &Setup, hook: &str, label: Value) -> reqwest::Response {
    s.http
        .put(s.url(&format!("/sg/v1/webhooks/{hook}/credential")))
        .bearer_auth(s.secret())
        .json(&json!({ "label": label }))
        .send()
        .await
        .unwrap()
}

async fn publish_and_end(s: &Setup) {
    let st = new_stream(s).await;
    let key = st["streamKey"].as_str().unwrap();
    assert_eq!(nginx(&s.server, "publish", key).await, 200);
    assert_eq!(nginx(&s.server, "publish_done", key).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_that_need_auth_use_a_credential_by_label() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup_with(backend, lab()).await;
        let (auths, grants, base) = authed_receiver().await;
        hook(&s, &format!("{base}/hook")).await;
        let id = webhook_id(&s).await;
        credential(
            &s,
            json!({"credential_label": "hook basic", "credential_type": "http",
            "credential_public": "hookuser", "credential_private": "basic-pass-55"}),
        )
        .await;
        credential(
            &s,
            json!({"credential_label": "hook oauth", "credential_type": "oauth",
            "credential_public": "client-1", "credential_private": "oauth-secret-77",
            "credential_token_url": format!("{base}/token")}),
        )
        .await;
        credential(
            &s,
            json!({"credential_label": "encoder", "credential_type": "rtmp",
            "credential_public": "enc", "credential_private": "rtmp-pass-1"}),
        )
        .await;

        // Only http and oauth credentials of this account, and only existing webhooks.
        let res = use_credential(&s, &id, json!("encoder")).await;
        assert_eq!(res.status(), 400);
        assert!(res.text().await.unwrap().contains("http or oauth"));
        assert_eq!(use_credential(&s, &id, json!("nope")).await.status(), 400);
        assert_eq!(
            use_credential(&s, "whnope", json!("hook basic"))
                .await
                .status(),
            404
        );

        // Another account can neither name this webhook nor borrow this account's credentials;
        // bad bodies get a clear error in streamgate's format.
        let svc = s.server.svc().clone();
        let other = svc
            .create_account(&streamgate::testkit::operator(), "intruder", None)
            .await
            .unwrap();
        let intruder = common::new_key(&s.server, other.id, "intruder", |_| {}).await;
        let res = s
            .http
            .put(s.url(&format!("/sg/v1/webhooks/{id}/credential")))
            .bearer_auth(intruder.secret.expose())
            .json(&json!({ "label": "hook basic" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_found");
        for bad in [json!({"label": 5}), json!({"credential": "hook basic"})] {
            let res = s
                .http
                .put(s.url(&format!("/sg/v1/webhooks/{id}/credential")))
                .bearer_auth(s.secret())
                .json(&bad)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{bad}");
            let v: Value = res.json().await.unwrap();
            assert!(v["error"]["message"].as_str().is_some(), "{v}");
        }

        // Basic with the http credential.
        let res = use_credential(&s, &id, json!("hook basic")).await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["credentialLabel"], "hook basic");
        assert!(!v.to_string().contains("basic-pass-55"));
        publish_and_end(&s).await;
        let got = eventually(Duration::from_secs(5), || async {
            auths.lock().unwrap().len() >= 2
        })
        .await;
        assert!(got.is_some(), "deliveries did not arrive");
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("hookuser:basic-pass-55")
        );
        assert_eq!(*auths.lock().unwrap(), [basic.clone(), basic]);

        // A client-credentials token from the oauth credential's token endpoint, fetched once
        // and reused while it is valid.
        auths.lock().unwrap().clear();
        assert_eq!(
            use_credential(&s, &id, json!("hook oauth")).await.status(),
            200
        );
        publish_and_end(&s).await;
        let got = eventually(Duration::from_secs(5), || async {
            auths.lock().unwrap().len() >= 2
        })
        .await;
        assert!(got.is_some(), "deliveries did not arrive");
        assert_eq!(*auths.lock().unwrap(), ["Bearer at-1", "Bearer at-1"]);
        assert_eq!(*grants.lock().unwrap(), 1);

        // Cleared: no Authorization at all.
        auths.lock().unwrap().clear();
        assert_eq!(use_credential(&s, &id, Value::Null).await.status(), 200);
        publish_and_end(&s).await;
        let got = eventually(Duration::from_secs(5), || async {
            auths.lock().unwrap().len() >= 2
        })
        .await;
        assert!(got.is_some());
        assert_eq!(*auths.lock().unwrap(), ["", ""]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_request_is_retried_and_never_leaks_the_secret() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (auths, _grants, base) = authed_receiver().await;
    hook(&s, &format!("{base}/hook")).await;
    let id = webhook_id(&s).await;
    // The token endpoint refuses this client secret.
    credential(
        &s,
        json!({"credential_label": "bad oauth", "credential_type": "oauth",
        "credential_public": "client-1", "credential_private": "wrong-secret-99",
        "credential_token_url": format!("{base}/token")}),
    )
    .await;
    assert_eq!(
        use_credential(&s, &id, json!("bad oauth")).await.status(),
        200
    );
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let svc = s.server.store().clone();
    let account = s.account.id;
    let failed = eventually(Duration::from_secs(5), || {
        let svc = svc.clone();
        async move {
            svc.deliveries_for_account(account)
                .await
                .unwrap()
                .first()
                .is_some_and(|d| d.attempts == 1)
        }
    })
    .await;
    assert!(failed.is_some());
    let d = &svc.deliveries_for_account(account).await.unwrap()[0];
    let err = d.last_error.clone().unwrap();
    assert!(err.contains("token endpoint answered HTTP 401"), "{err}");
    assert!(!err.contains("wrong-secret-99"));
    assert!(d.failed_at.is_none(), "retried later");
    assert!(
        auths.lock().unwrap().is_empty(),
        "not delivered without auth"
    );
}

/// An endpoint that accepts each connection, reads the request and never answers (holding the
/// connection open): returns how many connections it holds, and its URL.
async fn stalling_endpoint() -> (Arc<AtomicUsize>, String) {
    let held = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let count = held.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                count.fetch_add(1, Ordering::SeqCst);
                // Hold the connection without answering until the client gives up.
                let _ = conn.read(&mut buf).await;
                count.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (held, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_accounts_stalled_endpoints_do_not_delay_another_account() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    // Account A: three endpoints that hold every delivery without answering.
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let (held, url) = stalling_endpoint().await;
        hook(&s, &url).await;
        stalled.push(held);
    }
    // Account B: one endpoint that answers at once.
    let svc = s.server.svc().clone();
    let b = svc
        .create_account(&streamgate::testkit::operator(), "bravo", None)
        .await
        .unwrap();
    let b_key = common::new_key(&s.server, b.id, "b", |_| {}).await;
    let (rx, url) = receiver().await;
    hook_as(&s, b_key.secret.expose(), &url).await;

    // A goes live first: its three deliveries are all under way, and all held.
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let all_held = eventually(Duration::from_secs(8), || async {
        stalled.iter().all(|h| h.load(Ordering::SeqCst) == 1)
    })
    .await;
    assert!(
        all_held.is_some(),
        "A's three endpoints were not attempted at once: {:?}",
        stalled
            .iter()
            .map(|h| h.load(Ordering::SeqCst))
            .collect::<Vec<_>>()
    );

    // B's event is delivered while every one of A's attempts is still held.
    let st = new_stream_as(&s, b_key.secret.expose()).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let got = eventually(Duration::from_secs(8), || async {
        !rx.got.lock().unwrap().is_empty()
    })
    .await;
    assert!(got.is_some(), "B's delivery waited for A's endpoints");
    assert!(stalled.iter().all(|h| h.load(Ordering::SeqCst) == 1));
    let store = s.server.store().clone();
    let a = store.deliveries_for_account(s.account.id).await.unwrap();
    assert_eq!(a.len(), 3);
    for d in &a {
        assert!(
            d.attempts == 0 && d.delivered_at.is_none() && d.failed_at.is_none(),
            "A's attempts were still in flight: {d:?}"
        );
    }
    // The receiver has it; the worker records it a moment later.
    let recorded = eventually(Duration::from_secs(8), || {
        let store = store.clone();
        async move {
            let b_done = store.deliveries_for_account(b.id).await.unwrap();
            b_done.first().is_some_and(|d| d.delivered_at.is_some())
        }
    })
    .await;
    assert!(
        recorded.is_some(),
        "B's delivery was not recorded as delivered"
    );
}

/// An endpoint on the IPv6 loopback.
async fn receiver_v6() -> (Receiver, String) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push((String::new(), body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
    let url = format!(
        "http://[::1]:{}/hook",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_literal_hosts_are_delivered_to() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (rx, url) = receiver_v6().await;
    hook(&s, &url).await;
    publish_and_end(&s).await;
    let got = eventually(Duration::from_secs(5), || async {
        rx.got.lock().unwrap().len() >= 2
    })
    .await;
    let deliveries = s
        .server
        .store()
        .deliveries_for_account(s.account.id)
        .await
        .unwrap();
    assert!(got.is_some(), "not delivered to [::1]: {deliveries:?}");
}

#[tokio::test]
async fn webhook_hosts_are_refused_in_every_spelling_in_api_videos_format() {
    let s = common::setup(Backend::Sqlite).await;
    for url in [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://10.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b:1::a00:1]/",
        "http://[2002:a00:1::]/",
        "http://198.18.0.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[::1]:8080/",
    ] {
        let res = s
            .http
            .post(s.url("/webhooks"))
            .basic_auth(s.secret(), Some(""))
            .json(&json!({"events": ["live-stream.broadcast.started"], "url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{url}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{url}"
        );
        let v: Value = res.json().await.unwrap();
        assert!(
            v["title"]
                .as_str()
                .unwrap_or_default()
                .contains("internal address")
                || v["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("internal address"),
            "{url}: {v}"
        );
    }
    // A public IPv6 literal passes.
    let res = s
        .http
        .post(s.url("/webhooks"))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started"], "url": "https://[2606:4700::1111]/w"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn attaching_a_credential_needs_credentials_use() {
    use streamgate::domain::Permissions;
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (_auths, _grants, base) = authed_receiver().await;
    hook(&s, &format!("{base}/hook")).await;
    let id = webhook_id(&s).await;
    credential(
        &s,
        json!({"credential_label": "hook basic", "credential_type": "http",
        "credential_public": "hookuser", "credential_private": "basic-pass-55"}),
    )
    .await;
    let attach = |secret: String| {
        let (http, url) = (
            s.http.clone(),
            s.url(&format!("/sg/v1/webhooks/{id}/credential")),
        );
        async move {
            http.put(url)
                .bearer_auth(secret)
                .json(&json!({"label": "hook basic"}))
                .send()
                .await
                .unwrap()
        }
    };
    let hooks_only = s
        .new_key("hooks only", |r| {
            r.policy.permissions = Some(Permissions::parse(&["webhooks:*"]).unwrap())
        })
        .await;
    let (code, _) = common::sg_error(attach(hooks_only.secret.expose().into()).await, 403).await;
    assert_eq!(code, "forbidden");
    let may_use = s
        .new_key("hooks and use", |r| {
            r.policy.permissions =
                Some(Permissions::parse(&["webhooks:*", "credentials:use"]).unwrap())
        })
        .await;
    assert_eq!(attach(may_use.secret.expose().into()).await.status(), 200);
}

fn detail(e: &streamgate::domain::AuditEvent) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_use_of_a_stored_secret_is_audited_with_its_destination() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup_with(backend, lab()).await;
        let (auths, grants, base) = authed_receiver().await;
        hook(&s, &format!("{base}/hook")).await;
        let id = webhook_id(&s).await;
        let host = base
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .to_string();
        credential(
            &s,
            json!({"credential_label": "hook basic", "credential_type": "http",
            "credential_public": "hookuser", "credential_private": "basic-pass-55"}),
        )
        .await;
        credential(
            &s,
            json!({"credential_label": "hook oauth", "credential_type": "oauth",
            "credential_public": "client-1", "credential_private": "oauth-secret-77",
            "credential_token_url": format!("{base}/token")}),
        )
        .await;
        let audit = |s: &Setup| {
            let store = s.server.store().clone();
            let account = s.account.id;
            async move {
                store
                    .query_audit(Some(account), None, 0, 1000)
                    .await
                    .unwrap()
            }
        };

        // Attaching names the destination host.
        assert_eq!(
            use_credential(&s, &id, json!("hook basic")).await.status(),
            200
        );
        let attached: Vec<_> = audit(&s)
            .await
            .into_iter()
            .filter(|e| e.action == "webhook.credential")
            .collect();
        assert_eq!(attached.len(), 1, "{attached:?}");
        assert_eq!(detail(&attached[0])["label"], "hook basic");
        assert_eq!(detail(&attached[0])["host"], host.as_str());

        // Two deliveries send the password: the first use is a row at once, the second is
        // counted and written once the minute is over.
        publish_and_end(&s).await;
        let got = eventually(Duration::from_secs(5), || async {
            auths.lock().unwrap().len() >= 2
        })
        .await;
        assert!(got.is_some());
        let uses = |events: &[streamgate::domain::AuditEvent], sent_as: &str| -> u64 {
            events
                .iter()
                .filter(|e| e.action == "credential.use" && detail(e)["sentAs"] == sent_as)
                .map(|e| {
                    let d = detail(e);
                    assert_eq!(d["host"], host.as_str(), "{e:?}");
                    d["uses"].as_u64().unwrap()
                })
                .sum()
        };
        let now = audit(&s).await;
        let basic: Vec<_> = now
            .iter()
            .filter(|e| e.action == "credential.use")
            .collect();
        assert_eq!(basic.len(), 1, "one row for the window: {basic:?}");
        assert_eq!(detail(basic[0])["label"], "hook basic");
        assert_eq!(uses(&now, "basic"), 1);
        s.server.clock.advance_ms(61_000);
        let flushed = eventually(Duration::from_secs(5), || async {
            uses(&audit(&s).await, "basic") == 2
        })
        .await;
        assert!(flushed.is_some(), "the counted use was not written");

        // The oauth client secret goes to the token endpoint: audited with that host, once per
        // token fetched.
        assert_eq!(
            use_credential(&s, &id, json!("hook oauth")).await.status(),
            200
        );
        publish_and_end(&s).await;
        let got = eventually(Duration::from_secs(5), || async {
            auths.lock().unwrap().len() >= 4
        })
        .await;
        assert!(got.is_some());
        assert_eq!(*grants.lock().unwrap(), 1);
        let all = audit(&s).await;
        assert_eq!(uses(&all, "token_request"), 1);
        let token_rows: Vec<_> = all
            .iter()
            .filter(|e| e.action == "credential.use" && detail(e)["sentAs"] == "token_request")
            .collect();
        assert_eq!(detail(token_rows[0])["label"], "hook oauth");

        // No secret anywhere in the log.
        let text = format!("{all:?}");
        for secret in ["basic-pass-55", "oauth-secret-77"] {
            assert!(!text.contains(secret), "{secret} in the audit log");
        }
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode("hookuser:basic-pass-55");
        assert!(!text.contains(&basic));
    }
}

/// The same secret re-aimed another way: moving a webhook that authenticates with a stored
/// credential to another URL sends the secret there, so it needs `credentials:use` as attaching
/// did; a change that keeps the URL does not.
#[tokio::test(flavor = "multi_thread")]
async fn moving_a_webhook_with_a_credential_needs_credentials_use() {
    use streamgate::domain::Permissions;
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (auths, _grants, base) = authed_receiver().await;
    let created: Value = s
        .http
        .post(s.url("/api/webhook"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "h", "events": ["stream.started"], "url": format!("{base}/hook")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    credential(
        &s,
        json!({"credential_label": "hook basic", "credential_type": "http",
        "credential_public": "hookuser", "credential_private": "basic-pass-56"}),
    )
    .await;
    assert_eq!(
        use_credential(&s, &id, json!("hook basic")).await.status(),
        200
    );
    let put = |secret: String, url: String| {
        let (http, path) = (s.http.clone(), s.url(&format!("/api/webhook/{id}")));
        async move {
            http.put(path)
                .bearer_auth(secret)
                .json(&json!({"name": "h2", "events": ["stream.started"], "url": url}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let hooks_only = s
        .new_key("hooks only", |r| {
            r.policy.permissions = Some(Permissions::parse(&["webhooks:*", "streams:*"]).unwrap())
        })
        .await;
    let elsewhere = format!("{base}/elsewhere");
    assert_eq!(
        put(hooks_only.secret.expose().into(), elsewhere.clone()).await,
        403,
        "a key without credentials:use re-aimed the stored secret"
    );
    // Renaming it where it is stays a plain update.
    assert_eq!(
        put(hooks_only.secret.expose().into(), format!("{base}/hook")).await,
        200
    );
    // Nothing went to the new URL: a publish still reaches only the old one.
    let st = new_stream(&s).await;
    assert_eq!(
        nginx(&s.server, "publish", st["streamKey"].as_str().unwrap()).await,
        200
    );
    let got = eventually(Duration::from_secs(10), || async {
        !auths.lock().unwrap().is_empty()
    })
    .await;
    assert!(
        got.is_some(),
        "the webhook was not delivered where it points"
    );
    let may_use = s
        .new_key("hooks and use", |r| {
            r.policy.permissions =
                Some(Permissions::parse(&["webhooks:*", "credentials:use"]).unwrap())
        })
        .await;
    assert_eq!(put(may_use.secret.expose().into(), elsewhere).await, 200);
    let audit = s
        .server
        .store()
        .query_audit(None, None, 0, 1000)
        .await
        .unwrap();
    let moved = audit
        .iter()
        .find(|e| e.action == "webhook.update" && detail(e)["credentialHost"] != Value::Null)
        .expect("the move is audited with where the secret goes now");
    assert_eq!(detail(moved)["credentialHost"], "127.0.0.1");
    assert!(!format!("{audit:?}").contains("basic-pass-56"));
}
