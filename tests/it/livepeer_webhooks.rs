//! Livepeer's webhooks at `/api/webhook`: CRUD in Livepeer's shapes and statuses, scoped to the
//! key's account and environment and to Livepeer's flavor (api.video's `/webhooks` and these do
//! not see each other), refusals in Livepeer's error shape, a write-only `sharedSecret`, and
//! deliveries signed `Livepeer-Signature: t=<ms>,v1=<hex HMAC-SHA256 of the body>` as Studio
//! signs them.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{json, Value};
use streamgate::clock::Clock;
use streamgate::domain::webhook::Flavor;
use streamgate::domain::Environment;
use streamgate::service::deliveries::{signature, LIVEPEER_SIGNATURE_HEADER as SIGNATURE_HEADER};
use streamgate::store::Scope;
use streamgate::testkit::{Backend, LogCapture};

use crate::common::{eventually, lab, setup, setup_with, Setup};

const SDK: &str = "speakeasy-sdk/typescript 3.5.0 2.460.1 1.0.0 livepeer";

async fn call(
    s: &Setup,
    secret: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    user_agent: Option<&str>,
) -> reqwest::Response {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(secret);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(ua) = user_agent {
        req = req.header("user-agent", ua);
    }
    req.send().await.unwrap()
}

/// A refusal in Livepeer's shape: `{"errors": ["…"]}`; its message.
async fn refused(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    let v: Value = res.json().await.unwrap();
    let errors = v["errors"].as_array().expect("{errors: […]}");
    assert_eq!(errors.len(), 1, "{v}");
    errors[0].as_str().unwrap().to_string()
}

