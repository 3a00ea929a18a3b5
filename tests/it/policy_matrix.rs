//! The policy matrix: every declared route of every dialect × every kind of caller → the status
//! it must get. The table is the router's own (`http::route_table`, from which the router is
//! built), and every path is probed with every method, so a method that answers without a
//! declaration fails this test.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Method;
use reqwest::StatusCode;
use serde_json::{json, Value};
use streamgate::domain::{Environment, KeyPolicy, Permission, Permissions, RateLimit};
use streamgate::http::routes::{Body, Need};
use streamgate::testkit::Backend;

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Owner,
    OtherAccount,
    OtherEnvironment,
    CorsRestricted,
    CorsRestrictedFromItsOrigin,
    CorsFromAnotherOrigin,
    BackendKeyFromAnOrigin,
    LacksThePermission,
    Revoked,
    OverLimit,
}

const CALLERS: [Caller; 10] = [
    Caller::OtherAccount,
    Caller::OtherEnvironment,
    Caller::CorsRestricted,
    Caller::CorsRestrictedFromItsOrigin,
    Caller::CorsFromAnotherOrigin,
    Caller::BackendKeyFromAnOrigin,
    Caller::LacksThePermission,
    Caller::Revoked,
    Caller::OverLimit,
    // Last: the owner may delete what the others were refused.
    Caller::Owner,
];

const APP_ORIGIN: &str = "https://app.example";

/// What a caller must get: exactly a status, or "allowed" (anything but a refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Status(u16),
    OneOf(u16, u16),
}

impl Expect {
    fn holds(self, got: u16) -> bool {
        match self {
            Expect::Allowed => !matches!(got, 401 | 403 | 429) && got < 500,
            Expect::Status(s) => got == s,
            Expect::OneOf(a, b) => got == a || got == b,
        }
    }
}

/// Objects of the owner's, to put in paths.
struct Fixtures {
    account_number: String,
    stream_id: String,
    apivideo_stream_id: String,
    target_id: String,
    session_id: String,
    key_id: String,
    webhook_id: String,
    apivideo_webhook_id: String,
    livepeer_webhook_id: String,
    upload_token: String,
    credential_id: String,
    stream_key_id: String,
    signing_key_id: String,
    playback_id: String,
    video_id: String,
    asset_id: String,
    task_id: String,
    job_id: String,
    vod_id: String,
}

fn fill(path: &str, method: &Method, f: &Fixtures) -> String {
    let p = path.replace("{account}", &f.account_number);
    let id = if p.starts_with("/api/stream/") {
        &f.stream_id
    } else if p.starts_with("/api/multistream/target/") {
        &f.target_id
    } else if p.starts_with("/api/session/") {
        &f.session_id
    } else if p.starts_with("/api/api-token/") || p.starts_with("/sg/v1/keys/") {
        &f.key_id
    } else if p.starts_with("/live-streams/") {
        &f.apivideo_stream_id
    } else if p.starts_with("/webhooks/") {
        &f.apivideo_webhook_id
    } else if p.starts_with("/api/webhook/") {
        &f.livepeer_webhook_id
    } else if p.starts_with("/sg/v1/webhooks/") {
        &f.webhook_id
    } else if p.starts_with("/sg/v1/streams/") {
        &f.stream_id
    } else if p.starts_with("/v1/credentials/") {
        &f.credential_id
    } else if p.starts_with("/api/access-control/signing-key/") {
        &f.signing_key_id
    } else if p.starts_with("/api/playback/") {
        &f.playback_id
    } else if p.starts_with("/videos/") {
        &f.video_id
    } else if p.starts_with("/api/asset/") {
        &f.asset_id
    } else if p.starts_with("/api/task/") {
        &f.task_id
    } else if p.starts_with("/v1/jobs/") {
        &f.job_id
    } else if p.starts_with("/v1/vods/") {
        &f.vod_id
    } else {
        &f.stream_key_id
    };
    let resource = if method == Method::PUT {
        "globalkey"
    } else {
        "streamkeys"
    };
    p.replace("{id}", id)
        .replace("{target}", &f.target_id)
        .replace("{token}", &f.upload_token)
        .replace("{resource}", resource)
}

