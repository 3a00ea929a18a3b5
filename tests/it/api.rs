//! The `/sg/v1` API, auth header styles, error formats and ops endpoints, through the real server.

use crate::common;

use std::time::Duration;

use crate::common::{eventually, setup, sg_error};
use serde_json::{json, Value};
use streamgate::testkit::{Backend, TestServer};

#[tokio::test]
async fn me_answers_to_every_header_style() {
    let s = setup(Backend::Sqlite).await;
    let secret = s.secret().to_string();
    for (name, value) in common::header_styles(&secret) {
        let res = s.get_with("/sg/v1/me", name, &value).await;
        assert_eq!(res.status(), 200, "{name}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["keyId"], s.key.key.id.to_string());
        assert_eq!(v["accountId"], s.account.id.to_string());
        assert_eq!(v["environment"], "production");
        assert_eq!(
            v["cors"],
            json!({"allowedOrigins": [], "fullAccess": false})
        );
        assert!(
            !v.to_string().contains(&secret),
            "the secret is never echoed"
        );
    }
}

#[tokio::test]
async fn me_reports_cors_settings_and_sandbox() {
    let s = setup(Backend::Sqlite).await;
    let k = s
        .new_key("browser", |r| {
            r.environment = streamgate::domain::Environment::Sandbox;
            r.allowed_origins = vec!["http://localhost:3000".into(), "*".into()];
            r.expires_in_ms = Some(3_600_000);
        })
        .await;
    let v: Value = s.me(k.secret.expose()).await.json().await.unwrap();
    assert_eq!(v["environment"], "sandbox");
    assert_eq!(
        v["cors"]["allowedOrigins"],
        json!(["http://localhost:3000", "*"])
    );
    assert_eq!(v["cors"]["fullAccess"], false);
    assert!(v["expiresAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn unknown_malformed_revoked_and_expired_keys_are_refused() {
    let s = setup(Backend::Sqlite).await;
    // Well-formed (valid checksum) but not in this store.
    let stranger = setup(Backend::Sqlite).await;
    let (code, msg) = sg_error(s.me(stranger.secret()).await, 401).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("unauthorized", "invalid API key")
    );

    let (_, msg) = sg_error(
        s.me("sg_production_notarealkeyatallnotarealkeyatall123456")
            .await,
        401,
    )
    .await;
    assert!(msg.contains("malformed"), "{msg}");

    let res = s.http.get(s.url("/sg/v1/me")).send().await.unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"streamgate\""
    );
    let (_, msg) = sg_error(res, 401).await;
    assert!(msg.contains("no API key"), "{msg}");

    let short = s.new_key("short", |r| r.expires_in_ms = Some(60_000)).await;
    assert_eq!(s.me(short.secret.expose()).await.status(), 200);
    s.server.clock.advance_ms(60_001);
    let (_, msg) = sg_error(s.me(short.secret.expose()).await, 401).await;
    assert!(msg.contains("expired"), "{msg}");

    // Revocation in this instance is honoured on the very next request, cache or not.
    assert_eq!(s.me(s.secret()).await.status(), 200);
    s.server
        .svc()
        .revoke_key(
            &streamgate::testkit::operator().in_account(s.account.id),
            s.key.key.id,
        )
        .await
        .unwrap();
    let (_, msg) = sg_error(s.me(s.secret()).await, 401).await;
    assert!(msg.contains("revoked"), "{msg}");

    let metrics = s.get_text("/metrics").await;
    for reason in ["not_found", "malformed", "missing", "expired", "revoked"] {
        assert!(
            metrics.contains(&format!(
                "streamgate_auth_failures_total{{dialect=\"sg\",reason=\"{reason}\"}} 1"
            )),
            "{reason} not counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn malformed_headers_get_a_clear_401() {
    let s = setup(Backend::Sqlite).await;
    for value in [
        "Bearer",
        "Basic %%%",
        "Digest abc",
        "TOK:",
        "sg_production_x",
    ] {
        let res = s
            .http
            .get(s.url("/sg/v1/me"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        let (code, _) = sg_error(res, 401).await;
        assert_eq!(code, "unauthorized", "{value}");
    }
    let res = s
        .http
        .get(s.url("/sg/v1/me"))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xfe\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    sg_error(res, 401).await;
}

async fn verify(s: &common::Setup, caller: &str, key: &str) -> Value {
    let res = s
        .http
        .post(s.url("/sg/v1/keys/verify"))
        .bearer_auth(caller)
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn verify_reports_every_code_and_hides_other_accounts() {
    let s = setup(Backend::Sqlite).await;
    let other = s.new_key("other", |_| {}).await;
    let v = verify(&s, s.secret(), other.secret.expose()).await;
    assert_eq!(
        v,
        json!({"valid": true, "code": "VALID", "keyId": other.key.id.to_string(),
        "accountId": s.account.id.to_string(), "environment": "production", "name": "other",
        "permissions": ["*"], "credits": null, "ratelimit": null, "meta": null, "expiresAt": null})
    );

    let v = verify(&s, s.secret(), "sg_production_garbage").await;
    assert_eq!(
        (v["valid"].clone(), v["code"].clone()),
        (json!(false), json!("MALFORMED"))
    );

    let expiring = s.new_key("exp", |r| r.expires_in_ms = Some(1_000)).await;
    s.server.clock.advance_ms(1_000);
    assert_eq!(
        verify(&s, s.secret(), expiring.secret.expose()).await["code"],
        "EXPIRED"
    );

    s.server
        .svc()
        .revoke_key(&streamgate::testkit::operator(), other.key.id)
        .await
        .unwrap();
    let v = verify(&s, s.secret(), other.secret.expose()).await;
    assert_eq!(
        (v["valid"].clone(), v["code"].clone()),
        (json!(false), json!("REVOKED"))
    );
    assert_eq!(v["keyId"], other.key.id.to_string());

    // A valid key of another account reads as NOT_FOUND, with nothing about it.
    let acct2 = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "rival", None)
        .await
        .unwrap();
    let rival = common::new_key(&s.server, acct2.id, "rival", |_| {}).await;
    let v = verify(&s, s.secret(), rival.secret.expose()).await;
    assert_eq!(
        v,
        json!({"valid": false, "code": "NOT_FOUND", "keyId": null, "accountId": null, "environment": null,
        "name": null, "permissions": null, "credits": null, "ratelimit": null, "meta": null, "expiresAt": null})
    );

    let unknown = setup(Backend::Sqlite).await;
    assert_eq!(
        verify(&s, s.secret(), unknown.secret()).await["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_in_the_sg_format() {
    let s = setup(Backend::Sqlite).await;
    let post = |body: Vec<u8>, ct: Option<&'static str>| {
        let mut r = s
            .http
            .post(s.url("/sg/v1/keys/verify"))
            .bearer_auth(s.secret())
            .body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send()
    };
    let (code, _) = sg_error(
        post(b"{\"key\":\"x\"}".to_vec(), Some("text/plain"))
            .await
            .unwrap(),
        415,
    )
    .await;
    assert_eq!(code, "unsupported_media_type");
    sg_error(post(b"{\"key\":\"x\"}".to_vec(), None).await.unwrap(), 415).await;
    let (code, msg) = sg_error(
        post(b"{\"key\":".to_vec(), Some("application/json"))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(code, "invalid_json");
    assert!(msg.contains("invalid JSON"), "{msg}");
    let (_, msg) = sg_error(
        post(b"{\"key\":42}".to_vec(), Some("application/json"))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(msg.contains("invalid type"), "{msg}");
    let (_, msg) = sg_error(
        post(
            b"{\"key\":\"a\",\"extra\":1}".to_vec(),
            Some("application/json"),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(msg.contains("unknown field"), "{msg}");
    sg_error(
        post(b"[]".to_vec(), Some("application/json"))
            .await
            .unwrap(),
        400,
    )
    .await;
    sg_error(
        post(vec![0xff, 0xfe], Some("application/json"))
            .await
            .unwrap(),
        400,
    )
    .await;
    let big = format!("{{\"key\":\"{}\"}}", "a".repeat(200_000));
    let (code, _) = sg_error(
        post(big.into_bytes(), Some("application/json"))
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(code, "payload_too_large");
    // Body errors do not hide the auth check: no key, no parsing.
    let res = s
        .http
        .post(s.url("/sg/v1/keys/verify"))
        .body("{")
        .send()
        .await
        .unwrap();
    sg_error(res, 401).await;
}

/// `GET /sg/v1/me` is answered by the accept loop's hot path (`http::hot`) rather than the router:
/// it must answer, be counted and refuse exactly like the routed handler, and everything else on
/// that path (HEAD, other methods) still goes through the router.
#[tokio::test]
async fn me_on_the_hot_path_answers_like_the_router() {
    let s = setup(Backend::Sqlite).await;
    let first = s.me(s.secret()).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "application/json");
    let first = first.text().await.unwrap();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["keyId"], s.key.key.id.to_string());
    // The second answer reuses the body rendered for the cached key: the same bytes.
    assert_eq!(s.me(s.secret()).await.text().await.unwrap(), first);
    // A query string does not change the route.
    let res = s
        .http
        .get(s.url("/sg/v1/me?verbose=1"))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), first);
    // HEAD takes the router: same status and headers, no body.
    let res = s
        .http
        .head(s.url("/sg/v1/me"))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.text().await.unwrap(), "");
    // Refusals in the sg format with the challenge header, counted under the same route.
    let res = s.http.get(s.url("/sg/v1/me")).send().await.unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"streamgate\""
    );
    let (code, message) = sg_error(res, 401).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("no API key"), "{message}");
    let (code, _) = sg_error(s.me("sg_production_nope").await, 401).await;
    assert_eq!(code, "unauthorized");
    let text = s.get_text("/metrics").await;
    for line in [
        "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 3",
        "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"401\"} 2",
        "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"HEAD\",status=\"200\"} 1",
        "streamgate_auth_failures_total{dialect=\"sg\",reason=\"missing\"} 1",
        "streamgate_auth_failures_total{dialect=\"sg\",reason=\"malformed\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    // A revoked key is refused at once: the remembered body is never served for it.
    s.server
        .svc()
        .revoke_key(
            &streamgate::testkit::operator().in_account(s.account.id),
            s.key.key.id,
        )
        .await
        .unwrap();
    let (code, message) = sg_error(s.me(s.secret()).await, 401).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("revoked"), "{message}");

    // The hot path renders each kind of refusal once and sends it again after that: every time
    // the same status, headers and body as a routed sg handler's refusal (`/sg/v1/usage`).
    let revoked = s.secret().to_string();
    for key in [None, Some("sg_production_nope"), Some(revoked.as_str())] {
        let send = |path: &'static str| {
            let req = s.http.get(s.url(path));
            match key {
                Some(k) => req.bearer_auth(k),
                None => req,
            }
            .send()
        };
        let want = refusal(send("/sg/v1/usage").await.unwrap()).await;
        for _ in 0..2 {
            let got = refusal(send("/sg/v1/me").await.unwrap()).await;
            assert_eq!(got, want, "{key:?}");
        }
    }
    let text = s.get_text("/metrics").await;
    for line in [
        "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"401\"} 9",
        "streamgate_auth_failures_total{dialect=\"sg\",reason=\"missing\"} 4",
        "streamgate_auth_failures_total{dialect=\"sg\",reason=\"revoked\"} 4",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

/// What a client sees of a refusal: status, the two headers it depends on, and the body.
async fn refusal(
    res: reqwest::Response,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderValue,
    reqwest::header::HeaderValue,
    String,
) {
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap();
    (
        status,
        headers["content-type"].clone(),
        headers["www-authenticate"].clone(),
        body,
    )
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_sg_format() {
    let s = setup(Backend::Sqlite).await;
    let (code, _) = sg_error(s.http.get(s.url("/sg/v1/nope")).send().await.unwrap(), 404).await;
    assert_eq!(code, "not_found");
    let (code, _) = sg_error(s.http.delete(s.url("/sg/v1/me")).send().await.unwrap(), 405).await;
    assert_eq!(code, "method_not_allowed");
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let s = setup(Backend::Sqlite).await;
    let v = s.get_json("/healthz").await;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["store"], "sqlite");
    // The background probe finds the store up and the change log followed.
    let ready = eventually(Duration::from_secs(5), || async {
        let r = s.http.get(s.url("/readyz")).send().await.unwrap();
        r.status() == 200 && r.json::<Value>().await.unwrap()["status"] == "ready"
    })
    .await;
    assert!(ready.is_some(), "{}", s.get_json("/readyz").await);
    let v = s.get_json("/healthz").await;
    assert_eq!(v["store_reachable"], true);
    assert_eq!(v["migrations_applied"], true);
    assert_eq!(v["ready"], true);
    assert_eq!(s.me(s.secret()).await.status(), 200);
    let res = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("streamgate_http_request_duration_seconds_bucket{route=\"/sg/v1/me\",method=\"GET\",status=\"200\",le=\"+Inf\"} 1"));
    assert!(text.contains("streamgate_key_cache_entries 1"));
    let doc = s.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/sg/v1/me",
        "/sg/v1/keys/verify",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from openapi"
        );
    }
    assert!(doc["components"]["schemas"]["VerifyResponse"].is_object());
}

#[tokio::test]
async fn health_reports_a_store_that_stopped_answering() {
    let s = setup(Backend::Postgres).await;
    let up = eventually(Duration::from_secs(5), || async {
        s.get_json("/healthz").await["store_reachable"] == true
    })
    .await;
    assert!(up.is_some(), "{}", s.get_json("/healthz").await);
    // Pull the tables out from under the running server.
    let schema = s
        .server
        .db
        .url
        .rsplit("search_path%3D")
        .next()
        .unwrap()
        .to_string();
    assert!(schema.starts_with("sgtest_"), "{schema}");
    let mut conn =
        <sqlx::PgConnection as sqlx::Connection>::connect(&streamgate::testkit::postgres_url())
            .await
            .unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
    // The probe finds the store gone: /healthz stays 200 (the process lives) and says so,
    // /readyz answers 503.
    let down = eventually(Duration::from_secs(5), || async {
        s.get_json("/healthz").await["store_reachable"] == false
    })
    .await;
    assert!(down.is_some(), "{}", s.get_json("/healthz").await);
    let res = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["status"].clone(), v["store"].clone()),
        (json!("ok"), json!("postgres"))
    );
    assert_eq!(v["ready"], false);
    let res = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "not_ready");
    // A request that needs the store fails with a clear 503 in the sg format, never a 500.
    let stranger = setup(Backend::Sqlite).await;
    let (code, _) = sg_error(s.me(stranger.secret()).await, 503).await;
    assert_eq!(code, "unavailable");
}

