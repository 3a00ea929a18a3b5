//! api.video dialect over HTTP: disposable tokens and refresh rotation, Basic/Bearer/bare auth,
//! environments, live streams, rate limits and problem+json errors.

use crate::common;

use crate::common::{setup, setup_with, Setup};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use streamgate::domain::Environment;
use streamgate::testkit::{Backend, LogCapture};

async fn tokens(s: &Setup, key: &str) -> Value {
    let res = s
        .http
        .post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": key}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json", "exactly");
    res.json().await.unwrap()
}

async fn refresh(s: &Setup, token: &str) -> Response {
    s.http
        .post(s.url("/auth/refresh"))
        .json(&json!({"refreshToken": token}))
        .send()
        .await
        .unwrap()
}

async fn with_auth(
    s: &Setup,
    auth: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("authorization", auth);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

fn basic(key: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// Asserts an RFC 7807 body and returns its title.
async fn problem(res: Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-retry-after",
    ] {
        assert!(res.headers().contains_key(h), "{h} on an error too");
    }
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], status);
    assert!(v["type"].as_str().unwrap().starts_with("https://"));
    v["title"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_api_key_buys_tokens_that_work_in_every_form() {
    let s = setup(Backend::Sqlite).await;
    let t = tokens(&s, s.secret()).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let access = t["access_token"].as_str().unwrap().to_string();
    assert!(t["refresh_token"].as_str().unwrap().len() > 40);
    for auth in [
        format!("Bearer {access}"),
        access.clone(),
        basic(s.secret()),
    ] {
        let res = with_auth(&s, &auth, Method::GET, "/live-streams", None).await;
        assert_eq!(res.status(), 200, "{}", &auth[..10]);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()["x-ratelimit-limit"], "1200");
    }
    // Every dialect's extractor takes the token as a Bearer credential.
    let me = s
        .get_with("/sg/v1/me", "authorization", &format!("Bearer {access}"))
        .await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["keyId"], s.key.key.id.to_string());
    // The token names its key; the JWKS serves it.
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let jwks = s.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    // A tampered token is refused.
    let mut forged = access.clone();
    forged.pop();
    forged.push(if access.ends_with('A') { 'B' } else { 'A' });
    problem(
        with_auth(
            &s,
            &format!("Bearer {forged}"),
            Method::GET,
            "/live-streams",
            None,
        )
        .await,
        401,
    )
    .await;
    let title = problem(
        s.http
            .post(s.url("/auth/api-key"))
            .json(&json!({"apiKey": "sg_production_nope"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(title.contains("invalid"), "{title}");
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let logs = LogCapture::install();
    let s = setup(Backend::Sqlite).await;
    let first = tokens(&s, s.secret()).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second: Value = {
        let res = refresh(&s, r1).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    };
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    // Replaying r1 revokes r2 too, and is audited.
    problem(refresh(&s, r1).await, 400).await;
    problem(refresh(&s, r2).await, 400).await;
    let audit = s.server.store().list_audit(s.account.id, 10).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "refresh_token.reuse"),
        "{audit:?}"
    );
    assert!(
        !format!("{audit:?}").contains(r1),
        "the audit log holds no secret"
    );
    // Another family of the same key is untouched.
    let other = tokens(&s, s.secret()).await;
    assert_eq!(
        refresh(&s, other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    problem(refresh(&s, "rt_garbage").await, 400).await;
    let logged = logs.contents();
    for t in [&first, &second, &other] {
        for field in ["access_token", "refresh_token"] {
            let secret = t[field].as_str().unwrap();
            assert!(!logged.contains(secret), "{field} was logged");
        }
    }
    // Refresh tokens are stored as hashes only.
    let raw = std::fs::read(s.server.db.url.trim_start_matches("sqlite://")).unwrap();
    let wal = std::fs::read(format!(
        "{}-wal",
        s.server.db.url.trim_start_matches("sqlite://")
    ))
    .unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(
            !bytes.windows(r2.len()).any(|w| w == r2.as_bytes()),
            "refresh token stored in clear"
        );
    }
}

#[tokio::test]
async fn access_tokens_expire_and_die_with_their_key() {
    let s = setup(Backend::Sqlite).await;
    let key = s.new_key("k", |_| {}).await;
    let t = tokens(&s, key.secret.expose()).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    assert_eq!(
        with_auth(&s, &bearer, Method::GET, "/live-streams", None)
            .await
            .status(),
        200
    );
    s.server.clock.advance_ms(3_600_000);
    let title = problem(
        with_auth(&s, &bearer, Method::GET, "/live-streams", None).await,
        401,
    )
    .await;
    assert!(title.contains("expired"), "{title}");
    let res = refresh(&s, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        res.status(),
        200,
        "refresh still works after the access token expired"
    );
    let t2: Value = res.json().await.unwrap();
    let bearer2 = format!("Bearer {}", t2["access_token"].as_str().unwrap());
    assert_eq!(
        with_auth(&s, &bearer2, Method::GET, "/live-streams", None)
            .await
            .status(),
        200
    );

    s.server
        .svc()
        .revoke_key(&streamgate::testkit::operator(), key.key.id)
        .await
        .unwrap();
    let title = problem(
        with_auth(&s, &bearer2, Method::GET, "/live-streams", None).await,
        401,
    )
    .await;
    assert!(title.contains("revoked"), "{title}");
    problem(
        refresh(&s, t2["refresh_token"].as_str().unwrap()).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn rotated_signing_keys_keep_verifying_their_tokens() {
    let s = setup(Backend::Sqlite).await;
    let old = tokens(&s, s.secret()).await;
    let kid = s
        .server
        .svc()
        .rotate_signing_key(&streamgate::testkit::operator())
        .await
        .unwrap();
    let new = tokens(&s, s.secret()).await;
    for t in [&old, &new] {
        let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
        assert_eq!(
            with_auth(&s, &bearer, Method::GET, "/live-streams", None)
                .await
                .status(),
            200
        );
    }
    let jwks = s.get_json("/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&kid.as_str()));
}

#[tokio::test]
async fn live_streams_crud_paging_and_environments() {
    let logs = LogCapture::install();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let auth = basic(s.secret());
        let restream_key = "yt-restream-secret-0042";
        let made = with_auth(&s, &auth, Method::POST, "/live-streams", Some(json!({
            "name": "studio", "record": true, "public": false,
            "restreams": [{"name": "yt", "serverUrl": "rtmp://a.rtmp.youtube.com/live2", "streamKey": restream_key}]
        })))
        .await;
        assert_eq!(made.status(), 200);
        let made: Value = made.json().await.unwrap();
        let id = made["liveStreamId"].as_str().unwrap().to_string();
        assert!(id.starts_with("li") && id.len() == 24, "{id}");
        assert_eq!(made["record"], true);
        assert_eq!(made["public"], false);
        assert_eq!(made["broadcasting"], false);
        assert_eq!(
            made["restreams"][0]["serverUrl"],
            "rtmp://a.rtmp.youtube.com/live2"
        );
        let mut shown = made.to_string();
        let got: Value = with_auth(&s, &auth, Method::GET, &format!("/live-streams/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got["streamKey"], made["streamKey"]);
        shown.push_str(&got.to_string());
        let patched: Value = with_auth(
            &s,
            &auth,
            Method::PATCH,
            &format!("/live-streams/{id}"),
            Some(json!({"name": "studio 2", "record": false})),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(patched["name"], "studio 2");
        assert_eq!(patched["restreams"].as_array().unwrap().len(), 1, "kept");
        for i in 0..4 {
            with_auth(
                &s,
                &auth,
                Method::POST,
                "/live-streams",
                Some(json!({"name": format!("s{i}")})),
            )
            .await;
        }
        let page: Value = with_auth(
            &s,
            &auth,
            Method::GET,
            "/live-streams?currentPage=2&pageSize=2",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        let p = &page["pagination"];
        assert_eq!(
            (
                p["currentPage"].as_i64(),
                p["pagesTotal"].as_i64(),
                p["itemsTotal"].as_i64()
            ),
            (Some(2), Some(3), Some(5))
        );
        let rels: Vec<&str> = p["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["self", "first", "previous", "next", "last"]);
        shown.push_str(&page.to_string());
        let by_name: Value = with_auth(
            &s,
            &auth,
            Method::GET,
            "/live-streams?name=studio%202",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(by_name["data"][0]["liveStreamId"], id.as_str());
        let key = made["streamKey"].as_str().unwrap();
        let by_key: Value = with_auth(
            &s,
            &auth,
            Method::GET,
            &format!("/live-streams?streamKey={key}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(by_key["pagination"]["itemsTotal"], 1);

        // Sandbox is another world, by key and by token.
        let sandbox = s
            .new_key("sb", |r| r.environment = Environment::Sandbox)
            .await;
        let sb_tokens = tokens(&s, sandbox.secret.expose()).await;
        for sb in [
            basic(sandbox.secret.expose()),
            format!("Bearer {}", sb_tokens["access_token"].as_str().unwrap()),
        ] {
            let list: Value = with_auth(&s, &sb, Method::GET, "/live-streams", None)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(list["pagination"]["itemsTotal"], 0);
            problem(
                with_auth(&s, &sb, Method::GET, &format!("/live-streams/{id}"), None).await,
                404,
            )
            .await;
            problem(
                with_auth(
                    &s,
                    &sb,
                    Method::DELETE,
                    &format!("/live-streams/{id}"),
                    None,
                )
                .await,
                404,
            )
            .await;
        }

        assert!(!shown.contains(restream_key), "a restream key was shown");
        assert!(
            !logs.contents().contains(restream_key),
            "a restream key was logged"
        );
        let res = with_auth(
            &s,
            &auth,
            Method::DELETE,
            &format!("/live-streams/{id}"),
            None,
        )
        .await;
        assert_eq!(res.status(), 204);
        problem(
            with_auth(&s, &auth, Method::GET, &format!("/live-streams/{id}"), None).await,
            404,
        )
        .await;
        problem(
            with_auth(&s, &auth, Method::GET, "/live-streams/linotanid", None).await,
            404,
        )
        .await;
    }
}

#[tokio::test]
async fn bad_input_and_rate_limits_speak_problem_json() {
    let s = setup(Backend::Sqlite).await;
    let auth = basic(s.secret());
    let post = |body: &'static str| {
        s.http
            .post(s.url("/live-streams"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    problem(post("{\"name\":").await.unwrap(), 400).await;
    problem(
        post("{\"name\":\"a\",\"record\":\"yes\"}").await.unwrap(),
        400,
    )
    .await;
    problem(post("{\"name\":\"a\",\"bogus\":true}").await.unwrap(), 400).await;
    problem(post(r#"{"name":"a","restreams":[{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"},{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"},{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"},{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"},{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"},{"name":"a","serverUrl":"rtmp://a/x","streamKey":"k"}]}"#).await.unwrap(), 400).await;
    problem(
        with_auth(&s, "Bearer not.a.jwt", Method::GET, "/live-streams", None).await,
        401,
    )
    .await;
    problem(
        s.http.get(s.url("/live-streams")).send().await.unwrap(),
        401,
    )
    .await;
    problem(
        with_auth(&s, &auth, Method::GET, "/live-streams?pageSize=1000", None).await,
        400,
    )
    .await;

    // A server whose limit is 3 requests a minute per key.
    let mut config = streamgate::Config::default();
    config.service.rate_limit.limit = 3;
    let s = common::setup_with(Backend::Sqlite, config).await;
    let auth = basic(s.secret());
    let other = s.new_key("other", |_| {}).await;
    let mut seen = vec![];
    for _ in 0..4 {
        let res = with_auth(&s, &auth, Method::GET, "/live-streams", None).await;
        seen.push((
            res.status().as_u16(),
            res.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        ));
        if res.status() == 429 {
            // A fixed window of a minute on the server's clock: retry when it ends.
            let now = streamgate::clock::Clock::now_ms(&*s.server.clock);
            let reset = ((60_000 - now.rem_euclid(60_000)) + 999) / 1000;
            assert_eq!(
                res.headers()["x-ratelimit-retry-after"],
                reset.to_string().as_str()
            );
            assert_eq!(res.headers()["retry-after"], reset.to_string().as_str());
            problem(res, 429).await;
        }
    }
    assert_eq!(
        seen.iter().map(|x| x.0).collect::<Vec<_>>(),
        [200, 200, 200, 429]
    );
    assert_eq!(seen[0].1, "2");
    let res = with_auth(
        &s,
        &basic(other.secret.expose()),
        Method::GET,
        "/live-streams",
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "limits are per key");
}

#[tokio::test]
async fn upload_tokens_and_webhooks() {
    let logs = LogCapture::install();
    let s = setup(Backend::Sqlite).await;
    let auth = basic(s.secret());
    let t: Value = with_auth(
        &s,
        &auth,
        Method::POST,
        "/upload-tokens",
        Some(json!({"ttl": 60})),
    )
    .await
    .json()
    .await
    .unwrap();
    let token = t["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("to"));
    assert_eq!(t["ttl"], 60);
    assert!(t["expiresAt"].is_string());
    let forever: Value = with_auth(&s, &auth, Method::POST, "/upload-tokens", Some(json!({})))
        .await
        .json()
        .await
        .unwrap();
    assert!(forever["expiresAt"].is_null());
    let got: Value = with_auth(
        &s,
        &auth,
        Method::GET,
        &format!("/upload-tokens/{token}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(got["token"], token.as_str());
    let list: Value = with_auth(&s, &auth, Method::GET, "/upload-tokens", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["pagination"]["itemsTotal"], 2);
    // Expired tokens are gone.
    s.server.clock.advance_ms(61_000);
    problem(
        with_auth(
            &s,
            &auth,
            Method::GET,
            &format!("/upload-tokens/{token}"),
            None,
        )
        .await,
        404,
    )
    .await;
    let list: Value = with_auth(&s, &auth, Method::GET, "/upload-tokens", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["pagination"]["itemsTotal"], 1);
    let forever_token = forever["token"].as_str().unwrap();
    assert_eq!(
        with_auth(
            &s,
            &auth,
            Method::DELETE,
            &format!("/upload-tokens/{forever_token}"),
            None
        )
        .await
        .status(),
        204
    );
    problem(
        with_auth(
            &s,
            &auth,
            Method::DELETE,
            &format!("/upload-tokens/{forever_token}"),
            None,
        )
        .await,
        404,
    )
    .await;
    problem(
        with_auth(
            &s,
            &auth,
            Method::POST,
            "/upload-tokens",
            Some(json!({"ttl": -1})),
        )
        .await,
        400,
    )
    .await;

    // Webhooks: 201 with the secret once; internal addresses refused; names not resolved.
    let res = with_auth(
        &s,
        &auth,
        Method::POST,
        "/webhooks",
        Some(json!({
        "events": ["video.encoding.quality.completed"], "url": "https://hooks.example.com/sg"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let w: Value = res.json().await.unwrap();
    let id = w["webhookId"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh"));
    let secret = w["signatureSecret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32);
    let mut shown = String::new();
    let got: Value = with_auth(&s, &auth, Method::GET, &format!("/webhooks/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["url"], "https://hooks.example.com/sg");
    shown.push_str(&got.to_string());
    let list: Value = with_auth(&s, &auth, Method::GET, "/webhooks", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["webhookId"], id.as_str());
    shown.push_str(&list.to_string());
    assert!(
        !shown.contains(&secret),
        "the signature secret is shown at creation only"
    );
    assert!(!logs.contents().contains(&secret));
    let rec = s
        .server
        .svc()
        .get_webhook(
            &s.server.svc().authenticate(s.secret(), None).await.unwrap(),
            streamgate::domain::webhook::Flavor::ApiVideo,
            ids_of(&id),
        )
        .await
        .unwrap();
    assert!(!rec.secret_sealed.contains(&secret), "sealed at rest");
    assert_eq!(
        s.server.svc().webhook_secret(&rec).unwrap().expose(),
        secret
    );
    for url in [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://10.0.0.8/",
        "ftp://example.com/",
        "http://localhost/",
    ] {
        let title = problem(
            with_auth(
                &s,
                &auth,
                Method::POST,
                "/webhooks",
                Some(json!({"events": ["video.encoding.quality.completed"], "url": url})),
            )
            .await,
            400,
        )
        .await;
        assert!(title.contains("url"), "{url}: {title}");
    }
    let res = with_auth(&s, &auth, Method::POST, "/webhooks", Some(json!({
        "events": ["live-stream.broadcast.started"], "url": "https://does-not-resolve-yet.invalid/h"}))).await;
    assert_eq!(
        res.status(),
        201,
        "a host that does not resolve yet is accepted"
    );
    problem(
        with_auth(
            &s,
            &auth,
            Method::POST,
            "/webhooks",
            Some(json!({"events": ["no.such.event"], "url": "https://a.example/"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        with_auth(&s, &auth, Method::DELETE, &format!("/webhooks/{id}"), None)
            .await
            .status(),
        204
    );
    problem(
        with_auth(&s, &auth, Method::GET, &format!("/webhooks/{id}"), None).await,
        404,
    )
    .await;
}

/// The core id behind an api.video `wh…` id (base62 of the UUID).
fn ids_of(id: &str) -> uuid::Uuid {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n: u128 = 0;
    for c in id[2..].bytes() {
        n = n * 62 + A.iter().position(|&a| a == c).unwrap() as u128;
    }
    uuid::Uuid::from_u128(n)
}

#[tokio::test]
async fn unknown_routes_and_methods_under_api_videos_paths_speak_problem_json() {
    let s = setup(Backend::Sqlite).await;
    for (method, path, status) in [
        ("GET", "/videos/vi123/nope", 404),
        ("GET", "/live-streams/li1/nope", 404),
        ("POST", "/account/x", 404),
        ("GET", "/players/pt1/logo/x", 404),
        ("PUT", "/live-streams", 405),
        ("DELETE", "/upload-tokens", 405),
        ("PATCH", "/webhooks/wh1", 405),
    ] {
        let res = s
            .http
            .request(method.parse().unwrap(), s.url(path))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{method} {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], status);
        assert!(v["title"].is_string() && v["name"].is_string(), "{v}");
    }
    // Outside api.video's paths, streamgate's own shape; under Livepeer's, Livepeer's.
    let res = s.http.get(s.url("/nothing-here")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_ne!(res.headers()["content-type"], "application/problem+json");
    let res = s.http.get(s.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert!(v["errors"][0].is_string(), "{v}");
}

#[tokio::test]
async fn webhooks_are_listed_by_event_on_sqlite() {
    webhooks_are_listed_by_event(Backend::Sqlite).await;
}

#[tokio::test]
async fn webhooks_are_listed_by_event_on_postgres() {
    webhooks_are_listed_by_event(Backend::Postgres).await;
}

async fn webhooks_are_listed_by_event(backend: Backend) {
    let s = setup_with(backend, crate::common::lab()).await;
    let make = |events: Value| {
        let s = &s;
        async move {
            let res = s
                .http
                .post(s.url("/webhooks"))
                .basic_auth(s.secret(), Some(""))
                .json(&json!({"events": events, "url": "https://hooks.example/x"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["webhookId"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let started = make(json!(["live-stream.broadcast.started"])).await;
    let both = make(json!([
        "live-stream.broadcast.started",
        "live-stream.broadcast.ended"
    ]))
    .await;
    let _ended = make(json!(["live-stream.broadcast.ended"])).await;
    let list = |query: &'static str| {
        let s = &s;
        async move {
            let res = s
                .http
                .get(s.url(&format!("/webhooks{query}")))
                .basic_auth(s.secret(), Some(""))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let all = list("").await;
    assert_eq!(all["pagination"]["itemsTotal"], 3);
    let got = list("?events=live-stream.broadcast.started").await;
    let ids: Vec<&str> = got["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["webhookId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![started.as_str(), both.as_str()]);
    assert_eq!(got["pagination"]["itemsTotal"], 2);
    let page = list("?events=live-stream.broadcast.started&pageSize=1&currentPage=2").await;
    assert_eq!(page["data"][0]["webhookId"], both.as_str());
    assert!(
        page["pagination"]["links"]
            .to_string()
            .contains("events=live-stream.broadcast.started"),
        "{page}"
    );
    for unknown in [
        "?events=video.nope",
        "?events=%25",
        "?events=live-stream.broadcast",
    ] {
        let none = list(unknown).await;
        assert_eq!(none["pagination"]["itemsTotal"], 0, "{unknown}");
    }
}

#[tokio::test]
async fn live_streams_sort_by_name_creation_and_update_on_sqlite() {
    live_streams_sort(Backend::Sqlite).await;
}

#[tokio::test]
async fn live_streams_sort_by_name_creation_and_update_on_postgres() {
    live_streams_sort(Backend::Postgres).await;
}

async fn live_streams_sort(backend: Backend) {
    let s = setup(backend).await;
    let mut ids = vec![];
    for name in ["bravo", "alpha", "charlie"] {
        s.server.clock.advance_ms(1000);
        let res = s
            .http
            .post(s.url("/live-streams"))
            .basic_auth(s.secret(), Some(""))
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let v: Value = res.json().await.unwrap();
        ids.push(v["liveStreamId"].as_str().unwrap().to_string());
    }
    // The first one made is the last one changed.
    s.server.clock.advance_ms(1000);
    let res = s
        .http
        .patch(s.url(&format!("/live-streams/{}", ids[0])))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"record": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let names = |query: &'static str| {
        let s = &s;
        async move {
            let res = s
                .http
                .get(s.url(&format!("/live-streams{query}")))
                .basic_auth(s.secret(), Some(""))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{query}");
            let v: Value = res.json().await.unwrap();
            let got: Vec<String> = v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect();
            (got, v)
        }
    };
    for (query, want) in [
        ("", ["bravo", "alpha", "charlie"]),
        (
            "?sortBy=createdAt&sortOrder=asc",
            ["bravo", "alpha", "charlie"],
        ),
        (
            "?sortBy=createdAt&sortOrder=desc",
            ["charlie", "alpha", "bravo"],
        ),
        ("?sortOrder=desc", ["charlie", "alpha", "bravo"]),
        ("?sortBy=name", ["alpha", "bravo", "charlie"]),
        ("?sortBy=name&sortOrder=desc", ["charlie", "bravo", "alpha"]),
        ("?sortBy=updatedAt", ["alpha", "charlie", "bravo"]),
        (
            "?sortBy=updatedAt&sortOrder=desc",
            ["bravo", "charlie", "alpha"],
        ),
    ] {
        assert_eq!(names(query).await.0, want, "{query}");
    }
    // Pages of a sorted list, and their links keep the order.
    let (second, v) = names("?sortBy=name&sortOrder=desc&pageSize=1&currentPage=2").await;
    assert_eq!(second, ["bravo"]);
    assert_eq!(v["pagination"]["itemsTotal"], 3);
    let links = v["pagination"]["links"].to_string();
    assert!(
        links.contains("sortBy=name") && links.contains("sortOrder=desc"),
        "{links}"
    );
    // Sorted pages are remembered apart: the default order's second page is its own.
    assert_eq!(names("?pageSize=1&currentPage=2").await.0, ["alpha"]);
    for bad in [
        "?sortBy=title",
        "?sortOrder=up",
        "?sortBy=name&sortOrder=DESC",
    ] {
        let res = s
            .http
            .get(s.url(&format!("/live-streams{bad}")))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap();
        let title = problem(res, 400).await;
        assert!(title.contains("sort"), "{bad}: {title}");
    }
}
