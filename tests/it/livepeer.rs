//! Livepeer dialect over HTTP: streams, sessions, multistream targets, key management, CORS keys
//! and the endpoint allowlist, scoping, and `{"errors":[…]}` for every refusal.

use crate::common::{new_key, setup, Setup};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use streamgate::testkit::{Backend, LogCapture};

async fn call(s: &Setup, key: &str, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

async fn call_from(s: &Setup, key: &str, origin: &str, method: Method, path: &str) -> Response {
    s.http
        .request(method, s.url(path))
        .bearer_auth(key)
        .header("origin", origin)
        .send()
        .await
        .expect("request")
}

/// Asserts a Livepeer error body and returns its one message.
async fn lp_error(res: Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: Value = res.json().await.expect("json error");
    let errors = v["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "only `errors`: {v}");
    errors[0].as_str().expect("message").to_string()
}

async fn json_of(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    res.json().await.expect("json")
}

fn acao(res: &Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn stream_lifecycle() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let created = json_of(
        call(
            &s,
            &k,
            Method::POST,
            "/api/stream",
            Some(json!({"name": "cam 7", "record": true})),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    uuid::Uuid::parse_str(&id).expect("Livepeer ids are UUIDs");
    assert_eq!(created["name"], "cam 7");
    assert_eq!(created["isActive"], false);
    assert_eq!(created["record"], true);
    assert_eq!(created["suspended"], false);
    assert!(
        created["createdAt"].as_i64().unwrap() > 1_600_000_000_000,
        "ms"
    );
    let key = created["streamKey"].as_str().unwrap();
    let groups: Vec<&str> = key.split('-').collect();
    assert!(
        groups.len() == 4 && groups.iter().all(|g| g.len() == 4),
        "{key}"
    );
    assert!(!created["playbackId"].as_str().unwrap().is_empty());
    assert_eq!(
        created["profiles"].as_array().unwrap().len(),
        4,
        "default ladder"
    );

    let got = json_of(
        call(&s, &k, Method::GET, &format!("/api/stream/{id}"), None).await,
        200,
    )
    .await;
    assert_eq!(got["streamKey"], created["streamKey"]);

    // GET with the content type some clients send on every request and no body.
    let res = s
        .http
        .get(s.url(&format!("/api/stream/{id}")))
        .bearer_auth(&k)
        .header("content-type", "application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = call(
        &s,
        &k,
        Method::PATCH,
        &format!("/api/stream/{id}"),
        Some(json!({"name": "cam 8", "suspended": true, "userTags": {"site": "north"},
                    "profiles": [{"name": "720p", "width": 1280, "height": 720, "bitrate": 3000000, "fps": 30}]})),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert!(res.text().await.unwrap().is_empty());
    let got = json_of(
        call(&s, &k, Method::GET, &format!("/api/stream/{id}"), None).await,
        200,
    )
    .await;
    assert_eq!(got["name"], "cam 8");
    assert_eq!(got["suspended"], true);
    assert_eq!(got["record"], true, "untouched fields stay");
    assert_eq!(got["userTags"]["site"], "north");
    assert_eq!(got["profiles"][0]["fps"], 30);

    // Sessions come from the ingest hooks; here one is opened through the service.
    let stream = s
        .server
        .svc()
        .get_stream(&actor(&s).await, uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    let session = s
        .server
        .svc()
        .open_session(&stream, "nginx-rtmp", Some("127.0.0.1".into()))
        .await
        .unwrap();
    let sessions = json_of(
        call(
            &s,
            &k,
            Method::GET,
            &format!("/api/stream/{id}/sessions"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(sessions[0]["id"], session.id.to_string());
    assert_eq!(sessions[0]["parentId"], id.as_str());
    let one = json_of(
        call(
            &s,
            &k,
            Method::GET,
            &format!("/api/session/{}", session.id),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(one["name"], "cam 8");
    assert_eq!(one["isActive"], true);

    let res = call(&s, &k, Method::DELETE, &format!("/api/stream/{id}"), None).await;
    assert_eq!(res.status(), 204);
    let msg = lp_error(
        call(&s, &k, Method::GET, &format!("/api/stream/{id}"), None).await,
        404,
    )
    .await;
    assert!(msg.contains("not found"), "{msg}");
    lp_error(
        call(&s, &k, Method::DELETE, &format!("/api/stream/{id}"), None).await,
        404,
    )
    .await;
    lp_error(
        call(&s, &k, Method::GET, "/api/stream/not-a-uuid", None).await,
        404,
    )
    .await;
}

async fn actor(s: &Setup) -> streamgate::domain::Actor {
    s.server.svc().authenticate(s.secret(), None).await.unwrap()
}

#[tokio::test]
async fn streams_are_listed_in_pages_with_a_link_header() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let mut made = vec![];
    for i in 0..5 {
        let v = json_of(
            call(
                &s,
                &k,
                Method::POST,
                "/api/stream",
                Some(json!({"name": format!("s{i}")})),
            )
            .await,
            201,
        )
        .await;
        made.push(v["id"].as_str().unwrap().to_string());
    }
    let mut url = s.url("/api/stream?limit=2");
    let mut seen = vec![];
    for _ in 0..10 {
        let res = s.http.get(&url).bearer_auth(&k).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let link = res
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let page: Vec<Value> = res.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        match link {
            Some(l) => {
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                url = l[1..l.find('>').unwrap()].to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, made);
    lp_error(
        call(&s, &k, Method::GET, "/api/stream?limit=0", None).await,
        400,
    )
    .await;
    lp_error(
        call(&s, &k, Method::GET, "/api/stream?cursor=%%%", None).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn multistream_targets_keep_their_url_secret() {
    let logs = LogCapture::install();
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let url = "rtmp://live.example.com/app/very-secret-target-key-123";
    let t = json_of(
        call(
            &s,
            &k,
            Method::POST,
            "/api/multistream/target",
            Some(json!({"name": "yt", "url": url})),
        )
        .await,
        201,
    )
    .await;
    let tid = t["id"].as_str().unwrap().to_string();
    let mut seen = t.to_string();
    let got = json_of(
        call(
            &s,
            &k,
            Method::GET,
            &format!("/api/multistream/target/{tid}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(got["name"], "yt");
    assert!(got.get("url").is_none(), "write-only: {got}");
    seen.push_str(&got.to_string());
    let res = call(
        &s,
        &k,
        Method::PATCH,
        &format!("/api/multistream/target/{tid}"),
        Some(json!({"disabled": true, "url": "rtmp://other.example.com/app/second-secret-456"})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let list = json_of(
        call(&s, &k, Method::GET, "/api/multistream/target", None).await,
        200,
    )
    .await;
    assert_eq!(list[0]["disabled"], true);
    seen.push_str(&list.to_string());
    // The service still knows the updated URL (it is what a restream would use).
    let kept = s
        .server
        .svc()
        .get_target(&actor(&s).await, uuid::Uuid::parse_str(&tid).unwrap())
        .await
        .unwrap();
    assert_eq!(
        kept.url.expose(),
        "rtmp://other.example.com/app/second-secret-456"
    );
    seen.push_str(&format!("{kept:?}"));

    // A stream may multistream to its own account's targets, or create one inline.
    let st = json_of(
        call(&s, &k, Method::POST, "/api/stream", Some(json!({"name": "m", "multistream": {"targets": [
            {"id": tid, "profile": "source"},
            {"profile": "720p", "videoOnly": true, "spec": {"name": "tw", "url": "rtmp://tw.example/app/inline-secret-789"}}
        ]}}))).await,
        201,
    )
    .await;
    let targets = st["multistream"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert!(
        targets[1]["id"].is_string() && targets[1].get("spec").is_none(),
        "{st}"
    );
    seen.push_str(&st.to_string());
    let msg = lp_error(
        call(
            &s,
            &k,
            Method::POST,
            "/api/stream",
            Some(json!({"name": "m", "multistream": {"targets": [
            {"id": uuid::Uuid::now_v7().to_string(), "profile": "source"}]}})),
        )
        .await,
        400,
    )
    .await;
    assert!(msg.contains("does not exist"), "{msg}");
    lp_error(
        call(
            &s,
            &k,
            Method::POST,
            "/api/multistream/target",
            Some(json!({"name": "x", "url": "http://not-rtmp"})),
        )
        .await,
        400,
    )
    .await;

    // At rest: sealed, not stored in clear (checked in the database file itself).
    let rec = s
        .server
        .store()
        .target(
            streamgate::store::Scope {
                account_id: s.account.id,
                environment: streamgate::domain::Environment::Production,
            },
            uuid::Uuid::parse_str(&tid).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(rec.url_sealed.starts_with("v1.") && !rec.url_sealed.contains("second-secret"));
    let raw = db_bytes(&s);
    for secret in [
        "very-secret-target-key-123",
        "second-secret-456",
        "inline-secret-789",
    ] {
        assert!(!seen.contains(secret), "{secret} was shown");
        assert!(!logs.contents().contains(secret), "{secret} was logged");
        assert!(
            !contains(&raw, secret.as_bytes()),
            "{secret} is in the database in clear"
        );
    }
    let stream_key = st["streamKey"].as_str().unwrap();
    assert!(
        !contains(&raw, stream_key.as_bytes()),
        "stream key in clear"
    );
    assert!(!logs.contents().contains(stream_key), "stream key logged");

    let res = call(
        &s,
        &k,
        Method::DELETE,
        &format!("/api/multistream/target/{tid}"),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    lp_error(
        call(
            &s,
            &k,
            Method::GET,
            &format!("/api/multistream/target/{tid}"),
            None,
        )
        .await,
        404,
    )
    .await;
}

/// The SQLite database and its WAL, as bytes.
fn db_bytes(s: &Setup) -> Vec<u8> {
    let path = s.server.db.url.trim_start_matches("sqlite://").to_string();
    let mut out = std::fs::read(&path).expect("db file");
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        out.extend(wal);
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn objects_of_other_accounts_and_environments_are_404() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let k = s.secret().to_string();
        let st = json_of(
            call(
                &s,
                &k,
                Method::POST,
                "/api/stream",
                Some(json!({"name": "mine"})),
            )
            .await,
            201,
        )
        .await;
        let t = json_of(
            call(
                &s,
                &k,
                Method::POST,
                "/api/multistream/target",
                Some(json!({"url": "rtmp://a.example/x"})),
            )
            .await,
            201,
        )
        .await;
        let sid = st["id"].as_str().unwrap();
        let tid = t["id"].as_str().unwrap();
        let other = s
            .server
            .svc()
            .create_account(&streamgate::testkit::operator(), "other", None)
            .await
            .unwrap();
        let theirs = new_key(&s.server, other.id, "theirs", |_| {}).await;
        let sandbox = s
            .new_key("sandbox", |r| {
                r.environment = streamgate::domain::Environment::Sandbox
            })
            .await;
        for key in [theirs.secret.expose(), sandbox.secret.expose()] {
            for (m, p, b) in [
                (Method::GET, format!("/api/stream/{sid}"), None),
                (
                    Method::PATCH,
                    format!("/api/stream/{sid}"),
                    Some(json!({"name": "x"})),
                ),
                (Method::DELETE, format!("/api/stream/{sid}"), None),
                (Method::GET, format!("/api/stream/{sid}/sessions"), None),
                (Method::GET, format!("/api/multistream/target/{tid}"), None),
                (
                    Method::PATCH,
                    format!("/api/multistream/target/{tid}"),
                    Some(json!({"name": "x"})),
                ),
                (
                    Method::DELETE,
                    format!("/api/multistream/target/{tid}"),
                    None,
                ),
                (
                    Method::GET,
                    format!("/api/api-token/{}", s.key.key.id),
                    None,
                ),
                (
                    Method::DELETE,
                    format!("/api/api-token/{}", s.key.key.id),
                    None,
                ),
            ] {
                lp_error(call(&s, key, m, &p, b).await, 404).await;
            }
            let list = json_of(call(&s, key, Method::GET, "/api/stream", None).await, 200).await;
            assert_eq!(list, json!([]));
        }
        // And nothing changed.
        let got = json_of(
            call(&s, &k, Method::GET, &format!("/api/stream/{sid}"), None).await,
            200,
        )
        .await;
        assert_eq!(got["name"], "mine");
        json_of(
            call(
                &s,
                &k,
                Method::GET,
                &format!("/api/multistream/target/{tid}"),
                None,
            )
            .await,
            200,
        )
        .await;
    }
}

#[tokio::test]
async fn api_tokens_are_core_keys() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let made = json_of(
        call(&s, &k, Method::POST, "/api/api-token", Some(json!({"name": "web",
            "access": {"cors": {"allowedOrigins": ["http://localhost:3000"], "fullAccess": false}}}))).await,
        201,
    )
    .await;
    let secret = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(
        made["access"]["cors"]["allowedOrigins"][0],
        "http://localhost:3000"
    );
    // The same key the CLI and /sg/v1 know.
    assert_eq!(s.me(&secret).await.status(), 200);
    let list = json_of(call(&s, &k, Method::GET, "/api/api-token", None).await, 200).await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id.as_str()));
    assert!(!list.to_string().contains(&secret), "list shows a secret");
    let one = json_of(
        call(&s, &k, Method::GET, &format!("/api/api-token/{id}"), None).await,
        200,
    )
    .await;
    assert!(one.get("key").is_none());
    // A restricted CORS key cannot manage keys, even without an Origin.
    lp_error(
        call(&s, &secret, Method::GET, "/api/api-token", None).await,
        403,
    )
    .await;
    lp_error(
        call(
            &s,
            &secret,
            Method::POST,
            "/api/api-token",
            Some(json!({"name": "escalate"})),
        )
        .await,
        403,
    )
    .await;
    lp_error(
        call(
            &s,
            &k,
            Method::POST,
            "/api/api-token",
            Some(json!({"name": "bad",
            "access": {"cors": {"allowedOrigins": ["localhost:3000/path"]}}})),
        )
        .await,
        400,
    )
    .await;
    let res = call(
        &s,
        &k,
        Method::DELETE,
        &format!("/api/api-token/{id}"),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let msg = lp_error(
        call(
            &s,
            &secret,
            Method::POST,
            "/api/stream",
            Some(json!({"name": "x"})),
        )
        .await,
        401,
    )
    .await;
    assert!(msg.contains("revoked"), "{msg}");
}

#[tokio::test]
async fn cors_keys_origins_and_the_allowlist() {
    let s = setup(Backend::Sqlite).await;
    let backend_key = s.secret().to_string();
    let app = "http://127.0.0.1:5173";
    let cors = s
        .new_key("web", |r| r.allowed_origins = vec![app.into()])
        .await;
    let cors = cors.secret.expose().to_string();
    let star = s
        .new_key("any", |r| r.allowed_origins = vec!["*".into()])
        .await;
    let star = star.secret.expose().to_string();
    let full = s
        .new_key("full", |r| {
            r.allowed_origins = vec![app.into()];
            r.full_access = true;
        })
        .await;
    let full = full.secret.expose().to_string();

    // Preflight: no key yet, answered for the asking origin.
    let res = s
        .http
        .request(Method::OPTIONS, s.url("/api/stream"))
        .header("origin", app)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(acao(&res).as_deref(), Some(app));
    let allow_headers = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PATCH"));

    // A backend key from a browser: refused, and without ACAO so the page cannot read anything.
    let res = call_from(&s, &backend_key, app, Method::GET, "/api/stream").await;
    assert_eq!(acao(&res), None);
    let msg = lp_error(res, 403).await;
    assert_eq!(
        msg,
        format!("credential disallows CORS access from origin {app}")
    );
    // The same key from a backend (no Origin) is fine.
    assert_eq!(
        call(&s, &backend_key, Method::GET, "/api/stream", None)
            .await
            .status(),
        200
    );

    // A CORS key: its origin only (scheme, host and port all count).
    let st = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(&cors)
        .header("origin", app)
        .json(&json!({"name": "from the browser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&st).as_deref(), Some(app));
    let st = json_of(st, 201).await;
    let path = format!("/api/stream/{}", st["id"].as_str().unwrap());
    assert_eq!(
        call_from(&s, &cors, app, Method::GET, &path).await.status(),
        200
    );
    for other in [
        "http://127.0.0.1:5174",
        "https://127.0.0.1:5173",
        "http://evil.example",
    ] {
        let res = call_from(&s, &cors, other, Method::GET, &path).await;
        assert_eq!(acao(&res), None);
        let msg = lp_error(res, 403).await;
        assert!(msg.ends_with(other), "{msg}");
    }
    // `*`: any origin.
    assert_eq!(
        call_from(&s, &star, "http://evil.example", Method::GET, &path)
            .await
            .status(),
        200
    );

    // Restricted (no full access): the allowlist only; refusals are readable by the allowed page.
    for (m, p) in [
        (Method::GET, "/api/stream".to_string()),
        (Method::DELETE, path.clone()),
        (Method::GET, "/api/multistream/target".to_string()),
        (Method::GET, "/api/api-token".to_string()),
    ] {
        let res = call_from(&s, &cors, app, m.clone(), &p).await;
        assert_eq!(acao(&res).as_deref(), Some(app), "{m} {p}");
        let msg = lp_error(res, 403).await;
        assert!(msg.contains("restricted access"), "{m} {p}: {msg}");
    }
    assert_eq!(
        call_from(&s, &full, app, Method::GET, "/api/stream")
            .await
            .status(),
        200
    );
    assert_eq!(
        call_from(&s, &full, app, Method::DELETE, &path)
            .await
            .status(),
        204
    );
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains("reason=\"cors_origin\""),
        "refusals are counted"
    );
    assert!(metrics.contains("reason=\"cors_restricted\""));
}

#[tokio::test]
async fn bad_input_is_refused_in_livepeer_format() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let post = |body: &'static str, ct: &'static str| {
        s.http
            .post(s.url("/api/stream"))
            .bearer_auth(&k)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    lp_error(post("{\"name\":", "application/json").await.unwrap(), 400).await;
    lp_error(
        post("{\"name\":\"a\",\"record\":\"yes\"}", "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    let msg = lp_error(
        post("{\"name\":\"a\",\"bogus\":1}", "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(msg.contains("bogus"), "{msg}");
    lp_error(post("{}", "application/json").await.unwrap(), 400).await;
    lp_error(post("{\"name\":\"a\"}", "text/plain").await.unwrap(), 415).await;
    let long = json!({"name": "x".repeat(201)});
    let msg = lp_error(
        call(&s, &k, Method::POST, "/api/stream", Some(long)).await,
        400,
    )
    .await;
    assert!(msg.contains("at most 200"), "{msg}");
    let big = json!({"name": "a", "userTags": {"t": "x".repeat(70_000)}});
    lp_error(
        call(&s, &k, Method::POST, "/api/stream", Some(big)).await,
        413,
    )
    .await;
    let msg = lp_error(s.http.get(s.url("/api/stream")).send().await.unwrap(), 401).await;
    assert!(msg.contains("API key"), "{msg}");
    lp_error(
        call(
            &s,
            "sg_production_nonsense",
            Method::GET,
            "/api/stream",
            None,
        )
        .await,
        401,
    )
    .await;
    lp_error(
        call(&s, &k, Method::GET, "/api/no-such-thing", None).await,
        404,
    )
    .await;
    lp_error(call(&s, &k, Method::PUT, "/api/stream", None).await, 405).await;
    // Nothing was created by any of it.
    let list = json_of(call(&s, &k, Method::GET, "/api/stream", None).await, 200).await;
    assert_eq!(list, json!([]));
}

/// `GET /api/session` pages through the account's sessions, newest first; a stream's sessions
/// filter by whether they were recorded.
#[tokio::test]
async fn sessions_are_listed_and_filtered_by_recording() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let key = s.secret().to_string();
        let make = |record: bool| {
            let (s, key) = (&s, key.clone());
            async move {
                let res = call(
                    s,
                    &key,
                    Method::POST,
                    "/api/stream",
                    Some(json!({"name": "cam", "record": record})),
                )
                .await;
                json_of(res, 201).await
            }
        };
        let (recorded, plain) = (make(true).await, make(false).await);
        for st in [&recorded, &plain] {
            s.server.clock.advance_ms(1000);
            let k = st["streamKey"].as_str().unwrap();
            for call in ["publish", "publish-done"] {
                let res = s
                    .http
                    .post(
                        s.server
                            .ingest_url(&format!("/ingest/nginx-rtmp/{call}"))
                            .await,
                    )
                    .form(&[("app", "live"), ("name", k), ("addr", "10.7.0.1")])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(crate::common::hook_status(&res), 200);
            }
        }
        // Newest first, a page at a time.
        let all = json_of(call(&s, &key, Method::GET, "/api/session", None).await, 200).await;
        let parents: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["parentId"].as_str().unwrap())
            .collect();
        assert_eq!(
            parents,
            [
                plain["id"].as_str().unwrap(),
                recorded["id"].as_str().unwrap()
            ]
        );
        assert_eq!(all[0]["record"], false);
        assert_eq!(all[1]["record"], true);
        let res = call(&s, &key, Method::GET, "/api/session?limit=1", None).await;
        let link = res.headers()["link"].to_str().unwrap().to_string();
        let first = json_of(res, 200).await;
        assert_eq!(first.as_array().unwrap().len(), 1);
        let next = link
            .split('<')
            .nth(1)
            .and_then(|l| l.split('>').next())
            .unwrap();
        let next = &next[next.find("/api/").unwrap()..];
        let res = call(&s, &key, Method::GET, next, None).await;
        assert!(res.headers().get("link").is_none(), "the last page");
        let second = json_of(res, 200).await;
        assert_eq!(second[0]["parentId"], recorded["id"]);
        // A stream's sessions by recording.
        let rid = recorded["id"].as_str().unwrap();
        for (query, n) in [
            ("", 1),
            ("?record=true", 1),
            ("?record=1", 1),
            ("?record=false", 0),
            ("?record=0", 0),
        ] {
            let path = format!("/api/stream/{rid}/sessions{query}");
            let got = json_of(call(&s, &key, Method::GET, &path, None).await, 200).await;
            assert_eq!(got.as_array().unwrap().len(), n, "{query}");
        }
        let path = format!("/api/stream/{rid}/sessions?record=maybe");
        lp_error(call(&s, &key, Method::GET, &path, None).await, 400).await;
        lp_error(
            call(&s, &key, Method::GET, "/api/session?cursor=junk", None).await,
            400,
        )
        .await;
        // Another account sees none of them.
        let other = s
            .server
            .svc()
            .create_account(&streamgate::testkit::operator(), "other", None)
            .await
            .unwrap();
        let theirs = new_key(&s.server, other.id, "o", |_| {}).await;
        let none = call(
            &s,
            theirs.secret.expose(),
            Method::GET,
            "/api/session",
            None,
        )
        .await;
        assert_eq!(json_of(none, 200).await, json!([]));
    }
}

/// Livepeer's stream operations on multistream targets: one added (by id, or made from a spec)
/// or removed, on the stream as it is.
#[tokio::test]
async fn multistream_targets_are_added_to_and_removed_from_a_stream() {
    let s = setup(Backend::Sqlite).await;
    let key = s.secret().to_string();
    let st = json_of(
        call(
            &s,
            &key,
            Method::POST,
            "/api/stream",
            Some(json!({"name": "cam"})),
        )
        .await,
        201,
    )
    .await;
    let id = st["id"].as_str().unwrap();
    let t = json_of(
        call(
            &s,
            &key,
            Method::POST,
            "/api/multistream/target",
            Some(json!({"name": "yt", "url": "rtmp://a.example/live/secret1"})),
        )
        .await,
        201,
    )
    .await;
    let tid = t["id"].as_str().unwrap();
    let add = format!("/api/stream/{id}/create-multistream-target");
    let targets = || async {
        let got = json_of(
            call(&s, &key, Method::GET, &format!("/api/stream/{id}"), None).await,
            200,
        )
        .await;
        got["multistream"]["targets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let res = call(
        &s,
        &key,
        Method::POST,
        &add,
        Some(json!({"profile": "source", "id": tid})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let res = call(
        &s,
        &key,
        Method::POST,
        &add,
        Some(json!({"profile": "720p0", "videoOnly": true, "spec": {"name": "tw", "url": "rtmp://b.example/app/secret2"}})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let now = targets().await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert_eq!(now[0]["id"], tid);
    let made = now[1]["id"].as_str().unwrap().to_string();
    assert!(
        !serde_json::to_string(&now).unwrap().contains("secret2"),
        "a spec's URL is write-only"
    );
    let listed = json_of(
        call(&s, &key, Method::GET, "/api/multistream/target", None).await,
        200,
    )
    .await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the spec made a target"
    );
    // Removed: the stream no longer uses it; again, or an unknown one, is 404.
    let remove = format!("/api/stream/{id}/multistream/{tid}");
    assert_eq!(
        call(&s, &key, Method::DELETE, &remove, None).await.status(),
        204
    );
    let now = targets().await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["id"], made.as_str());
    lp_error(call(&s, &key, Method::DELETE, &remove, None).await, 404).await;
    let unknown = format!("/api/stream/{id}/multistream/{}", uuid::Uuid::new_v4());
    lp_error(call(&s, &key, Method::DELETE, &unknown, None).await, 404).await;
    // Bad targets are refused; another account's stream or target is not found.
    lp_error(
        call(&s, &key, Method::POST, &add, Some(json!({"id": tid}))).await,
        400,
    )
    .await;
    lp_error(
        call(
            &s,
            &key,
            Method::POST,
            &add,
            Some(json!({"profile": "source"})),
        )
        .await,
        400,
    )
    .await;
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let theirs = new_key(&s.server, other.id, "o", |_| {}).await;
    let theirs = theirs.secret.expose().to_string();
    lp_error(
        call(
            &s,
            &theirs,
            Method::POST,
            &add,
            Some(json!({"profile": "source", "id": made})),
        )
        .await,
        404,
    )
    .await;
    let their_stream = json_of(
        call(
            &s,
            &theirs,
            Method::POST,
            "/api/stream",
            Some(json!({"name": "x"})),
        )
        .await,
        201,
    )
    .await;
    let their_add = format!(
        "/api/stream/{}/create-multistream-target",
        their_stream["id"].as_str().unwrap()
    );
    lp_error(
        call(
            &s,
            &theirs,
            Method::POST,
            &their_add,
            Some(json!({"profile": "source", "id": made})),
        )
        .await,
        400,
    )
    .await;
}
