//! The key lifecycle through streamgate's own API: create with permissions, limits, credits and
//! meta; list, read, change, revoke; reroll with and without a grace period; verification with
//! every code; and the same through the CLI.

use std::time::Duration;

use crate::common::{eventually, setup, Setup};
use serde_json::{json, Value};
use streamgate::testkit::{Backend, TestServer};

async fn call(
    s: &Setup,
    secret: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(secret);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let v = res.json().await.unwrap_or(Value::Null);
    (status, v)
}

async fn verify(s: &Setup, key: &str, permission: Option<&str>) -> Value {
    let mut body = json!({ "key": key });
    if let Some(p) = permission {
        body["permission"] = json!(p);
    }
    let (status, v) = call(
        s,
        s.secret(),
        reqwest::Method::POST,
        "/sg/v1/keys/verify",
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_created_changed_and_revoked_with_their_permissions_limits_and_credits() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let post = reqwest::Method::POST;
        let (status, k) = call(
            &s,
            s.secret(),
            post.clone(),
            "/sg/v1/keys",
            Some(json!({
                "name": "reader", "permissions": ["streams:read", "streams:list"],
                "ratelimit": {"limit": 100, "durationSeconds": 60},
                "credits": {"remaining": 5, "refill": {"interval": "daily", "amount": 5}},
                "meta": {"plan": "free"}, "expiresAt": "2999-01-01T00:00:00Z"
            })),
        )
        .await;
        assert_eq!(status, 201, "{k}");
        let secret = k["key"].as_str().unwrap().to_string();
        assert!(secret.starts_with("sg_production_"));
        assert_eq!(k["permissions"], json!(["streams:read", "streams:list"]));
        assert_eq!(k["ratelimit"], json!({"limit": 100, "durationSeconds": 60}));
        assert_eq!(k["credits"]["remaining"], 5);
        assert_eq!(k["meta"], json!({"plan": "free"}));
        let id = k["id"].as_str().unwrap().to_string();

        // Listed and read without the secret.
        let (_, list) = call(&s, s.secret(), reqwest::Method::GET, "/sg/v1/keys", None).await;
        let listed = list["data"].as_array().unwrap();
        assert!(listed.iter().any(|x| x["id"] == id.as_str()));
        assert!(
            !list.to_string().contains(&secret),
            "a list shows no secret"
        );
        let (status, one) = call(
            &s,
            s.secret(),
            reqwest::Method::GET,
            &format!("/sg/v1/keys/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(one.get("key").is_none());

        // The permissions hold in every dialect: it may list streams, not create them.
        assert_eq!(
            call(&s, &secret, reqwest::Method::GET, "/api/stream", None)
                .await
                .0,
            200
        );
        let (status, err) = call(
            &s,
            &secret,
            post.clone(),
            "/api/stream",
            Some(json!({"name": "x"})),
        )
        .await;
        assert_eq!(status, 403);
        assert!(
            err["errors"][0]
                .as_str()
                .unwrap()
                .contains("streams:create"),
            "{err}"
        );
        let res = s
            .http
            .post(s.url("/live-streams"))
            .basic_auth(&secret, Some(""))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        // Spending: two requests above were admitted (and one refused by permission, also
        // admitted); the verify path reports what is left.
        let v = verify(&s, &secret, Some("streams:read")).await;
        assert_eq!(v["code"], "VALID", "{v}");
        assert_eq!(v["meta"], json!({"plan": "free"}));
        assert_eq!(v["ratelimit"]["limit"], 100);
        assert_eq!(
            verify(&s, &secret, Some("streams:create")).await["code"],
            "INSUFFICIENT_PERMISSIONS"
        );
        assert!(verify(&s, &secret, None).await["credits"].as_i64().unwrap() <= 1);
        // Out of credits: 429 in the dialect's format, USAGE_EXCEEDED for verify.
        for _ in 0..3 {
            let _ = call(&s, &secret, reqwest::Method::GET, "/api/stream", None).await;
        }
        let (status, err) = call(&s, &secret, reqwest::Method::GET, "/api/stream", None).await;
        assert_eq!(status, 429, "{err}");
        assert_eq!(verify(&s, &secret, None).await["code"], "USAGE_EXCEEDED");

        // PATCH: more credits, no more explicit permissions (back to the preset: everything).
        let (status, changed) = call(
            &s,
            s.secret(),
            reqwest::Method::PATCH,
            &format!("/sg/v1/keys/{id}"),
            Some(json!({
                "credits": {"remaining": 1000}, "permissions": null, "name": "writer"
            })),
        )
        .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["permissions"], json!(["*"]));
        assert_eq!(changed["name"], "writer");
        // Honoured at once on this instance (and within a second elsewhere: the change log).
        let (status, _) = call(
            &s,
            &secret,
            post.clone(),
            "/api/stream",
            Some(json!({"name": "x"})),
        )
        .await;
        assert_eq!(status, 201);

        // A key cannot be given more than its creator holds.
        let (status, _) = call(
            &s,
            &secret,
            reqwest::Method::PATCH,
            &format!("/sg/v1/keys/{id}"),
            Some(json!({"permissions": ["streams:read"]})),
        )
        .await;
        assert_eq!(status, 200, "a key may narrow itself");
        let (status, err) = call(
            &s,
            &secret,
            post.clone(),
            "/sg/v1/keys",
            Some(json!({"name": "escalate", "permissions": ["*"]})),
        )
        .await;
        assert_eq!(status, 403, "{err}");

        // Bad input: clear errors in the sg format.
        for bad in [
            json!({"name": "x", "permissions": ["streams:fly"]}),
            json!({"name": "x", "ratelimit": {"limit": 0, "durationSeconds": 60}}),
            json!({"name": "x", "credits": {"remaining": -1}}),
            json!({"name": "x", "credits": {"remaining": 1, "refill": {"interval": "hourly", "amount": 1}}}),
            json!({"name": "x", "meta": [1]}),
            json!({"name": "x", "expiresAt": "yesterday"}),
            json!({"name": "x", "environment": "staging"}),
        ] {
            let (status, err) = call(
                &s,
                s.secret(),
                post.clone(),
                "/sg/v1/keys",
                Some(bad.clone()),
            )
            .await;
            assert_eq!(status, 400, "{bad}: {err}");
            assert!(err["error"]["message"].is_string());
        }

        // Revoke: 204, then refused.
        let (status, _) = call(
            &s,
            s.secret(),
            reqwest::Method::DELETE,
            &format!("/sg/v1/keys/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(s.me(&secret).await.status(), 401);
        assert_eq!(verify(&s, &secret, None).await["code"], "REVOKED");
        let (status, _) = call(
            &s,
            s.secret(),
            reqwest::Method::GET,
            &format!("/sg/v1/keys/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reroll_keeps_the_settings_and_the_old_key_works_for_its_grace_only() {
    let s = setup(Backend::Postgres).await;
    let other = TestServer::start_on(s.server.db.clone()).await;
    let (_, k) = call(&s, s.secret(), reqwest::Method::POST, "/sg/v1/keys", Some(json!({
        "name": "rolling", "permissions": ["streams:*"], "ratelimit": {"limit": 50, "durationSeconds": 10}
    }))).await;
    let old = k["key"].as_str().unwrap().to_string();
    let id = k["id"].as_str().unwrap().to_string();
    // Cached on the other instance before the reroll.
    let me = |url: String, key: String| async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me(other.url("/sg/v1/me"), old.clone()).await, 200);

    let (status, new) = call(
        &s,
        s.secret(),
        reqwest::Method::POST,
        &format!("/sg/v1/keys/{id}/reroll"),
        Some(json!({"gracePeriodSeconds": 60})),
    )
    .await;
    assert_eq!(status, 201, "{new}");
    let fresh = new["key"].as_str().unwrap().to_string();
    assert_ne!(new["id"], k["id"]);
    assert_eq!(new["permissions"], json!(["streams:*"]));
    assert_eq!(
        new["ratelimit"],
        json!({"limit": 50, "durationSeconds": 10})
    );
    assert_eq!(new["name"], "rolling");
    // Both work during the grace period.
    assert_eq!(s.me(&old).await.status(), 200);
    assert_eq!(s.me(&fresh).await.status(), 200);
    // After it, the old one is expired everywhere.
    s.server.clock.advance_ms(61_000);
    other.clock.advance_ms(61_000);
    assert_eq!(s.me(&old).await.status(), 401);
    let gone = eventually(Duration::from_secs(2), || {
        let (u, o) = (other.url("/sg/v1/me"), old.clone());
        async move { me(u, o).await == 401 }
    })
    .await;
    assert!(gone.is_some(), "the other instance still takes the old key");
    assert_eq!(me(other.url("/sg/v1/me"), fresh.clone()).await, 200);

    // A grace of 0: refused at once, here and on the other instance within a second.
    let fresh_id = new["id"].as_str().unwrap().to_string();
    let (status, newer) = call(
        &s,
        s.secret(),
        reqwest::Method::POST,
        &format!("/sg/v1/keys/{fresh_id}/reroll"),
        Some(json!({"gracePeriodSeconds": 0})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(s.me(&fresh).await.status(), 401);
    let gone = eventually(Duration::from_secs(1), || {
        let (u, o) = (other.url("/sg/v1/me"), fresh.clone());
        async move { me(u, o).await == 401 }
    })
    .await;
    assert!(
        gone.is_some(),
        "the rerolled key still works on the other instance"
    );
    assert_eq!(s.me(newer["key"].as_str().unwrap()).await.status(), 200);
    // Another account's key cannot be rerolled: not found.
    let (status, _) = call(
        &s,
        s.secret(),
        reqwest::Method::POST,
        "/sg/v1/keys/01900000-0000-7000-8000-000000000000/reroll",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn credits_are_spent_without_a_write_per_request_and_refilled() {
    let s = setup(Backend::Sqlite).await;
    let (_, k) = call(&s, s.secret(), reqwest::Method::POST, "/sg/v1/keys", Some(json!({
        "name": "metered", "credits": {"remaining": 3, "refill": {"interval": "daily", "amount": 2}}
    }))).await;
    let secret = k["key"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(s.me(&secret).await.status(), 200);
    }
    assert_eq!(s.me(&secret).await.status(), 429);
    // The spend reaches the store in the next batch, not per request.
    s.server.svc().usage.flush().await;
    let id = uuid::Uuid::parse_str(k["id"].as_str().unwrap()).unwrap();
    let stored = s.server.store().api_key_by_id(id).await.unwrap().unwrap();
    assert_eq!(stored.policy.credits.unwrap().remaining, 0);
    // A day later the refill restores them.
    let now = streamgate::clock::Clock::now_ms(&*s.server.clock);
    let refilled = s
        .server
        .store()
        .refill_credits(now + 86_400_001)
        .await
        .unwrap();
    assert_eq!(refilled, 1);
    let back = eventually(Duration::from_secs(2), || async {
        s.me(&secret).await.status() == 200
    })
    .await;
    assert!(back.is_some(), "refilled credits are not honoured");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_creates_updates_and_rerolls_keys() {
    let s = setup(Backend::Sqlite).await;
    let bin = env!("CARGO_BIN_EXE_streamgate");
    let run = |args: Vec<String>| {
        let url = s.server.db.url.clone();
        let mk = s.server.db.master_key.clone();
        async move {
            let out = tokio::process::Command::new(bin)
                .args(&args)
                .env("STREAMGATE_DATABASE_URL", url)
                .env("STREAMGATE_MASTER_KEY", mk)
                .env(
                    "STREAMGATE_DATA_DIR",
                    std::env::temp_dir().join("streamgate-cli-keys"),
                )
                .env_remove("RUST_LOG")
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        }
    };
    let number = s.account.number.as_str().to_string();
    let created = run(vec![
        "key".into(),
        "create".into(),
        "--account".into(),
        number.clone(),
        "--name".into(),
        "ci".into(),
        "--permission".into(),
        "streams:read".into(),
        "--permission".into(),
        "keys:*".into(),
        "--ratelimit".into(),
        "10/60s".into(),
        "--credits".into(),
        "100".into(),
        "--json".into(),
    ])
    .await;
    assert_eq!(created["permissions"], json!(["streams:read", "keys:*"]));
    assert_eq!(
        created["ratelimit"],
        json!({"limit": 10, "durationSeconds": 60})
    );
    assert_eq!(created["credits"]["remaining"], 100);
    let id = created["id"].as_str().unwrap().to_string();
    let updated = run(vec![
        "key".into(),
        "update".into(),
        id.clone(),
        "--clear-ratelimit".into(),
        "--permission".into(),
        "*".into(),
        "--json".into(),
    ])
    .await;
    assert_eq!(updated["ratelimit"], Value::Null);
    assert_eq!(updated["permissions"], json!(["*"]));
    let rolled = run(vec![
        "key".into(),
        "reroll".into(),
        id.clone(),
        "--grace".into(),
        "0s".into(),
        "--json".into(),
    ])
    .await;
    let new_secret = rolled["key"].as_str().unwrap();
    assert_ne!(rolled["id"], created["id"]);
    assert_eq!(s.me(new_secret).await.status(), 200);
    assert_eq!(s.me(created["key"].as_str().unwrap()).await.status(), 401);
    // One event name per action, whoever called.
    let audit = s
        .server
        .store()
        .query_audit(Some(s.account.id), None, 0, 100)
        .await
        .unwrap();
    for action in ["api_key.create", "api_key.update", "api_key.reroll"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == "operator"),
            "{action}"
        );
    }
}
