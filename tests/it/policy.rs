//! One policy for every dialect: the Origin rule and preflights, rate limits with their headers
//! and 429s in each dialect's format, a replayed refresh token killing its family's access tokens
//! everywhere, and sandbox and production kept apart in audit and usage.

use std::time::Duration;

use crate::common::{eventually, setup, setup_with, Setup};
use reqwest::Method;
use serde_json::{json, Value};
use streamgate::domain::Environment;
use streamgate::testkit::{Backend, TestServer};

const ORIGIN: &str = "https://app.example";

/// One read route per dialect, and how it presents the key.
fn reads(s: &Setup) -> Vec<(&'static str, String, &'static str)> {
    let number = s.account.number.as_str().to_string();
    vec![
        ("sg", "/sg/v1/usage".into(), "bearer"),
        ("livepeer", "/api/stream".into(), "bearer"),
        ("apivideo", "/live-streams".into(), "basic"),
        (
            "edgecast",
            format!("/v2/mcc/customers/{number}/httpstreaming/dcp/streamkeys"),
            "tok",
        ),
        ("brightcove", "/v1/credentials".into(), "x-api-key"),
    ]
}

fn with_key(req: reqwest::RequestBuilder, style: &str, key: &str) -> reqwest::RequestBuilder {
    match style {
        "basic" => req.basic_auth(key, Some("")),
        "tok" => req.header("authorization", format!("TOK:{key}")),
        "x-api-key" => req.header("x-api-key", key),
        _ => req.bearer_auth(key),
    }
}