#[tokio::test]
async fn last_used_is_written_back_in_batches() {
    let s = setup(Backend::Sqlite).await;
    let id = s.key.key.id;
    let store = s.server.store().clone();
    assert_eq!(
        store.api_key_by_id(id).await.unwrap().unwrap().last_used_at,
        None
    );
    assert_eq!(s.me(s.secret()).await.status(), 200);
    let now = s.server.clock.now_ms_for_tests();
    s.server.stop().await;
    assert_eq!(
        store.api_key_by_id(id).await.unwrap().unwrap().last_used_at,
        Some(now)
    );
}

/// Reads one HTTP/1.1 response (headers and a `content-length` body) from `conn`; `None` if the
/// server closed the connection first.
async fn read_response(conn: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(text);
            }
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk)).await {
            Ok(Ok(0)) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(_)) => return None,
            Err(_) => panic!(
                "no response within 10 s; got so far: {}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
}

/// Stopping the server lets a request already in flight finish (its answer is sent, then its
/// connection closes), closes idle keep-alive connections at once and accepts no new ones.
#[tokio::test]
async fn stopping_lets_requests_in_flight_finish() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let s = setup(Backend::Sqlite).await;
    let addr = s.server.addr;
    let secret = s.secret().to_string();

    // An idle keep-alive connection: one request answered, then nothing.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: sg\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut idle)
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    // A request in flight: its headers and the first bytes of its body.
    let body = format!("{{\"key\":\"{secret}\"}}");
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /sg/v1/keys/verify HTTP/1.1\r\nhost: sg\r\nauthorization: Bearer {secret}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopped = tokio::spawn(s.server.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopped.is_finished(),
        "the server waits for the request in flight"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );
    assert_eq!(
        read_response(&mut idle).await,
        None,
        "the idle connection is closed"
    );

    busy.write_all(&body.as_bytes()[5..]).await.unwrap();
    let answer = read_response(&mut busy)
        .await
        .expect("the request in flight is answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"valid\":true"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert_eq!(read_response(&mut busy).await, None, "then closed");
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("stopped once the last connection closed")
        .unwrap();
}