/// A body the route accepts from its owner (routes that take none get `{}`).
fn body(method: &Method, path: &str) -> Option<Value> {
    if matches!(*method, Method::GET | Method::DELETE) {
        return None;
    }
    let unique = uuid::Uuid::new_v4().simple().to_string();
    Some(match (method.as_str(), path) {
        ("POST", "/api/stream") | ("POST", "/live-streams") => json!({"name": "m"}),
        ("PATCH", p) if p.starts_with("/api/stream/") || p.starts_with("/live-streams/") => {
            json!({"name": "m2"})
        }
        ("POST", "/api/multistream/target") => {
            json!({"name": "t", "url": "rtmp://x.example/live/k"})
        }
        ("PATCH", p) if p.starts_with("/api/multistream/target/") => json!({"name": "t2"}),
        ("POST", "/api/api-token") => json!({"name": "k"}),
        ("POST", p) if p.ends_with("/create-multistream-target") => {
            json!({"profile": "source", "spec": {"name": "t", "url": "rtmp://x.example/live/k"}})
        }
        ("POST", "/api/access-control/signing-key") => json!({"name": "k"}),
        ("PATCH", p) if p.starts_with("/api/access-control/signing-key/") => {
            json!({"disabled": true})
        }
        ("POST", "/sg/v1/keys") => json!({"name": "k"}),
        ("PATCH", p) if p.starts_with("/sg/v1/keys/") => json!({"name": "k2"}),
        ("POST", p) if p.ends_with("/reroll") => json!({"gracePeriodSeconds": 60}),
        ("POST", "/sg/v1/keys/verify") => json!({"key": "sg_production_x"}),
        ("PUT", p) if p.starts_with("/sg/v1/webhooks/") => json!({"label": null}),
        ("POST", "/upload-tokens") => json!({"ttl": 60}),
        ("POST", "/videos") => json!({"title": "m"}),
        ("PATCH", p) if p.starts_with("/videos/") => json!({"title": "m2"}),
        ("POST", "/api/asset/request-upload") => json!({"name": "m"}),
        // Refused after the permission check (400): no import starts.
        ("POST", "/api/asset/url") | ("POST", "/api/asset/upload/url") => {
            json!({"name": "m", "url": "ftp://files.example/a.mp4"})
        }
        ("PATCH", p) if p.starts_with("/api/asset/") => json!({"name": "m2"}),
        ("POST", "/webhooks") => {
            json!({"events": ["live-stream.broadcast.started"], "url": "https://hooks.example/x"})
        }
        ("POST", "/api/webhook") => {
            json!({"name": "h", "events": ["stream.started"], "url": "https://hooks.example/lp"})
        }
        ("PUT", p) if p.starts_with("/api/webhook/") => {
            json!({"name": "h2", "events": ["stream.idle"], "url": "https://hooks.example/lp2"})
        }
        ("POST", "/v1/credentials") | ("PUT", _) if path.starts_with("/v1/credentials") => json!({
            "credential_label": format!("l{unique}"), "credential_type": "http",
            "credential_public": "u", "credential_private": "p"
        }),
        ("POST", p) if p.ends_with("/streamkeys") => {
            json!({"DirPath": format!("i{}/s", &unique[..8]), "Key": "abc123"})
        }
        ("PUT", p) if p.ends_with("/globalkey") => json!({"Key": "globalKey1"}),
        // Refused after the permission checks (no such job): no clip is cut.
        ("POST", "/v1/vods") => json!({
            "live_job_id": "00000000-0000-0000-0000-000000000000",
            "outputs": [{"duration": 1, "url": "s3://fixture-clips/x.mp4"}]
        }),
        ("PUT", p) if p.contains("/streamkeys/") => {
            json!({"DirPath": format!("j{}/s", &unique[..8]), "Key": "abc123"})
        }
        _ => json!({}),
    })
}