/// The error message in a dialect's own body.
fn message(dialect: &str, v: &Value) -> String {
    match dialect {
        "sg" => v["error"]["message"].as_str(),
        "livepeer" => v["errors"][0].as_str(),
        "apivideo" => v["title"].as_str(),
        "edgecast" => v["Message"].as_str(),
        _ => v["error"].as_str(),
    }
    .unwrap_or_default()
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_origin_rule_and_preflights_hold_in_every_dialect() {
    let s = setup(Backend::Sqlite).await;
    let browser = s
        .new_key("browser", |r| {
            r.allowed_origins = vec![ORIGIN.into()];
            r.full_access = true;
        })
        .await;
    for (dialect, path, style) in reads(&s) {
        // A backend-only key from a page: refused, without Access-Control-Allow-Origin.
        let res = with_key(s.http.get(s.url(&path)), style, s.secret())
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{dialect}");
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{dialect}"
        );
        let v: Value = res.json().await.unwrap();
        assert!(
            message(dialect, &v).contains("disallows CORS access from origin"),
            "{dialect}: {v}"
        );
        // A CORS key from its origin: allowed, with the origin reflected.
        let res = with_key(s.http.get(s.url(&path)), style, browser.secret.expose())
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{dialect}");
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            ORIGIN,
            "{dialect}"
        );
        // ... and from another origin: refused.
        let res = with_key(s.http.get(s.url(&path)), style, browser.secret.expose())
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{dialect}");
        // Preflights are answered for every dialect's routes.
        let res = s
            .http
            .request(Method::OPTIONS, s.url(&path))
            .header("origin", ORIGIN)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{dialect} preflight");
        assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    }
    // The dashboard is not an API: no CORS there.
    let res = s
        .http
        .request(Method::OPTIONS, s.url("/dashboard/login"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restricted_browser_key_is_refused_the_same_operations_in_every_dialect() {
    let s = setup(Backend::Sqlite).await;
    let restricted = s
        .new_key("restricted", |r| r.allowed_origins = vec![ORIGIN.into()])
        .await;
    let key = restricted.secret.expose();
    let number = s.account.number.as_str().to_string();
    let refused: Vec<(&str, Method, String, &str)> = vec![
        ("apivideo", Method::GET, "/live-streams".into(), "basic"),
        (
            "edgecast",
            Method::GET,
            format!("/v2/mcc/customers/{number}/httpstreaming/dcp/streamkeys"),
            "tok",
        ),
        (
            "edgecast",
            Method::GET,
            format!("/v2/mcc/customers/{number}/httpstreaming/dcp/globalkey"),
            "tok",
        ),
        ("apivideo", Method::POST, "/webhooks".into(), "basic"),
        (
            "brightcove",
            Method::POST,
            "/v1/credentials".into(),
            "x-api-key",
        ),
        ("sg", Method::GET, "/sg/v1/usage".into(), "bearer"),
        ("brightcove", Method::GET, "/v1/audit".into(), "x-api-key"),
        ("livepeer", Method::GET, "/api/stream".into(), "bearer"),
        ("livepeer", Method::GET, "/api/api-token".into(), "bearer"),
    ];
    for (dialect, method, path, style) in refused {
        for origin in [None, Some(ORIGIN)] {
            let body = match path.as_str() {
                "/webhooks" => {
                    json!({"events": ["live-stream.broadcast.started"], "url": "https://hooks.example/x"})
                }
                "/v1/credentials" => {
                    json!({"credential_label": "l", "credential_type": "http", "credential_public": "u", "credential_private": "p"})
                }
                _ => json!({"name": "x"}),
            };
            let mut req =
                with_key(s.http.request(method.clone(), s.url(&path)), style, key).json(&body);
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                403,
                "{dialect} {method} {path} from {origin:?}"
            );
            let v: Value = res.json().await.unwrap();
            assert!(
                message(dialect, &v).contains("restricted access"),
                "{dialect}: {v}"
            );
        }
    }
    // What Livepeer's allowlist allows, it allows everywhere: creating and reading a stream.
    let res = s
        .http
        .post(s.url("/live-streams"))
        .basic_auth(key, Some(""))
        .json(&json!({"name": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let res = s
        .http
        .get(s.url(&format!(
            "/live-streams/{}",
            v["liveStreamId"].as_str().unwrap()
        )))
        .basic_auth(key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let metrics = s.get_text("/metrics").await;
    for dialect in ["apivideo", "edgecast", "brightcove", "sg", "livepeer"] {
        assert!(
            metrics.contains(&format!("streamgate_auth_failures_total{{dialect=\"{dialect}\",reason=\"cors_restricted\"}}")),
            "{dialect} refusals are not counted"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_apply_in_every_dialect_with_the_same_headers() {
    let mut config = streamgate::Config::default();
    config.service.rate_limit.limit = 3;
    let s = setup_with(Backend::Sqlite, config).await;
    for (dialect, path, style) in reads(&s) {
        // A fresh key per dialect: the limit is per key.
        let key = s.new_key(dialect, |_| {}).await;
        let mut statuses = vec![];
        for _ in 0..4 {
            let res = with_key(s.http.get(s.url(&path)), style, key.secret.expose())
                .send()
                .await
                .unwrap();
            let h = res.headers();
            for name in [
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-retry-after",
            ] {
                assert!(h.contains_key(name), "{dialect} lacks {name}");
            }
            assert_eq!(h["x-ratelimit-limit"], "3", "{dialect}");
            statuses.push(res.status().as_u16());
            if res.status() == 429 {
                assert!(h.contains_key("retry-after"), "{dialect}");
                let v: Value = res.json().await.unwrap();
                assert!(
                    message(dialect, &v)
                        .to_lowercase()
                        .contains("too many requests"),
                    "{dialect}: {v}"
                );
            }
        }
        assert_eq!(statuses, [200, 200, 200, 429], "{dialect}");
    }
    // A key's own limit overrides the default.
    let generous = s
        .new_key("generous", |r| {
            r.policy.ratelimit = Some(streamgate::domain::RateLimit::new(10, 60).unwrap())
        })
        .await;
    for _ in 0..5 {
        let res = s.me(generous.secret.expose()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ratelimit-limit"], "10");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_refresh_token_kills_the_familys_access_tokens_everywhere() {
    let s = setup(Backend::Postgres).await;
    let other = TestServer::start_on(s.server.db.clone()).await;
    let pair: Value = s
        .http
        .post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": s.secret()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap().to_string();
    let refresh = pair["refresh_token"].as_str().unwrap().to_string();
    // The thief refreshes first; the owner's later refresh is the replay.
    let stolen: Value = s
        .http
        .post(s.url("/auth/refresh"))
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let thief = stolen["access_token"].as_str().unwrap().to_string();
    let live = |url: String, token: String| async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        live(other.url("/live-streams"), thief.clone()).await,
        200,
        "cached on the other instance"
    );
    assert_eq!(live(s.url("/live-streams"), access.clone()).await, 200);
    let res = s
        .http
        .post(s.url("/auth/refresh"))
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Every access token of the family is refused: here at once, there within a second.
    assert_eq!(live(s.url("/live-streams"), thief.clone()).await, 401);
    assert_eq!(live(s.url("/live-streams"), access.clone()).await, 401);
    for token in [thief, access] {
        let gone = eventually(Duration::from_secs(1), || {
            let (u, t) = (other.url("/live-streams"), token.clone());
            async move { live(u, t).await == 401 }
        })
        .await;
        assert!(
            gone.is_some(),
            "a token of the replayed family still works on the other instance"
        );
    }
    // A new family from the key is unaffected.
    let fresh: Value = s
        .http
        .post(s.url("/auth/api-key"))
        .json(&json!({"apiKey": s.secret()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        live(
            other.url("/live-streams"),
            fresh["access_token"].as_str().unwrap().into()
        )
        .await,
        200
    );
    // And a server started after the replay refuses the family too.
    let late = TestServer::start_on(s.server.db.clone()).await;
    let stolen_again = stolen["access_token"].as_str().unwrap().to_string();
    let gone = eventually(Duration::from_secs(2), || {
        let (u, t) = (late.url("/live-streams"), stolen_again.clone());
        async move { live(u, t).await == 401 }
    })
    .await;
    assert!(
        gone.is_some(),
        "a server started later forgot the revoked family"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_and_production_never_see_each_others_audit_or_usage() {
    let s = setup(Backend::Sqlite).await;
    let sandbox = s
        .new_key("sandbox", |r| r.environment = Environment::Sandbox)
        .await;
    // Production activity: an upload token and a stream.
    let res = s
        .http
        .post(s.url("/upload-tokens"))
        .basic_auth(s.secret(), Some(""))
        .json(&json!({"ttl": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Sandbox activity.
    let res = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(sandbox.secret.expose())
        .json(&json!({"name": "sand"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let audit = |key: String| {
        let url = s.url("/v1/audit");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let prod: Value = audit(s.secret().into()).await;
    let sand: Value = audit(sandbox.secret.expose().into()).await;
    let envs = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["environment"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        !envs(&prod).is_empty() && envs(&prod).iter().all(|e| e == "production"),
        "{prod}"
    );
    assert!(
        !envs(&sand).is_empty() && envs(&sand).iter().all(|e| e == "sandbox"),
        "{sand}"
    );
    assert!(
        !sand.to_string().contains("upload_token"),
        "a sandbox key read production's upload token event"
    );

    let usage = |key: String| {
        let url = s.url("/sg/v1/usage?period=hour");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let prod = usage(s.secret().into()).await;
    let sand = usage(sandbox.secret.expose().into()).await;
    let key_envs = |v: &Value| -> Vec<String> {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["environment"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(key_envs(&prod).iter().all(|e| e == "production"), "{prod}");
    assert_eq!(key_envs(&sand), vec!["sandbox"], "{sand}");
}
