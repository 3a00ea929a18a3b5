//! Playback access control in process: Livepeer signing keys, the read decision behind every
//! media server's play hook and nginx's `auth_request` (public, jwt, webhook, allowedOrigins,
//! api.video private streams), playback info, nginx-rtmp's rename of a publish to its playback
//! id, and the throttle on refused credentials. tests/it/playback_e2e.rs runs the same decisions
//! behind a real nginx with ffmpeg; tests/it/cluster.rs carries them across instances.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::common::{self, new_key, setup, setup_with, Setup};
use streamgate::testkit::Backend;

/// A Livepeer call with the setup's key: status and JSON body (Null when none).
async fn lp(s: &Setup, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    lp_as(s, s.secret(), method, path, body).await
}

async fn lp_as(
    s: &Setup,
    secret: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method.parse().unwrap(), s.url(path))
        .bearer_auth(secret);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What nginx's `auth_request` asks for a viewer fetching `uri`, with extra headers.
async fn read_with(s: &Setup, uri: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = s
        .http
        .get(s.server.ingest_url("/ingest/nginx/auth-request").await)
        .header("x-original-uri", uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn read(s: &Setup, uri: &str) -> u16 {
    let (status, body) = read_with(s, uri, &[]).await;
    assert!(body.is_empty(), "auth-request answered with a body: {body}");
    status
}

async fn stream(s: &Setup, body: Value) -> Value {
    let (status, st) = lp(s, "POST", "/api/stream", Some(body)).await;
    assert_eq!(status, 201, "{st}");
    st
}

async fn signing_key(s: &Setup, secret: &str) -> Value {
    let (status, k) = lp_as(
        s,
        secret,
        "POST",
        "/api/access-control/signing-key",
        Some(json!({"name": "k"})),
    )
    .await;
    assert_eq!(status, 201, "{k}");
    k
}

/// A JSON hook (SRS, MediaMTX) as the media server calls it: status and body.
async fn hook_json(s: &Setup, path: &str, body: Value) -> (u16, String) {
    let res = s
        .http
        .post(s.server.ingest_url(path).await)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// An nginx-rtmp hook: its form, as nginx-rtmp posts it.
async fn hook_form(s: &Setup, path: &str, form: String) -> reqwest::Response {
    s.http
        .post(s.server.ingest_url(path).await)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

fn now(s: &Setup) -> i64 {
    s.server.clock.now_ms_for_tests() / 1000
}

fn jwt(key: &Value, claims: Value) -> String {
    streamgate::crypto::playback_jwt::sign(key["privateKey"].as_str().unwrap(), &claims).unwrap()
}

/// A valid playback JWT for `pb` signed by `key`, valid for an hour.
fn valid_jwt(s: &Setup, key: &Value, pb: &str) -> String {
    jwt(
        key,
        json!({"sub": pb, "action": "pull", "pub": key["publicKey"], "iat": now(s), "exp": now(s) + 3600}),
    )
}

fn hls(pb: &str, query: &str) -> String {
    format!("/hls/{pb}/index.m3u8{query}")
}

/// Every byte of the SQLite database and its WAL.
fn sqlite_bytes(s: &Setup) -> Vec<u8> {
    let path = s.server.db.url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap().to_string();
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    raw
}

fn holds(bytes: &[u8], secret: &str) -> bool {
    bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
}

#[tokio::test]
async fn signing_keys_are_made_once_and_only_their_public_half_is_kept() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let made = signing_key(&s, s.secret()).await;
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!(made["name"], "k");
        assert_eq!(made["disabled"], false);
        assert_eq!(made["userId"], s.account.id.to_string());
        assert!(made["createdAt"].is_number());
        let private = made["privateKey"].as_str().unwrap().to_string();
        assert!(!private.is_empty() && made["publicKey"].as_str().unwrap().len() > 100);

        // The create body is optional: the Livepeer SDKs send none, and read only a 200.
        let res = s
            .http
            .post(s.url("/api/access-control/signing-key"))
            .bearer_auth(s.secret())
            .header(
                "user-agent",
                "speakeasy-sdk/typescript 3.5.0 2.x 1.0.0 livepeer",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let second: Value = res.json().await.unwrap();
        assert_eq!(second["name"], "Signing Key 2");
        let res = s
            .http
            .post(s.url("/api/access-control/signing-key"))
            .bearer_auth(s.secret())
            .header("content-type", "application/octet-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let third: Value = res.json().await.unwrap();
        let res = s
            .http
            .post(s.url("/api/access-control/signing-key"))
            .bearer_auth(s.secret())
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let err: Value = res.json().await.unwrap();
        assert!(err["errors"][0].is_string(), "{err}");
        let (status, err) = lp(
            &s,
            "POST",
            "/api/access-control/signing-key",
            Some(json!({"name": "x".repeat(201)})),
        )
        .await;
        assert_eq!(status, 400, "{err}");

        // Listed and read without the private half.
        let (status, list) = lp(&s, "GET", "/api/access-control/signing-key", None).await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 3);
        assert!(list
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("privateKey").is_none() && k["publicKey"].is_string()));
        let path = format!("/api/access-control/signing-key/{id}");
        let (status, got) = lp(&s, "GET", &path, None).await;
        assert_eq!(status, 200);
        assert!(got.get("privateKey").is_none());
        assert_eq!(got["publicKey"], made["publicKey"]);

        // Renamed and disabled; other accounts see none of it.
        let (status, _) = lp(&s, "PATCH", &path, Some(json!({"name": "renamed"}))).await;
        assert_eq!(status, 204);
        let (status, _) = lp(&s, "PATCH", &path, Some(json!({"disabled": true}))).await;
        assert_eq!(status, 204);
        let (_, got) = lp(&s, "GET", &path, None).await;
        assert_eq!(
            (got["name"].as_str(), got["disabled"].as_bool()),
            (Some("renamed"), Some(true))
        );
        let (status, _) = lp(&s, "PATCH", &path, Some(json!({"disabled": "yes"}))).await;
        assert_eq!(status, 400);
        let (status, _) = lp(&s, "PATCH", &path, Some(json!({"name": "  "}))).await;
        assert_eq!(status, 400, "an empty name");
        let other = s
            .server
            .svc()
            .create_account(&streamgate::testkit::operator(), "other", None)
            .await
            .unwrap();
        let outsider = new_key(&s.server, other.id, "o", |_| {}).await;
        let outsider = outsider.secret.expose().to_string();
        for (method, body) in [
            ("GET", None),
            ("PATCH", Some(json!({"disabled": false}))),
            ("DELETE", None),
        ] {
            let (status, _) = lp_as(&s, &outsider, method, &path, body).await;
            assert_eq!(status, 404, "{method} another account's signing key");
        }
        let (_, theirs) = lp_as(
            &s,
            &outsider,
            "GET",
            "/api/access-control/signing-key",
            None,
        )
        .await;
        assert_eq!(theirs, json!([]));
        let (status, _) = lp(
            &s,
            "GET",
            "/api/access-control/signing-key/not-a-uuid",
            None,
        )
        .await;
        assert_eq!(status, 404);

        // The private halves are nowhere in the store.
        if backend == Backend::Sqlite {
            let bytes = sqlite_bytes(&s);
            for k in [&made, &second, &third] {
                let private = k["privateKey"].as_str().unwrap();
                assert!(!holds(&bytes, private), "a private key is in the database");
                use base64::Engine;
                let pem = base64::engine::general_purpose::STANDARD
                    .decode(private)
                    .unwrap();
                let pem = String::from_utf8(pem).unwrap();
                let body_line = pem.lines().nth(1).unwrap();
                assert!(
                    !holds(&bytes, body_line),
                    "a private key's PEM is in the database"
                );
            }
            assert!(holds(&bytes, made["publicKey"].as_str().unwrap()));
        }

        let (status, _) = lp(&s, "DELETE", &path, None).await;
        assert_eq!(status, 204);
        let (status, _) = lp(&s, "GET", &path, None).await;
        assert_eq!(status, 404);
        let (status, _) = lp(&s, "DELETE", &path, None).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn a_jwt_policy_admits_only_valid_tokens_of_the_streams_account() {
    let s = setup(Backend::Sqlite).await;
    let public = stream(&s, json!({"name": "pub"})).await;
    let gated = stream(
        &s,
        json!({"name": "jwt", "playbackPolicy": {"type": "jwt"}}),
    )
    .await;
    let pb = gated["playbackId"].as_str().unwrap();
    let public_pb = public["playbackId"].as_str().unwrap();
    let a = signing_key(&s, s.secret()).await;
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let outsider = new_key(&s.server, other.id, "o", |_| {}).await;
    let b = signing_key(&s, outsider.secret.expose()).await;
    let valid = valid_jwt(&s, &a, pb);
    let t = now(&s);

    assert_eq!(read(&s, &hls(public_pb, "")).await, 200, "a public stream");
    assert_eq!(read(&s, &format!("/hls/{public_pb}/12.ts")).await, 200);
    assert_eq!(read(&s, &hls(pb, "")).await, 401, "no credential");
    assert_eq!(read(&s, &hls(pb, &format!("?jwt={valid}"))).await, 200);
    assert_eq!(read(&s, &format!("/hls/{pb}/3.ts?jwt={valid}")).await, 200);
    assert_eq!(
        read(&s, &format!("/hls/{pb}-3.ts?jwt={valid}")).await,
        200,
        "non-nested HLS"
    );
    let (status, _) = read_with(&s, &hls(pb, ""), &[("livepeer-jwt", &valid)]).await;
    assert_eq!(status, 200, "the JWT in Livepeer's header");
    for (what, token) in [
        (
            "expired",
            jwt(
                &a,
                json!({"sub": pb, "action": "pull", "pub": a["publicKey"], "exp": t - 1}),
            ),
        ),
        (
            "without expiry",
            jwt(
                &a,
                json!({"sub": pb, "action": "pull", "pub": a["publicKey"]}),
            ),
        ),
        ("for another stream", valid_jwt(&s, &a, public_pb)),
        (
            "not for playback",
            jwt(
                &a,
                json!({"sub": pb, "action": "push", "pub": a["publicKey"], "exp": t + 60}),
            ),
        ),
        ("signed by another account's key", valid_jwt(&s, &b, pb)),
        (
            "naming one key, signed by another",
            jwt(
                &b,
                json!({"sub": pb, "action": "pull", "pub": a["publicKey"], "exp": t + 60}),
            ),
        ),
        (
            "naming no key",
            jwt(
                &a,
                json!({"sub": pb, "action": "pull", "pub": "nope", "exp": t + 60}),
            ),
        ),
        ("garbage", "a.b.c".to_string()),
        (
            "HS256",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".to_string(),
        ),
    ] {
        assert_eq!(
            read(&s, &hls(pb, &format!("?jwt={token}"))).await,
            403,
            "a JWT {what}"
        );
    }
    // The stream key never names what viewers fetch, nor does an unknown name.
    let key = public["streamKey"].as_str().unwrap();
    assert_ne!(read(&s, &hls(key, "")).await, 200, "read by stream key");
    assert_ne!(read(&s, &hls("nosuchplaybackid", "")).await, 200);
    assert_eq!(read(&s, "/hls/../../etc/passwd").await, 403);
    // A path nginx would decode or normalise into the gated stream's files, asked about as a
    // public stream's: refused outright.
    for sneaky in [
        format!("/hls/{public_pb}/..%2F{pb}%2Findex.m3u8"),
        format!("/hls/{public_pb}/../{pb}/index.m3u8"),
        format!("/hls/{public_pb}/..%2F{pb}.m3u8"),
        format!("/hls/{public_pb}/%2e%2e/{pb}/3.ts"),
    ] {
        assert_eq!(read(&s, &sneaky).await, 403, "{sneaky}");
    }
    assert_eq!(
        read(
            &s,
            &format!("/hls/{public_pb}/index.m3u8?x={}", "a".repeat(9000))
        )
        .await,
        403
    );

    // Disabled, enabled, deleted: honoured at once (the verified JWT stays remembered, the
    // key's state is looked at every time).
    let path = format!(
        "/api/access-control/signing-key/{}",
        a["id"].as_str().unwrap()
    );
    let uri = hls(pb, &format!("?jwt={valid}"));
    lp(&s, "PATCH", &path, Some(json!({"disabled": true}))).await;
    assert_eq!(read(&s, &uri).await, 403, "a disabled key's JWT");
    lp(&s, "PATCH", &path, Some(json!({"disabled": false}))).await;
    assert_eq!(read(&s, &uri).await, 200, "enabled again");
    // Suspended streams cannot be watched.
    let sid = gated["id"].as_str().unwrap();
    lp(
        &s,
        "PATCH",
        &format!("/api/stream/{sid}"),
        Some(json!({"suspended": true})),
    )
    .await;
    assert_eq!(read(&s, &uri).await, 403, "a suspended stream");
    lp(
        &s,
        "PATCH",
        &format!("/api/stream/{sid}"),
        Some(json!({"suspended": false})),
    )
    .await;
    assert_eq!(read(&s, &uri).await, 200);
    // Time passes: the remembered JWT expires.
    s.server.clock.advance_ms(3_601_000);
    assert_eq!(read(&s, &uri).await, 403, "expired while remembered");
    let fresh = valid_jwt(&s, &a, pb);
    let uri = hls(pb, &format!("?jwt={fresh}"));
    assert_eq!(read(&s, &uri).await, 200);
    lp(&s, "DELETE", &path, None).await;
    assert_eq!(read(&s, &uri).await, 403, "a deleted key's JWT");

    // Without the media server's ingest token: 401, and nothing is decided.
    let res = s
        .http
        .get(s.url("/ingest/nginx/auth-request"))
        .header("x-original-uri", hls(public_pb, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().is_empty());

    // Counted by server and outcome.
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["allowed", "refused", "credential_missing"] {
        assert!(
            metrics.contains(&format!(
                "streamgate_read_decisions_total{{server=\"nginx-http\",outcome=\"{outcome}\"}}"
            )),
            "{outcome} not counted"
        );
    }
}

#[tokio::test]
async fn allowed_origins_limit_browsers_only() {
    let s = setup(Backend::Sqlite).await;
    let st = stream(
        &s,
        json!({"name": "o", "playbackPolicy": {"type": "jwt", "allowedOrigins": ["https://ok.example"]}}),
    )
    .await;
    let pb = st["playbackId"].as_str().unwrap();
    let k = signing_key(&s, s.secret()).await;
    let uri = hls(pb, &format!("?jwt={}", valid_jwt(&s, &k, pb)));
    assert_eq!(
        read_with(&s, &uri, &[("origin", "https://ok.example")])
            .await
            .0,
        200
    );
    assert_eq!(
        read_with(&s, &uri, &[("origin", "https://evil.example")])
            .await
            .0,
        403
    );
    assert_eq!(read_with(&s, &uri, &[]).await.0, 200, "not a browser");
    for bad in [
        json!({"type": "nope"}),
        json!({"type": "lit_signing_condition"}),
        json!({"type": "jwt", "allowedOrigins": ["https://x.example/path"]}),
        json!({"type": "webhook", "webhookId": "whNoSuchWebhook"}),
        json!({"type": "jwt", "surprise": 1}),
    ] {
        let (status, err) = lp(
            &s,
            "POST",
            "/api/stream",
            Some(json!({"name": "b", "playbackPolicy": bad})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(
            err["errors"][0]
                .as_str()
                .unwrap()
                .contains("playbackPolicy"),
            "{err}"
        );
    }
}

#[derive(Clone, Default)]
struct Asked(Arc<Mutex<Vec<Value>>>);

/// A viewer-access webhook: allows the access key `letmein`, refuses every other.
async fn access_webhook() -> (Asked, String) {
    let asked = Asked::default();
    let state = asked.clone();
    let app = axum::Router::new().route(
        "/access",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                assert!(headers.contains_key(service_signature_header()));
                let mut v: Value = serde_json::from_str(&body).unwrap();
                let ok = v["accessKey"] == "letmein" || v["accessKey"] == "letmein2";
                if let Some(auth) = headers.get("authorization") {
                    v["authorization"] = json!(auth.to_str().unwrap());
                }
                state.0.lock().unwrap().push(v);
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::FORBIDDEN
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/access", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (asked, url)
}

fn service_signature_header() -> &'static str {
    streamgate::service::deliveries::SIGNATURE_HEADER
}

#[tokio::test]
async fn a_webhook_policy_asks_the_accounts_webhook_and_remembers_briefly() {
    let s = setup_with(Backend::Sqlite, common::lab()).await;
    let (asked, url) = access_webhook().await;
    let res = s
        .http
        .post(s.url("/webhooks"))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started"], "url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let hook: Value = res.json().await.unwrap();
    let st = stream(
        &s,
        json!({"name": "w", "playbackPolicy": {"type": "webhook", "webhookId": hook["webhookId"], "webhookContext": {"tier": "gold"}}}),
    )
    .await;
    let pb = st["playbackId"].as_str().unwrap();
    assert_eq!(read(&s, &hls(pb, "")).await, 401, "no access key");
    assert_eq!(read(&s, &hls(pb, "?accessKey=letmein")).await, 200);
    assert_eq!(read(&s, &hls(pb, "?accessKey=guess")).await, 403);
    {
        let got = asked.0.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["context"], json!({"tier": "gold"}));
        assert_eq!(got[0]["playbackId"], pb);
    }
    // Each segment of a playlist is not another question.
    for i in 0..5 {
        assert_eq!(
            read(&s, &format!("/hls/{pb}/{i}.ts?accessKey=letmein")).await,
            200
        );
        assert_eq!(
            read(&s, &format!("/hls/{pb}/{i}.ts?accessKey=guess")).await,
            403
        );
    }
    assert_eq!(asked.0.lock().unwrap().len(), 2, "answers are remembered");
    assert!(asked.0.lock().unwrap()[0].get("authorization").is_none());

    // A webhook that names a credential is asked with it, as deliveries are.
    let res = s
        .http
        .post(s.url("/v1/credentials"))
        .header("x-api-key", s.secret())
        .json(
            &json!({"credential_label": "gate", "credential_type": "http",
            "credential_public": "gateuser", "credential_private": "gate-pass-9"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .http
        .put(s.url(&format!(
            "/sg/v1/webhooks/{}/credential",
            hook["webhookId"].as_str().unwrap()
        )))
        .bearer_auth(s.secret())
        .json(&json!({"label": "gate"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(read(&s, &hls(pb, "?accessKey=letmein2")).await, 200);
    let last = asked.0.lock().unwrap().last().cloned().unwrap();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("gateuser:gate-pass-9");
    assert_eq!(last["authorization"], format!("Basic {basic}"));

    // A webhook at an internal address is refused at creation outside a lab, and never asked.
    let strict = setup(Backend::Sqlite).await;
    let res = strict
        .http
        .post(strict.url("/webhooks"))
        .basic_auth(strict.secret(), Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started"], "url": "http://127.0.0.1:9/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_private_live_stream_needs_its_token_and_toggling_takes_effect_at_once() {
    let s = setup(Backend::Sqlite).await;
    let res = s
        .http
        .post(s.url("/live-streams"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "secret show", "public": false}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let st: Value = res.json().await.unwrap();
    assert_eq!(st["public"], false);
    let hls_url = st["assets"]["hls"].as_str().unwrap();
    let (path, token) = hls_url.split_once("?token=").unwrap();
    assert_eq!(token.len(), 32);
    assert!(st["assets"]["player"].as_str().unwrap().contains(token));
    let key = st["streamKey"].as_str().unwrap();
    assert!(!hls_url.contains(key), "the stream key in a playback URL");
    let path = &path[path.find("/hls/").unwrap()..];
    assert_eq!(read(&s, path).await, 401);
    assert_eq!(read(&s, &format!("{path}?token={token}")).await, 200);
    // Another token: its first character changed (to one it is not).
    let first = if token.starts_with('x') { 'y' } else { 'x' };
    assert_eq!(
        read(&s, &format!("{path}?token={first}{}", &token[1..])).await,
        403
    );

    let id = st["liveStreamId"].as_str().unwrap();
    let set_public = |public: bool| {
        let s = &s;
        async move {
            let res = s
                .http
                .patch(s.url(&format!("/live-streams/{id}")))
                .bearer_auth(s.secret())
                .json(&json!({ "public": public }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let now_public = set_public(true).await;
    assert!(!now_public["assets"]["hls"]
        .as_str()
        .unwrap()
        .contains("token="));
    assert_eq!(read(&s, path).await, 200, "public again");
    let private_again = set_public(false).await;
    assert_eq!(read(&s, path).await, 401, "private again");
    assert_eq!(private_again["assets"]["hls"], st["assets"]["hls"]);
}

#[tokio::test]
async fn every_media_servers_play_hook_takes_the_same_decision() {
    let s = setup(Backend::Sqlite).await;
    let gated = stream(
        &s,
        json!({"name": "jwt", "playbackPolicy": {"type": "jwt"}}),
    )
    .await;
    let pb = gated["playbackId"].as_str().unwrap();
    let k = signing_key(&s, s.secret()).await;
    let valid = valid_jwt(&s, &k, pb);
    // MediaMTX: the reader's JWT in its query, or as its token.
    for action in ["read", "playback"] {
        let ask = |query: String, token: &str| {
            json!({"user": "", "password": "", "token": token, "ip": "10.2.0.1", "action": action,
                   "path": format!("live/{pb}"), "protocol": "hls", "id": null, "query": query})
        };
        assert_eq!(
            hook_json(&s, "/ingest/mediamtx", ask(format!("jwt={valid}"), ""))
                .await
                .0,
            200
        );
        assert_eq!(
            hook_json(&s, "/ingest/mediamtx", ask(String::new(), &valid))
                .await
                .0,
            200
        );
        assert_eq!(
            hook_json(&s, "/ingest/mediamtx", ask(String::new(), ""))
                .await
                .0,
            401
        );
    }
    // SRS on_play: 200 with body 0 allows.
    let srs = |param: String| {
        json!({"action": "on_play", "client_id": 3, "ip": "10.2.0.2", "vhost": "__defaultVhost__",
               "app": "live", "stream": pb, "param": param})
    };
    assert_eq!(
        hook_json(&s, "/ingest/srs", srs(format!("?jwt={valid}"))).await,
        (200, "0".into())
    );
    assert_eq!(
        hook_json(&s, "/ingest/srs", srs(String::new())).await,
        (403, "1".into())
    );
    // nginx-rtmp on_play: the play URL's query arrives as form fields.
    let private = s
        .http
        .post(s.url("/live-streams"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "p", "public": false}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let hls_url = private["assets"]["hls"].as_str().unwrap();
    let (path, token) = hls_url.split_once("?token=").unwrap();
    let private_pb = path.rsplit('/').nth(1).unwrap();
    let play = |name: &str, extra: &str| {
        format!("app=pb&flashver=LNX&swfurl=&tcurl=rtmp://127.0.0.1/pb&pageurl=&addr=10.2.0.3&clientid=9&call=play&name={name}&start=-2000&duration=0&reset=0{extra}")
    };
    let nginx_play = |form: String| {
        let s = &s;
        async move {
            hook_form(s, "/ingest/nginx-rtmp/play", form)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        nginx_play(play(private_pb, &format!("&token={token}"))).await,
        200
    );
    assert_eq!(nginx_play(play(private_pb, "")).await, 403);
    let key = private["streamKey"].as_str().unwrap();
    assert_eq!(
        nginx_play(play(key, &format!("&token={token}"))).await,
        403,
        "by stream key"
    );
}

#[tokio::test]
async fn a_publish_by_key_is_renamed_to_its_playback_id() {
    let s = setup(Backend::Sqlite).await;
    let st = stream(&s, json!({"name": "cam"})).await;
    let (key, pb, id) = (
        st["streamKey"].as_str().unwrap(),
        st["playbackId"].as_str().unwrap(),
        st["id"].as_str().unwrap(),
    );
    let form = |name: &str, call: &str, extra: &str| {
        format!("app=live&flashver=FMLE&tcurl=rtmp://127.0.0.1/live&addr=10.3.0.1&clientid=1&call={call}&name={name}&type=live{extra}")
    };
    let res = hook_form(&s, "/ingest/nginx-rtmp/publish", form(key, "publish", "")).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], pb);
    let (_, live) = lp(&s, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(live["isActive"], true);
    let (_, info) = lp(&s, "GET", &format!("/api/playback/{pb}"), None).await;
    assert_eq!(info["meta"]["live"], 1);
    // A playback id is public: naming it alone ends nobody's publish.
    let res = hook_form(
        &s,
        "/ingest/nginx-rtmp/publish-done",
        form(pb, "publish_done", ""),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (_, still) = lp(&s, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(still["isActive"], true, "ended by its playback id alone");
    // nginx-rtmp reports the end under the name it was asked for: the key.
    let res = hook_form(
        &s,
        "/ingest/nginx-rtmp/publish-done",
        form(key, "publish_done", ""),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (_, idle) = lp(&s, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(idle["isActive"], false);

    // SRS and MediaMTX cannot rename: they publish at the playback id with the key in the query.
    let srs = |param: &str| {
        json!({"action": "on_publish", "client_id": 1, "ip": "10.3.0.2", "vhost": "__defaultVhost__",
               "app": "live", "stream": pb, "param": param})
    };
    assert_eq!(
        hook_json(&s, "/ingest/srs", srs("?key=wrong")).await,
        (403, "1".into())
    );
    assert_eq!(
        hook_json(&s, "/ingest/srs", srs(&format!("?key={key}"))).await,
        (200, "0".into())
    );
    let (_, live) = lp(&s, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(live["isActive"], true);
    let mut done = srs(&format!("?key={key}"));
    done["action"] = json!("on_unpublish");
    assert_eq!(hook_json(&s, "/ingest/srs", done).await.0, 200);
    let (_, idle) = lp(&s, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(idle["isActive"], false, "ended by SRS with its key");
    let mtx = json!({"user": "", "password": "", "token": "", "ip": "10.3.0.3", "action": "publish",
                     "path": format!("live/{pb}"), "protocol": "rtmp", "id": null, "query": format!("key={key}")});
    assert_eq!(hook_json(&s, "/ingest/mediamtx", mtx).await.0, 200);
}

#[tokio::test]
async fn playback_info_is_livepeers_shape_at_this_deployments_url() {
    let mut config = common::lab();
    config.http.playback_url = Some("https://cdn.example/hls/".into());
    let s = setup_with(Backend::Sqlite, config).await;
    let st = stream(&s, json!({"name": "i", "playbackPolicy": {"type": "jwt"}})).await;
    let pb = st["playbackId"].as_str().unwrap();
    let (status, info) = lp(&s, "GET", &format!("/api/playback/{pb}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        json!({"type": "live", "meta": {"live": 0, "playbackPolicy": {"type": "jwt"}, "source": [{
            "hrn": "HLS (TS)", "type": "html5/application/vnd.apple.mpegurl",
            "url": format!("https://cdn.example/hls/{pb}/index.m3u8")}]}})
    );
    let (status, err) = lp(&s, "GET", "/api/playback/nosuchid", None).await;
    assert_eq!(status, 404);
    assert!(err["errors"][0].is_string());
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let outsider = new_key(&s.server, other.id, "o", |_| {}).await;
    let (status, _) = lp_as(
        &s,
        outsider.secret.expose(),
        "GET",
        &format!("/api/playback/{pb}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "another account's stream");
}

#[tokio::test]
async fn refused_credentials_are_throttled_per_client_address() {
    let s = setup(Backend::Sqlite).await;
    let st = stream(&s, json!({"name": "t", "playbackPolicy": {"type": "jwt"}})).await;
    let pb = st["playbackId"].as_str().unwrap();
    let k = signing_key(&s, s.secret()).await;
    let good = hls(pb, &format!("?jwt={}", valid_jwt(&s, &k, pb)));
    let bad = hls(pb, "?jwt=a.b.c");
    // Asking without a credential is not guessing: never counted.
    for _ in 0..20 {
        assert_eq!(
            read_with(&s, &hls(pb, ""), &[("x-real-ip", "10.4.0.1")])
                .await
                .0,
            401
        );
    }
    assert_eq!(
        read_with(&s, &good, &[("x-real-ip", "10.4.0.1")]).await.0,
        200
    );
    // Ten refused guesses (the default limit) from one address…
    for _ in 0..10 {
        assert_eq!(
            read_with(&s, &bad, &[("x-real-ip", "10.4.0.2")]).await.0,
            403
        );
    }
    // …and that address is refused even the right token, without a look; others are not.
    assert_eq!(
        read_with(&s, &good, &[("x-real-ip", "10.4.0.2")]).await.0,
        403
    );
    assert_eq!(
        read_with(&s, &good, &[("x-real-ip", "10.4.0.3")]).await.0,
        200
    );
    // Expired JWTs are no guesses: they never count.
    let expired = hls(
        pb,
        &format!(
            "?jwt={}",
            jwt(
                &k,
                json!({"sub": pb, "action": "pull", "pub": k["publicKey"], "exp": now(&s) - 1})
            )
        ),
    );
    for _ in 0..20 {
        assert_eq!(
            read_with(&s, &expired, &[("x-real-ip", "10.4.0.4")])
                .await
                .0,
            403
        );
    }
    assert_eq!(
        read_with(&s, &good, &[("x-real-ip", "10.4.0.4")]).await.0,
        200
    );
    // A throttled viewer's address is not an encoder's: publishing from it still works.
    let key = st["streamKey"].as_str().unwrap();
    let res = hook_form(
        &s,
        "/ingest/nginx-rtmp/publish",
        format!(
            "app=live&tcurl=rtmp://127.0.0.1/live&addr=10.4.0.2&call=publish&name={key}&type=live"
        ),
    )
    .await;
    assert_eq!(
        common::hook_status(&res),
        200,
        "the viewer's refusals locked out an encoder"
    );
    // A proxy that does not say who asks is never throttled (it would lock out every viewer).
    for _ in 0..20 {
        assert_eq!(read(&s, &bad).await, 403);
    }
    assert_eq!(read(&s, &good).await, 200);
}