async fn revoked_elsewhere_is_refused_within_a_second(backend: Backend) {
    let a = setup(backend).await;
    let b = TestServer::start_on(a.server.db.clone()).await;
    let me_b = |secret: String| {
        let http = a.http.clone();
        let url = b.url("/sg/v1/me");
        async move {
            http.get(url)
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Both instances have the key cached as valid.
    for _ in 0..3 {
        assert_eq!(a.me(a.secret()).await.status(), 200);
        assert_eq!(me_b(a.secret().to_string()).await, 200);
    }
    // Revoke through instance A; instance B must refuse within a second.
    a.server
        .svc()
        .revoke_key(
            &streamgate::testkit::operator().in_account(a.account.id),
            a.key.key.id,
        )
        .await
        .unwrap();
    let secret = a.secret().to_string();
    let took = eventually(Duration::from_secs(1), || me_b(secret.clone()).then_is(401)).await;
    assert!(
        took.is_some(),
        "instance B still accepted a key revoked on instance A after 1 s"
    );
}

trait ThenIs {
    fn then_is(self, status: u16) -> impl std::future::Future<Output = bool>;
}

impl<F: std::future::Future<Output = u16>> ThenIs for F {
    async fn then_is(self, status: u16) -> bool {
        self.await == status
    }
}

#[tokio::test]
async fn revocation_reaches_other_instances_on_sqlite() {
    revoked_elsewhere_is_refused_within_a_second(Backend::Sqlite).await;
}

#[tokio::test]
async fn revocation_reaches_other_instances_on_postgres() {
    revoked_elsewhere_is_refused_within_a_second(Backend::Postgres).await;
}

#[tokio::test]
async fn sandbox_keys_are_never_production_keys() {
    let s = setup(Backend::Postgres).await;
    let sb = s
        .new_key("sb", |r| {
            r.environment = streamgate::domain::Environment::Sandbox
        })
        .await;
    assert!(sb.secret.expose().starts_with("sg_sandbox_"));
    let v: Value = s.me(sb.secret.expose()).await.json().await.unwrap();
    assert_eq!(v["environment"], "sandbox");
}

#[tokio::test]
async fn bad_keys_are_stopped_before_the_store() {
    let s = setup(Backend::Sqlite).await;
    let verifier = s.server.svc().verifier.clone();
    // Once the follower has applied everything logged so far, the cache is trusted and stable.
    let latest = s.server.store().latest_change().await.unwrap();
    assert!(eventually(Duration::from_secs(5), || async {
        verifier.applied_seq() >= latest
    })
    .await
    .is_some());
    assert_eq!(s.me(s.secret()).await.status(), 200);
    let before = verifier.store_lookups();
    // A wrong checksum never gets past the format test.
    let mut typo = s.secret().to_string();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    for _ in 0..20 {
        sg_error(s.me(&typo).await, 401).await;
    }
    assert_eq!(
        verifier.store_lookups(),
        before,
        "a malformed key reached the store"
    );
    // A well-formed unknown key reaches the store once, then the negative cache answers.
    let stranger = setup(Backend::Sqlite).await;
    for _ in 0..20 {
        sg_error(s.me(stranger.secret()).await, 401).await;
    }
    assert_eq!(
        verifier.store_lookups(),
        before + 1,
        "unknown keys must be cached as unknown"
    );
    // A valid key: served from the cache.
    for _ in 0..20 {
        assert_eq!(s.me(s.secret()).await.status(), 200);
    }
    assert_eq!(verifier.store_lookups(), before + 1);
    let text = s.get_text("/metrics").await;
    assert!(
        text.contains(&format!("streamgate_key_store_lookups {}", before + 1)),
        "{text}"
    );
}

#[tokio::test]
async fn a_gap_in_the_change_log_drops_the_whole_cache() {
    let s = setup(Backend::Sqlite).await;
    let verifier = s.server.svc().verifier.clone();
    let store = s.server.store().clone();
    // Let the follower apply everything logged so far (the key's own creation included), then
    // warm the cache.
    let latest = store.latest_change().await.unwrap();
    assert!(eventually(Duration::from_secs(5), || async {
        verifier.applied_seq() >= latest
    })
    .await
    .is_some());
    assert_eq!(s.me(s.secret()).await.status(), 200);
    let lookups = verifier.store_lookups();
    assert_eq!(s.me(s.secret()).await.status(), 200);
    assert_eq!(
        verifier.store_lookups(),
        lookups,
        "the key should now be served from the cache"
    );

    // Revoke behind the server's back with no change entry of its own (as if that entry had been
    // pruned while this instance was cut off): the cache still says valid.
    let pool = sqlx::SqlitePool::connect(&s.server.db.url).await.unwrap();
    sqlx::query("UPDATE api_keys SET revoked_at = 1 WHERE id = $1")
        .bind(s.key.key.id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(s.me(s.secret()).await.status(), 200);
    // A later change arrives with a gap before it: the follower cannot know what it missed.
    sqlx::query("INSERT INTO changes (seq, kind, object_id, key_hash, at) VALUES ($1, 'test.gap', 'x', NULL, 0)")
        .bind(latest + 5)
        .execute(&pool)
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || async {
        verifier.applied_seq() >= latest + 5
    })
    .await
    .is_some());
    let (_, msg) = sg_error(s.me(s.secret()).await, 401).await;
    assert!(msg.contains("revoked"), "{msg}");
}