/// How `caller` must be answered on a route that needs `need`, with an object of the owner's
/// in the path (`has_object`).
fn expected(caller: Caller, need: Need, path: &str, has_object: bool) -> Expect {
    let perm = match need {
        Need::Permission(p) => Some(p),
        _ => None,
    };
    let edgecast = path.starts_with("/v2/mcc/");
    // Objects of another scope read as not found; Edgecast's URL names the account: 403.
    let elsewhere = if edgecast {
        Expect::OneOf(403, 404)
    } else if has_object {
        Expect::Status(404)
    } else {
        Expect::Allowed
    };
    match caller {
        Caller::Owner => Expect::Allowed,
        Caller::Revoked => Expect::Status(401),
        Caller::OverLimit => Expect::Status(429),
        Caller::CorsFromAnotherOrigin | Caller::BackendKeyFromAnOrigin => Expect::Status(403),
        Caller::OtherAccount => elsewhere,
        Caller::OtherEnvironment if edgecast && !has_object => Expect::Allowed,
        Caller::OtherEnvironment => {
            if has_object {
                Expect::Status(404)
            } else {
                Expect::Allowed
            }
        }
        Caller::CorsRestricted | Caller::CorsRestrictedFromItsOrigin => match perm {
            Some(p) if !Permissions::cors_restricted().allows(p) => Expect::Status(403),
            _ => Expect::Allowed,
        },
        Caller::LacksThePermission => match perm {
            Some(_) => Expect::Status(403),
            None => Expect::Allowed,
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_kind_of_caller_as_the_policy_says() {
    let s = common::setup(Backend::Sqlite).await;
    let svc = s.server.svc().clone();
    let table = streamgate::http::route_table(&s.server.state);

    // --- the callers -------------------------------------------------------------------------
    let other = svc
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let other_key = common::new_key(&s.server, other.id, "o", |_| {}).await;
    let sandbox = s
        .new_key("sandbox", |r| r.environment = Environment::Sandbox)
        .await;
    let cors = s
        .new_key("cors", |r| r.allowed_origins = vec![APP_ORIGIN.into()])
        .await;
    let revoked = s.new_key("revoked", |_| {}).await;
    svc.revoke_key(
        &streamgate::testkit::operator().in_account(s.account.id),
        revoked.key.id,
    )
    .await
    .unwrap();
    let limited = s
        .new_key("limited", |r| {
            r.policy = KeyPolicy {
                ratelimit: Some(RateLimit::new(1, 3600).unwrap()),
                ..Default::default()
            }
        })
        .await;
    let me = s.me(limited.secret.expose()).await;
    assert_eq!(me.status(), 200, "the limited key's one request");

    // --- the owner's objects -----------------------------------------------------------------
    let auth = |r: reqwest::RequestBuilder| r.bearer_auth(s.secret());
    let stream: Value = auth(s.http.post(s.url("/api/stream")))
        .json(&json!({"name": "fixture"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let av_stream: Value = auth(s.http.post(s.url("/live-streams")))
        .json(&json!({"name": "fixture"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let target: Value = auth(s.http.post(s.url("/api/multistream/target")))
        .json(&json!({"name": "t", "url": "rtmp://x.example/live/k"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let victim = s.new_key("victim", |_| {}).await;
    let hook: Value = auth(s.http.post(s.url("/webhooks")))
        .json(
            &json!({"events": ["live-stream.broadcast.started"], "url": "https://hooks.example/a"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lp_hook: Value = auth(s.http.post(s.url("/api/webhook")))
        .json(&json!({"name": "fixture", "events": ["stream.started"], "url": "https://hooks.example/b"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token: Value = auth(s.http.post(s.url("/upload-tokens")))
        .json(&json!({"ttl": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cred: Value = s
        .http
        .post(s.url("/v1/credentials"))
        .header("x-api-key", s.secret())
        .json(
            &json!({"credential_label": "fixture", "credential_type": "http",
            "credential_public": "u", "credential_private": "p"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = s.account.number.as_str().to_string();
    let sk: Value = s
        .http
        .post(s.url(&format!(
            "/v2/mcc/customers/{number}/httpstreaming/dcp/streamkeys"
        )))
        .header("authorization", format!("TOK:{}", s.secret()))
        .json(&json!({"DirPath": "fixture/cam", "Key": "abc123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A publish session of the owner's stream (the ingest hook opens it).
    let pub_res = s
        .http
        .post(s.server.ingest_url("/ingest/nginx-rtmp/publish").await)
        .form(&[
            ("app", "live"),
            ("name", stream["streamKey"].as_str().unwrap()),
            ("call", "publish"),
            ("addr", "127.0.0.1"),
        ])
        .send()
        .await
        .unwrap();
    assert!(pub_res.status().is_success() || pub_res.status().is_redirection());
    let sessions: Value = auth(s.http.get(s.url(&format!(
        "/api/stream/{}/sessions",
        stream["id"].as_str().unwrap()
    ))))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let hook_id = av_hook_to_uuid(hook["webhookId"].as_str().unwrap());
    let signing_key: Value = auth(s.http.post(s.url("/api/access-control/signing-key")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let video: Value = auth(s.http.post(s.url("/videos")))
        .json(&json!({"title": "fixture"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload: Value = auth(s.http.post(s.url("/api/asset/request-upload")))
        .json(&json!({"name": "fixture"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A live job with a recording and a clip of it (to an S3 bucket nobody runs: its delivery
    // fails, which the matrix does not look at).
    let (status, job) =
        crate::live_jobs::bc(&s, reqwest::Method::POST, "/v1/jobs", Some(json!({}))).await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let (status, v) = crate::live_jobs::bc(
        &s,
        reqwest::Method::POST,
        "/v1/credentials",
        Some(
            json!({"credential_label": "fixture-s3", "credential_type": "s3",
                    "credential_public": "AKIAIOSFODNN7EXAMPLE", "credential_private": "x-secret"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    s.server
        .store()
        .insert_recording(&streamgate::domain::live_job::Recording {
            id: uuid::Uuid::now_v7(),
            job_id: job_id.parse().unwrap(),
            account_id: s.account.id,
            environment: streamgate::domain::Environment::Production,
            object_key: "jobs/fixture.flv".into(),
            bytes: 1,
            duration_ms: 10_000,
            began_at: 0,
            created_at: 0,
        })
        .await
        .unwrap();
    let (status, vod) = crate::live_jobs::bc(
        &s,
        reqwest::Method::POST,
        "/v1/vods",
        Some(json!({"live_job_id": job_id, "outputs": [
            {"duration": 1, "url": "s3://fixture-clips/x.mp4", "credentials": "fixture-s3"}
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{vod}");
    let f = Fixtures {
        job_id,
        vod_id: vod["id"].as_str().unwrap().into(),
        video_id: video["videoId"].as_str().unwrap().into(),
        asset_id: upload["asset"]["id"].as_str().unwrap().into(),
        task_id: upload["task"]["id"].as_str().unwrap().into(),
        account_number: number,
        stream_id: stream["id"].as_str().unwrap().into(),
        apivideo_stream_id: av_stream["liveStreamId"].as_str().unwrap().into(),
        target_id: target["id"].as_str().unwrap().into(),
        session_id: sessions[0]["id"].as_str().unwrap().into(),
        key_id: victim.key.id.to_string(),
        webhook_id: hook_id,
        apivideo_webhook_id: hook["webhookId"].as_str().unwrap().into(),
        livepeer_webhook_id: lp_hook["id"].as_str().unwrap().into(),
        upload_token: token["token"].as_str().unwrap().into(),
        credential_id: cred["credential_id"].as_str().unwrap().into(),
        stream_key_id: sk["Id"].to_string(),
        signing_key_id: signing_key["id"].as_str().unwrap().into(),
        playback_id: stream["playbackId"].as_str().unwrap().into(),
    };

    // --- every declared method of every path, and nothing undeclared answers -----------------
    let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for spec in &table {
        by_path
            .entry(spec.path.clone())
            .or_default()
            .insert(spec.method.to_string());
    }
    for (path, declared) in &by_path {
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if declared.contains(m) {
                continue;
            }
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let url = s.url(&fill(path, &method, &f));
            let res = s
                .http
                .request(reqwest::Method::from_bytes(m.as_bytes()).unwrap(), url)
                .bearer_auth(s.secret())
                .send()
                .await
                .unwrap();
            assert!(
                matches!(res.status().as_u16(), 404 | 405),
                "{m} {path} answers {} but declares no need: every route needs its row in the policy table",
                res.status()
            );
        }
    }

    // --- the matrix ----------------------------------------------------------------------------
    let mut keyed: Vec<_> = table
        .iter()
        .filter(|s| matches!(s.need, Need::Permission(_) | Need::Key))
        .collect();
    // Deleting routes last, so the objects stay until then.
    keyed.sort_by_key(|s| (s.method == Method::DELETE, s.path.clone()));
    let mut cells = 0;
    let mut failures = Vec::new();
    for spec in &keyed {
        let path = fill(&spec.path, &spec.method, &f);
        let has_object = spec.path.contains('{') && !spec.path.ends_with("{resource}");
        for caller in CALLERS {
            // Who lacks exactly this route's permission.
            let lacking;
            let (secret, origin): (String, Option<&str>) = match caller {
                Caller::Owner => (s.secret().into(), None),
                Caller::OtherAccount => (other_key.secret.expose().into(), None),
                Caller::OtherEnvironment => (sandbox.secret.expose().into(), None),
                Caller::CorsRestricted => (cors.secret.expose().into(), None),
                Caller::CorsRestrictedFromItsOrigin => {
                    (cors.secret.expose().into(), Some(APP_ORIGIN))
                }
                Caller::CorsFromAnotherOrigin => {
                    (cors.secret.expose().into(), Some("https://evil.example"))
                }
                Caller::BackendKeyFromAnOrigin => (s.secret().into(), Some(APP_ORIGIN)),
                Caller::LacksThePermission => {
                    let all_but = match spec.need {
                        Need::Permission(p) => without(p),
                        _ => Permissions::all(),
                    };
                    lacking = s
                        .new_key("lacking", |r| {
                            r.policy = KeyPolicy {
                                permissions: Some(all_but),
                                ..Default::default()
                            }
                        })
                        .await;
                    (lacking.secret.expose().into(), None)
                }
                Caller::Revoked => (revoked.secret.expose().into(), None),
                Caller::OverLimit => (limited.secret.expose().into(), None),
            };
            let mut req = s
                .http
                .request(
                    reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
                    s.url(&path),
                )
                .header(
                    "authorization",
                    if spec.path.starts_with("/v2/mcc/") {
                        format!("TOK:{secret}")
                    } else {
                        format!("Bearer {secret}")
                    },
                );
            if spec.path.starts_with("/v1/") {
                req = s
                    .http
                    .request(
                        reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
                        s.url(&path),
                    )
                    .header("x-api-key", &secret);
            }
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            if spec.body == Body::Multipart {
                let file = reqwest::multipart::Part::bytes(vec![0u8; 16]).file_name("f.mp4");
                req = req.multipart(reqwest::multipart::Form::new().part("file", file));
            } else if let Some(b) = body(&spec.method, &path) {
                req = req.json(&b);
            }
            let got = req.send().await.unwrap().status();
            let want = expected(caller, spec.need, &spec.path, has_object);
            cells += 1;
            if !want.holds(got.as_u16()) {
                failures.push(format!(
                    "{} {} as {caller:?}: got {got}, want {want:?}",
                    spec.method, spec.path
                ));
            }
        }
    }
    // --- the ingest hooks: a media server's ingest token, or 401 and nothing written --------
    let ingest_token = s.server.ingest_token().await;
    let revoked_token = svc
        .create_ingest_token(&streamgate::testkit::operator(), "revoked")
        .await
        .unwrap();
    svc.revoke_ingest_token(&streamgate::testkit::operator(), revoked_token.token.id)
        .await
        .unwrap();
    let hooks: Vec<_> = table.iter().filter(|s| s.need == Need::Ingest).collect();
    let written = || async {
        svc.flush_ingest_refusals().await;
        s.server
            .store()
            .query_audit(None, None, 0, 10_000)
            .await
            .unwrap()
            .len()
    };
    let before = written().await;
    for spec in &hooks {
        let (url, method) = (
            s.url(&spec.path),
            reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
        );
        let refused: [(&str, reqwest::RequestBuilder); 5] = [
            ("no token", s.http.request(method.clone(), &url)),
            (
                "an API key",
                s.http.request(method.clone(), &url).bearer_auth(s.secret()),
            ),
            (
                "an API key as ?token=",
                s.http
                    .request(method.clone(), format!("{url}?token={}", s.secret())),
            ),
            (
                "a made-up token",
                s.http.request(
                    method.clone(),
                    format!("{url}?token=sgi_000000000000000000000000000000000000"),
                ),
            ),
            (
                "a revoked token",
                s.http
                    .request(method.clone(), &url)
                    .bearer_auth(revoked_token.secret.expose()),
            ),
        ];
        for (who, req) in refused {
            let got = req.json(&json!({})).send().await.unwrap().status();
            cells += 1;
            if got != 401 {
                failures.push(format!(
                    "{} {} with {who}: got {got}, want 401",
                    spec.method, spec.path
                ));
            }
        }
    }
    assert_eq!(
        written().await,
        before,
        "an unauthenticated hook wrote to the audit log"
    );
    for spec in &hooks {
        let (url, method) = (
            s.url(&spec.path),
            reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
        );
        for (who, req) in [
            (
                "its token as ?token=",
                s.http
                    .request(method.clone(), format!("{url}?token={ingest_token}")),
            ),
            (
                "its token as Bearer",
                s.http
                    .request(method.clone(), &url)
                    .bearer_auth(&ingest_token),
            ),
        ] {
            let got = req.json(&json!({})).send().await.unwrap().status();
            cells += 1;
            if got == 401 || got.is_server_error() {
                failures.push(format!(
                    "{} {} with {who}: got {got}, want what an authenticated hook gets",
                    spec.method, spec.path
                ));
            }
        }
    }
    assert_eq!(hooks.len(), 7, "the ingest hooks");

    // --- the upload credentials: a live upload token or one-time URL, or 401 and nothing written
    let uploads: Vec<_> = table
        .iter()
        .filter(|s| s.need == Need::UploadCredential)
        .collect();
    let videos_now = || async {
        s.server
            .svc()
            .list_videos(
                &streamgate::testkit::operator().in_account(s.account.id),
                &streamgate::service::videos::VideoQuery {
                    size: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .1
    };
    let videos_before = videos_now().await;
    for spec in &uploads {
        let (url, method) = (
            s.url(&spec.path),
            reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
        );
        for (who, req) in [
            ("no token", s.http.request(method.clone(), &url)),
            (
                "an API key, no token",
                s.http.request(method.clone(), &url).bearer_auth(s.secret()),
            ),
            (
                "an API key as ?token=",
                s.http
                    .request(method.clone(), format!("{url}?token={}", s.secret())),
            ),
            (
                "an ingest token as ?token=",
                s.http
                    .request(method.clone(), format!("{url}?token={ingest_token}")),
            ),
            (
                "a made-up token",
                s.http.request(
                    method.clone(),
                    format!("{url}?token=to0000000000000000000000"),
                ),
            ),
        ] {
            let file = reqwest::multipart::Part::bytes(vec![0u8; 16]).file_name("f.mp4");
            let req = if spec.body == Body::Multipart {
                req.multipart(reqwest::multipart::Form::new().part("file", file))
            } else {
                req.body(vec![0u8; 16])
            };
            let got = req.send().await.unwrap().status();
            cells += 1;
            if got != 401 {
                failures.push(format!(
                    "{} {} with {who}: got {got}, want 401",
                    spec.method, spec.path
                ));
            }
        }
    }
    assert_eq!(uploads.len(), 5, "the upload-credential routes");
    assert_eq!(
        videos_now().await,
        videos_before,
        "an upload without a live upload credential made a video"
    );
    let size = format!(
        "policy matrix: {} declared routes ({} need a key, {} an ingest token, {} an upload credential) x the kinds of caller = {cells} cells checked",
        table.len(),
        keyed.len(),
        hooks.len(),
        uploads.len(),
    );
    println!("{size}");
    // Kept for the test script to print (cargo hides a passing test's output).
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("policy-matrix.txt"), format!("{size}\n"));
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(keyed.len() >= 40, "the table lost routes: {}", keyed.len());
    assert_eq!(StatusCode::OK, StatusCode::OK);
}

/// Every permission but `p`.
fn without(p: Permission) -> Permissions {
    let mut out = Permissions::NONE;
    for r in streamgate::domain::Resource::ALL {
        for a in streamgate::domain::Action::ALL {
            let q = Permission(r, a);
            if q != p {
                out = out.with(q);
            }
        }
    }
    out
}

/// api.video's webhook id (`wh` + base62) as the core's UUID, for streamgate's own routes.
fn av_hook_to_uuid(id: &str) -> String {
    streamgate::domain::public_ids::decode("wh", id)
        .map(|u| u.to_string())
        .unwrap_or_default()
}