async fn crud_and_scopes(backend: Backend) {
    let logs = LogCapture::install();
    let s = setup(backend).await;
    let key = s.secret().to_string();
    let stream: Value = call(
        &s,
        &key,
        Method::POST,
        "/api/stream",
        Some(json!({"name": "cam"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let stream_id = stream["id"].as_str().unwrap().to_string();

    // Create: 201 as Studio, with the generated secret shown once.
    let res = call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(json!({"name": "hooks", "url": "https://hooks.example.com/lp", "events": ["stream.started", "stream.idle"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    let made: Value = res.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    uuid::Uuid::parse_str(&id).expect("a UUID id");
    assert_eq!(made["name"], "hooks");
    assert_eq!(made["kind"], "webhook");
    assert_eq!(made["userId"], s.account.id.to_string());
    assert!(made["createdAt"].as_i64().unwrap() > 0, "ms");
    assert_eq!(made["events"], json!(["stream.started", "stream.idle"]));
    assert_eq!(made["url"], "https://hooks.example.com/lp");
    assert!(made.get("streamId").is_none(), "absent, not null");
    let generated = made["sharedSecret"].as_str().unwrap().to_string();
    assert!(generated.len() >= 32);

    // The generated SDKs read a create only from a 200; a secret of the caller's own is kept.
    let res = call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(json!({"name": "mine", "url": "https://hooks.example.com/mine", "events": ["asset.ready"],
            "sharedSecret": "my-own-secret-42", "streamId": stream_id, "projectId": "ignored"})),
        Some(SDK),
    )
    .await;
    assert_eq!(res.status(), 200);
    let mine: Value = res.json().await.unwrap();
    assert_eq!(mine["sharedSecret"], "my-own-secret-42");
    assert_eq!(mine["streamId"], stream_id.as_str());
    let mine_id = mine["id"].as_str().unwrap().to_string();

    // api.video's webhooks are another flavor: neither dialect sees the other's.
    let av: Value = s
        .http
        .post(s.url("/webhooks"))
        .basic_auth(&key, Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started"], "url": "https://hooks.example.com/av"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let av_id = streamgate::domain::public_ids::decode("wh", av["webhookId"].as_str().unwrap())
        .unwrap()
        .to_string();

    let mut shown = String::new();
    let res = call(&s, &key, Method::GET, "/api/webhook", None, None).await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    shown.push_str(&list.to_string());
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [id.as_str(), mine_id.as_str()],
        "the caller's Livepeer webhooks, oldest first"
    );
    let got: Value = call(
        &s,
        &key,
        Method::GET,
        &format!("/api/webhook/{id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    shown.push_str(&got.to_string());
    let mut expected = made.clone();
    expected.as_object_mut().unwrap().remove("sharedSecret");
    assert_eq!(got, expected);
    refused(
        call(
            &s,
            &key,
            Method::GET,
            &format!("/api/webhook/{av_id}"),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    let av_list: Value = s
        .http
        .get(s.url("/webhooks"))
        .basic_auth(&key, Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(av_list["data"].as_array().unwrap().len(), 1, "{av_list}");
    let lp_as_av =
        streamgate::domain::public_ids::encode("wh", uuid::Uuid::parse_str(&id).unwrap());
    let res = s
        .http
        .get(s.url(&format!("/webhooks/{lp_as_av}")))
        .basic_auth(&key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // A page at a time, the next one in `Link`.
    let res = call(&s, &key, Method::GET, "/api/webhook?limit=1", None, None).await;
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("limit=1&cursor=skip1") && link.ends_with("rel=\"next\""),
        "{link}"
    );
    let first: Value = res.json().await.unwrap();
    assert_eq!(first[0]["id"], id.as_str());
    let res = call(
        &s,
        &key,
        Method::GET,
        "/api/webhook?limit=1&cursor=skip1",
        None,
        None,
    )
    .await;
    assert!(res.headers().get("link").is_none(), "the last page");
    let second: Value = res.json().await.unwrap();
    assert_eq!(second[0]["id"], mine_id.as_str());
    refused(
        call(
            &s,
            &key,
            Method::GET,
            "/api/webhook?cursor=bogus",
            None,
            None,
        )
        .await,
        400,
    )
    .await;

    // PUT replaces it whole and answers it (200); without sharedSecret the secret stays.
    let res = call(
        &s,
        &key,
        Method::PUT,
        &format!("/api/webhook/{id}"),
        Some(json!({"name": "renamed", "url": "https://hooks.example.com/lp2", "events": ["stream.idle"], "streamId": stream_id})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let put: Value = res.json().await.unwrap();
    shown.push_str(&put.to_string());
    assert_eq!(put["name"], "renamed");
    assert_eq!(put["url"], "https://hooks.example.com/lp2");
    assert_eq!(put["events"], json!(["stream.idle"]));
    assert_eq!(put["streamId"], stream_id.as_str());
    assert_eq!(put["createdAt"], made["createdAt"]);
    let actor = s.server.svc().authenticate(&key, None).await.unwrap();
    let secret_of = |id: &str| {
        let actor = actor.clone();
        let svc = s.server.svc().clone();
        let id = uuid::Uuid::parse_str(id).unwrap();
        async move {
            let w = svc.get_webhook(&actor, Flavor::Livepeer, id).await.unwrap();
            assert!(!w.secret_sealed.contains("my-own-secret"), "sealed at rest");
            svc.webhook_secret(&w).unwrap().expose().to_string()
        }
    };
    assert_eq!(secret_of(&id).await, generated);
    assert_eq!(secret_of(&mine_id).await, "my-own-secret-42");
    let res = call(
        &s,
        &key,
        Method::PUT,
        &format!("/api/webhook/{id}"),
        Some(json!({"name": "renamed", "url": "https://hooks.example.com/lp2", "events": [], "sharedSecret": "rotated-secret"})),
        Some(SDK),
    )
    .await;
    assert_eq!(res.status(), 200);
    let put: Value = res.json().await.unwrap();
    assert!(
        put.get("sharedSecret").is_none() && put.get("streamId").is_none(),
        "{put}"
    );
    assert_eq!(secret_of(&id).await, "rotated-secret");

    // Another account's or environment's key finds nothing, and lists only its own.
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let other_key = common::new_key(&s.server, other.id, "o", |_| {}).await;
    let sandbox = s
        .new_key("sandbox", |r| r.environment = Environment::Sandbox)
        .await;
    for stranger in [other_key.secret.expose(), sandbox.secret.expose()] {
        let path = format!("/api/webhook/{id}");
        refused(
            call(&s, stranger, Method::GET, &path, None, None).await,
            404,
        )
        .await;
        refused(
            call(
                &s,
                stranger,
                Method::PUT,
                &path,
                Some(json!({"name": "x", "url": "https://x.example/", "events": []})),
                None,
            )
            .await,
            404,
        )
        .await;
        refused(
            call(&s, stranger, Method::DELETE, &path, None, None).await,
            404,
        )
        .await;
        let theirs: Value = call(&s, stranger, Method::GET, "/api/webhook", None, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(theirs, json!([]));
    }
    // …nor can it aim one at another account's stream.
    let msg = refused(
        call(&s, other_key.secret.expose(), Method::POST, "/api/webhook",
            Some(json!({"name": "x", "url": "https://x.example/", "events": ["stream.started"], "streamId": stream_id})), None).await,
        400,
    )
    .await;
    assert!(msg.contains("streamId"), "{msg}");

    // Refusals, in Livepeer's shape, and nothing written.
    let ok =
        || json!({"name": "v", "url": "https://hooks.example.com/v", "events": ["stream.started"]});
    let with = |k: &str, v: Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, says) in [
        (without("name"), "name"),
        (without("url"), "url"),
        (without("events"), "events"),
        (with("name", json!("")), "name"),
        (with("name", json!("n".repeat(201))), "name"),
        (with("url", json!("ftp://hooks.example.com/")), "url"),
        (with("url", json!("http://127.0.0.1/hook")), "internal"),
        (
            with(
                "url",
                json!(format!("https://hooks.example.com/{}", "a".repeat(2100))),
            ),
            "url",
        ),
        (
            with("events", json!(["live-stream.broadcast.started"])),
            "unknown event",
        ),
        (with("events", json!(vec!["stream.started"; 21])), "at most"),
        (with("sharedSecret", json!("s".repeat(257))), "sharedSecret"),
        (with("sharedSecret", json!("")), "sharedSecret"),
        (with("streamId", json!("not-a-uuid")), "streamId"),
        (
            with("streamId", json!(uuid::Uuid::now_v7().to_string())),
            "streamId",
        ),
        (with("bogus", json!(1)), "bogus"),
        (with("events", json!("stream.started")), "invalid JSON body"),
    ] {
        let msg = refused(
            call(
                &s,
                &key,
                Method::POST,
                "/api/webhook",
                Some(body.clone()),
                None,
            )
            .await,
            400,
        )
        .await;
        assert!(msg.contains(says), "{body}: {msg}");
        let msg = refused(
            call(
                &s,
                &key,
                Method::PUT,
                &format!("/api/webhook/{mine_id}"),
                Some(body.clone()),
                None,
            )
            .await,
            400,
        )
        .await;
        assert!(msg.contains(says), "PUT {body}: {msg}");
    }
    refused(
        call(&s, &key, Method::GET, "/api/webhook/not-a-uuid", None, None).await,
        404,
    )
    .await;
    let still: Value = call(&s, &key, Method::GET, "/api/webhook", None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        still.as_array().unwrap().len(),
        2,
        "a refused write left something behind"
    );
    let unchanged: Value = call(
        &s,
        &key,
        Method::GET,
        &format!("/api/webhook/{mine_id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(unchanged["name"], "mine");
    shown.push_str(&unchanged.to_string());

    // The secret is shown at creation only, and never logged.
    for secret in [&generated, "my-own-secret-42", "rotated-secret"] {
        assert!(!shown.contains(secret), "{secret} shown after its creation");
        assert!(!logs.contents().contains(secret), "{secret} logged");
    }

    // Delete: 204 as Studio; 200 with the webhook to the generated SDKs.
    let res = call(
        &s,
        &key,
        Method::DELETE,
        &format!("/api/webhook/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
    refused(
        call(
            &s,
            &key,
            Method::GET,
            &format!("/api/webhook/{id}"),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    refused(
        call(
            &s,
            &key,
            Method::DELETE,
            &format!("/api/webhook/{id}"),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    let res = call(
        &s,
        &key,
        Method::DELETE,
        &format!("/api/webhook/{mine_id}"),
        None,
        Some(SDK),
    )
    .await;
    assert_eq!(res.status(), 200);
    let gone: Value = res.json().await.unwrap();
    assert_eq!(gone["id"], mine_id.as_str());
    assert!(gone.get("sharedSecret").is_none());
    // api.video's webhook is still there.
    let res = s
        .http
        .get(s.url(&format!("/webhooks/{}", av["webhookId"].as_str().unwrap())))
        .basic_auth(&key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn livepeer_webhook_crud_and_scopes_on_sqlite() {
    crud_and_scopes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn livepeer_webhook_crud_and_scopes_on_postgres() {
    crud_and_scopes(Backend::Postgres).await;
}

/// One request a receiver got: the path, the `Livepeer-Signature` and api.video's signature
/// headers, and the body.
type Got = (String, String, Option<String>, String);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    fail_next: Arc<Mutex<u32>>,
}

impl Receiver {
    fn at(&self, path: &str) -> Vec<(String, Option<String>, Value, String)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, lp, av, body)| {
                (
                    lp.clone(),
                    av.clone(),
                    serde_json::from_str(body).unwrap(),
                    body.clone(),
                )
            })
            .collect()
    }
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/{path}",
        axum::routing::post(
            move |axum::extract::Path(path): axum::extract::Path<String>,
                  headers: HeaderMap,
                  body: String| {
                let state = state.clone();
                async move {
                    {
                        let mut fail = state.fail_next.lock().unwrap();
                        if *fail > 0 {
                            *fail -= 1;
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                    }
                    let header =
                        |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
                    state.got.lock().unwrap().push((
                        path,
                        header(SIGNATURE_HEADER).unwrap_or_default(),
                        header("x-api-video-signature"),
                        body,
                    ));
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, base)
}

/// `t` and `v1` of a `Livepeer-Signature`, after checking `v1` is the body's HMAC with `secret`
/// and `t` the body's `timestamp`, as a receiver following Livepeer's docs checks it.
fn verify(header: &str, secret: &str, raw: &str) -> (i64, String) {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => panic!("unexpected element {part:?} in {header:?}"),
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    assert_eq!(
        v1,
        signature(secret, raw),
        "v1 is HMAC-SHA256(secret, raw body)"
    );
    let body: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        body["timestamp"], t,
        "the body carries the signature's timestamp"
    );
    (t, v1)
}

async fn nginx(s: &Setup, call: &str, key: &str) {
    let res = s
        .http
        .post(
            s.server
                .ingest_url(&format!("/ingest/nginx-rtmp/{call}"))
                .await,
        )
        .form(&[("app", "live"), ("name", key), ("addr", "10.0.0.1")])
        .send()
        .await
        .unwrap();
    assert_eq!(common::hook_status(&res), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn livepeer_webhook_deliveries_are_signed_as_livepeer_signs() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let key = s.secret().to_string();
    let (rx, base) = receiver().await;
    let new_stream = |name: &'static str| {
        let (s, key) = (&s, key.clone());
        async move {
            call(
                s,
                &key,
                Method::POST,
                "/api/stream",
                Some(json!({"name": name})),
                None,
            )
            .await
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    let (cam, other) = (new_stream("cam").await, new_stream("other").await);
    let hook = |path: &str, extra: Value| {
        let mut b = json!({"name": path, "url": format!("{base}/{path}"), "events": ["stream.started", "stream.idle"]});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let all: Value = call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(hook("all", json!({"sharedSecret": "lp-secret"}))),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(hook("other-only", json!({"streamId": other["id"]}))),
        None,
    )
    .await;
    call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(hook(
            "cam-only",
            json!({"streamId": cam["id"], "events": ["stream.idle"]}),
        )),
        None,
    )
    .await;
    let av_secret = s
        .http
        .post(s.url("/webhooks"))
        .basic_auth(&key, Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started"], "url": format!("{base}/av")}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["signatureSecret"]
        .as_str()
        .unwrap()
        .to_string();

    let stream_key = cam["streamKey"].as_str().unwrap().to_string();
    nginx(&s, "publish", &stream_key).await;
    nginx(&s, "publish-done", &stream_key).await;
    let arrived = eventually(Duration::from_secs(10), || async {
        rx.at("all").len() >= 2 && !rx.at("cam-only").is_empty() && !rx.at("av").is_empty()
    })
    .await;
    assert!(
        arrived.is_some(),
        "deliveries did not arrive: {:?}",
        rx.got.lock().unwrap()
    );
    // Give anything that should not come a moment to come anyway.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        rx.at("other-only").is_empty(),
        "another stream's webhook got cam's events"
    );

    let got = rx.at("all");
    assert_eq!(got.len(), 2);
    let mut events = Vec::new();
    for (sig, av_sig, body, raw) in &got {
        assert!(
            av_sig.is_none(),
            "no api.video signature on a Livepeer delivery"
        );
        verify(sig, "lp-secret", raw);
        let event = body["event"].as_str().unwrap().to_string();
        assert_eq!(body["webhookId"], all["id"]);
        uuid::Uuid::parse_str(body["id"].as_str().unwrap()).expect("an event id");
        assert!(body["createdAt"].as_i64().unwrap() <= body["timestamp"].as_i64().unwrap());
        assert!(
            body.get("payload").is_none(),
            "stream events carry no payload, as Studio's"
        );
        let st = &body["stream"];
        assert_eq!(st["id"], cam["id"]);
        assert_eq!(st["name"], "cam");
        assert_eq!(st["playbackId"], cam["playbackId"]);
        assert_eq!(st["kind"], "stream");
        assert_eq!(st["isActive"], event == "stream.started");
        assert!(st.get("streamKey").is_none());
        assert!(
            !raw.contains(&stream_key),
            "the stream key is not in the event"
        );
        events.push(event);
    }
    events.sort();
    assert_eq!(events, ["stream.idle", "stream.started"]);
    let cam_only = rx.at("cam-only");
    assert_eq!(cam_only.len(), 1);
    assert_eq!(cam_only[0].2["event"], "stream.idle");
    // api.video's webhook got api.video's event, signed api.video's way, and nothing else.
    let av = rx.at("av");
    assert_eq!(av.len(), 1);
    assert_eq!(av[0].2["type"], "live-stream.broadcast.started");
    assert_eq!(
        av[0].1.as_deref(),
        Some(signature(&av_secret, &av[0].3).as_str())
    );
    assert!(
        av[0].0.is_empty(),
        "no Livepeer signature on an api.video delivery"
    );

    // Any event with a payload, queued by the service (as the asset and recording code will).
    let scope = Scope {
        account_id: s.account.id,
        environment: Environment::Production,
    };
    let svc = s.server.svc();
    let asset_hook: Value = call(&s, &key, Method::POST, "/api/webhook",
        Some(json!({"name": "assets", "url": format!("{base}/assets"), "events": ["asset.ready", "recording.ready"], "sharedSecret": "asset-secret"})), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(svc
        .livepeer_event_deliveries(scope, "no.such.event", None, json!({}))
        .await
        .is_err());
    assert_eq!(
        svc.queue_livepeer_event(
            scope,
            "asset.ready",
            None,
            json!({"asset": {"id": "a1", "status": {"phase": "ready"}}})
        )
        .await
        .unwrap(),
        1
    );
    let cam_id = uuid::Uuid::parse_str(cam["id"].as_str().unwrap()).unwrap();
    // The service answers with rows for the caller's own transaction; none for a stream-less
    // subscriber that is not subscribed.
    let rows = svc
        .livepeer_event_deliveries(
            scope,
            "recording.ready",
            Some(cam_id),
            json!({"session": {"id": "s1"}}),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    s.server.store().queue_deliveries(&rows).await.unwrap();
    assert_eq!(
        svc.queue_livepeer_event(scope, "task.failed", None, json!({}))
            .await
            .unwrap(),
        0,
        "nobody subscribed"
    );
    let arrived = eventually(Duration::from_secs(10), || async {
        rx.at("assets").len() >= 2
    })
    .await;
    assert!(arrived.is_some(), "the asset events did not arrive");
    for (sig, _, body, raw) in rx.at("assets") {
        verify(&sig, "asset-secret", &raw);
        assert_eq!(body["webhookId"], asset_hook["id"]);
        match body["event"].as_str().unwrap() {
            "asset.ready" => {
                assert_eq!(body["payload"]["asset"]["id"], "a1");
                assert!(body.get("stream").is_none(), "no stream named");
            }
            "recording.ready" => {
                assert_eq!(body["payload"]["session"]["id"], "s1");
                assert_eq!(body["stream"]["id"], cam["id"]);
                assert!(!raw.contains(&stream_key));
            }
            other => panic!("unexpected event {other}"),
        }
    }

    // A retry is stamped (and signed) anew, so a receiver's replay window holds for it too.
    *rx.fail_next.lock().unwrap() = 1;
    let queued_at = s.server.clock.now_ms();
    svc.queue_livepeer_event(scope, "asset.ready", None, json!({"asset": {"id": "a2"}}))
        .await
        .unwrap();
    let failed_once = eventually(Duration::from_secs(5), || async {
        s.server
            .store()
            .deliveries_for_account(s.account.id)
            .await
            .unwrap()
            .iter()
            .any(|d| d.body.contains("\"a2\"") && d.attempts == 1 && d.delivered_at.is_none())
    })
    .await;
    assert!(failed_once.is_some(), "the first attempt did not fail");
    s.server.clock.advance_ms(5_000);
    let arrived = eventually(Duration::from_secs(10), || async {
        rx.at("assets").len() >= 3
    })
    .await;
    assert!(arrived.is_some(), "the retry did not arrive");
    let retry = rx
        .at("assets")
        .into_iter()
        .find(|(_, _, b, _)| b["payload"]["asset"]["id"] == "a2")
        .unwrap();
    let (t, _) = verify(&retry.0, "asset-secret", &retry.3);
    assert_eq!(retry.2["createdAt"], queued_at);
    assert!(
        t >= queued_at + 5_000,
        "stamped at the retry: t={t}, queued at {queued_at}"
    );
}

/// A Livepeer webhook named by a stream's playback policy is asked as Studio asks it: signed
/// `Livepeer-Signature`, its `t` the body's `timestamp`.
#[tokio::test(flavor = "multi_thread")]
async fn a_playback_policy_asks_a_livepeer_webhook_signed_as_livepeer_signs() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let key = s.secret().to_string();
    let (rx, base) = receiver().await;
    let hook: Value = call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(json!({"name": "gate", "url": format!("{base}/gate"),
            "events": ["playback.accessControl"], "sharedSecret": "gate-secret"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let res = call(
        &s,
        &key,
        Method::POST,
        "/api/stream",
        Some(
            json!({"name": "gated", "playbackPolicy": {"type": "webhook",
            "webhookId": hook["id"], "webhookContext": {"tier": "gold"}}}),
        ),
        None,
    )
    .await;
    assert_eq!(res.status(), 201);
    let st: Value = res.json().await.unwrap();
    let pb = st["playbackId"].as_str().unwrap();
    let res = s
        .http
        .get(s.server.ingest_url("/ingest/nginx/auth-request").await)
        .header(
            "x-original-uri",
            format!("/hls/{pb}/index.m3u8?accessKey=letmein"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the webhook answered 200");
    let asked = rx.at("gate");
    assert_eq!(asked.len(), 1);
    let (sig, av_sig, body, raw) = &asked[0];
    assert!(av_sig.is_none(), "no api.video signature");
    verify(sig, "gate-secret", raw);
    assert_eq!(body["accessKey"], "letmein");
    assert_eq!(body["context"], json!({"tier": "gold"}));
    assert_eq!(body["playbackId"], pb);
}

/// A direct upload announces its asset to the account's Livepeer webhooks: `asset.created` when
/// the upload URL is handed out, `asset.ready` once the file is in, signed as Livepeer signs.
#[tokio::test(flavor = "multi_thread")]
async fn asset_events_reach_livepeer_webhooks() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let key = s.secret().to_string();
    let (rx, base) = receiver().await;
    call(
        &s,
        &key,
        Method::POST,
        "/api/webhook",
        Some(json!({"name": "assets", "url": format!("{base}/assets"), "sharedSecret": "asset-secret",
            "events": ["asset.created", "asset.ready"]})),
        None,
    )
    .await;
    let up: Value = call(
        &s,
        &key,
        Method::POST,
        "/api/asset/request-upload",
        Some(json!({"name": "clip"})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let res = s
        .http
        .put(up["url"].as_str().unwrap())
        .body(vec![7u8; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let arrived = eventually(Duration::from_secs(10), || async {
        rx.at("assets").len() >= 2
    })
    .await;
    assert!(arrived.is_some(), "asset events did not arrive");
    let got = rx.at("assets");
    let events: Vec<&str> = got
        .iter()
        .map(|(_, _, v, _)| v["event"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"asset.created") && events.contains(&"asset.ready"),
        "{events:?}"
    );
    for (sig, _, body, raw) in &got {
        verify(sig, "asset-secret", raw);
        assert_eq!(body["payload"]["asset"]["id"], up["asset"]["id"]);
    }
    let ready = got
        .iter()
        .find(|(_, _, v, _)| v["event"] == "asset.ready")
        .unwrap();
    assert_eq!(ready.2["payload"]["asset"]["status"]["phase"], "ready");
}
