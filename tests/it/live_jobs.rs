//! Brightcove Live jobs through the API and the ingest hooks, on both backends: jobs are made,
//! listed (never with their stream name), read, cancelled and stopped; the ingest decision lets
//! an encoder publish to a job only with the job's stream name and, when the job names one, its
//! `rtmp` credential; the job's state follows the hooks and its reconnect window; every state
//! change is delivered to its notification endpoints with the named `http` (Basic) or `oauth`
//! (Bearer from the token endpoint) credential. Clip requests refuse Video Cloud and Zencoder
//! destinations, windows outside the recording and jobs without one; a recording is taken only
//! from the recordings directory; a failed delivery is retried with backoff and survives a
//! restart. Nothing secret reaches a response, a list or the audit log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::common::external::Moto;
use crate::common::{eventually, lab, new_key, setup_with, Setup};
use streamgate::service::objects::ObjectsSetting;
use streamgate::testkit::{Backend, TestServer};

/// What a notification endpoint received: (path, Authorization, body).
pub type Got = Arc<Mutex<Vec<(String, String, Value)>>>;

pub const OAUTH_CLIENT: &str = "client-9";
pub const OAUTH_SECRET: &str = "oauth-secret-9f3e";
pub const BASIC_USER: &str = "notify-user";
pub const BASIC_PASS: &str = "notify-pass-77c1";
pub const RTMP_USER: &str = "enc1";
pub const RTMP_PASS: &str = "rtmp-pass-5d2a";

/// Notification endpoints under `/n/<name>` recording what they get, and an OAuth token
/// endpoint at `/token` granting `tok-<n>` to `OAUTH_CLIENT:OAUTH_SECRET` (client credentials).
pub async fn receiver() -> (Got, String) {
    let got: Got = Arc::default();
    let g = got.clone();
    let app = axum::Router::new()
        .route(
            "/n/{name}",
            axum::routing::post(
                move |axum::extract::Path(name): axum::extract::Path<String>,
                      headers: HeaderMap,
                      body: String| {
                    let g = g.clone();
                    async move {
                        let auth = headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default();
                        let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                        g.lock().unwrap().push((name, auth, body));
                        StatusCode::OK
                    }
                },
            ),
        )
        .route(
            "/token",
            axum::routing::post(move |headers: HeaderMap, body: String| async move {
                use base64::Engine as _;
                let basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{OAUTH_CLIENT}:{OAUTH_SECRET}"))
                );
                let ok = headers.get("authorization").map(|v| v.to_str().unwrap())
                    == Some(basic.as_str())
                    && body == "grant_type=client_credentials";
                if !ok {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                (
                    StatusCode::OK,
                    json!({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600})
                        .to_string(),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, base)
}

pub async fn bc(
    s: &Setup,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    bc_as(s, s.secret(), method, path, body).await
}

pub async fn bc_as(
    s: &Setup,
    secret: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("x-api-key", secret);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The credentials the tests name: rtmp `enc`, http `notify basic`, oauth `notify oauth`.
pub async fn credentials(s: &Setup, token_url: &str) {
    for body in [
        json!({"credential_label": "enc", "credential_type": "rtmp",
               "credential_public": RTMP_USER, "credential_private": RTMP_PASS}),
        json!({"credential_label": "notify basic", "credential_type": "http",
               "credential_public": BASIC_USER, "credential_private": BASIC_PASS}),
        json!({"credential_label": "notify oauth", "credential_type": "oauth",
               "credential_public": OAUTH_CLIENT, "credential_private": OAUTH_SECRET,
               "credential_token_url": token_url}),
    ] {
        let (status, v) = bc(s, reqwest::Method::POST, "/v1/credentials", Some(body)).await;
        assert_eq!(status, 200, "{v}");
    }
}

/// nginx-rtmp's `on_publish` / `on_publish_done` for `jobs/<name>` with this query.
pub async fn hook(server: &TestServer, call: &str, name: &str, query: &str) -> u16 {
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
            "app=jobs&addr=10.0.0.9&call={call}&name={name}&type=live{query}"
        ))
        .send()
        .await
        .unwrap();
    crate::common::hook_status(&res)
}

async fn state_of(s: &Setup, id: &str) -> String {
    let (status, v) = bc(s, reqwest::Method::GET, &format!("/v1/jobs/{id}"), None).await;
    assert_eq!(status, 200, "{v}");
    v["job"]["state"].as_str().unwrap().to_string()
}

/// The states `name` was notified of, in order.
fn notified(got: &Got, name: &str) -> Vec<String> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(n, ..)| n == name)
        .map(|(_, _, b)| b["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn jobs_and_ingest(backend: Backend) {
    let record_dir = tempfile::tempdir().unwrap();
    let mut config = lab();
    config.service.jobs.record_dir = Some(record_dir.path().to_path_buf());
    let s = setup_with(backend, config).await;
    let (got, base) = receiver().await;
    credentials(&s, &format!("{base}/token")).await;
    use reqwest::Method as M;

    // Bad bodies: clear errors in Brightcove's format, nothing made.
    for (body, says) in [
        (
            json!({"live_stream": true, "colour": "red"}),
            "unknown field",
        ),
        (
            json!({"rtmp_credentials": "notify basic"}),
            "is of type http, not rtmp",
        ),
        (
            json!({"rtmp_credentials": "nope"}),
            "no credential labelled",
        ),
        (
            json!({"notifications": [{"url": format!("{base}/n/x"), "credentials": "enc"}]}),
            "is of type rtmp, not http or oauth",
        ),
        (json!({"reconnect_time": 7200}), "reconnect_time"),
        (json!({"live_stream": false}), "live_stream must be true"),
        (json!({"notifications": ["ftp://x/y"]}), "url"),
    ] {
        let (status, v) = bc(&s, M::POST, "/v1/jobs", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    let (_, v) = bc(&s, M::GET, "/v1/jobs", None).await;
    assert_eq!(v["jobs"], json!([]));

    // A job guarded by the rtmp credential, notifying three endpoints.
    let (status, job) = bc(
        &s,
        M::POST,
        "/v1/jobs",
        Some(json!({
            "live_stream": true,
            "region": "us-west-2",
            "reconnect_time": 20,
            "rtmp_credentials": "enc",
            "outputs": [{"label": "hls720p", "height": 720}],
            "notifications": [
                {"url": format!("{base}/n/basic"), "credentials": "notify basic", "event": "state_changed"},
                {"url": format!("{base}/n/oauth"), "credentials": "notify oauth"},
                format!("{base}/n/plain"),
            ],
        })),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let name = job["stream_name"].as_str().unwrap().to_string();
    assert_eq!(job["state"], "waiting");
    assert_eq!(job["region"], "us-west-2");
    assert_eq!(job["outputs"][0]["label"], "hls720p");
    assert!(
        job["stream_url"].as_str().unwrap().ends_with(":1935/jobs"),
        "{job}"
    );
    assert_eq!(name.len(), 24);

    // Lists never show the stream name; the job itself does, to its owner.
    let (_, list) = bc(&s, M::GET, "/v1/jobs", None).await;
    assert_eq!(list["jobs"][0]["id"], id.as_str());
    assert!(!list.to_string().contains(&name), "{list}");
    let (_, one) = bc(&s, M::GET, &format!("/v1/jobs/{id}"), None).await;
    assert_eq!(one["job"]["stream_name"], name.as_str());
    let (_, filtered) = bc(&s, M::GET, "/v1/jobs?state=finished", None).await;
    assert_eq!(filtered["jobs"], json!([]));
    // A list's bad parameters: 400 in Brightcove's format, saying which.
    for (query, says) in [
        ("state=bogus", "state must be one of"),
        ("page_size=abc", "page_size"),
        ("page_size=5000", "page_size"),
        ("start_token=-1", "start_token"),
    ] {
        let (status, v) = bc(&s, M::GET, &format!("/v1/jobs?{query}"), None).await;
        assert_eq!(status, 400, "{query}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{query}: {v}");
    }
    // A page of one carries the token of the next; the last page none.
    let (_, page) = bc(&s, M::GET, "/v1/jobs?page_size=1", None).await;
    assert_eq!(page["next_token"], "1", "{page}");
    let (_, last) = bc(&s, M::GET, "/v1/jobs?page_size=1&start_token=1", None).await;
    assert_eq!(last["jobs"], json!([]));
    assert!(last.get("next_token").is_none(), "{last}");
    // Another account does not see it.
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let other_key = new_key(&s.server, other.id, "o", |_| {}).await;
    let (status, _) = bc_as(
        &s,
        other_key.secret.expose(),
        M::GET,
        &format!("/v1/jobs/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, theirs) = bc_as(&s, other_key.secret.expose(), M::GET, "/v1/jobs", None).await;
    assert_eq!(theirs["jobs"], json!([]));

    // The encoder needs the stream name and the job's rtmp credential.
    let creds = format!("&user={RTMP_USER}&pass={RTMP_PASS}");
    assert_eq!(hook(&s.server, "publish", &name, "").await, 403);
    assert_eq!(
        hook(
            &s.server,
            "publish",
            &name,
            &format!("&user={RTMP_USER}&pass=wrong")
        )
        .await,
        403
    );
    assert_eq!(hook(&s.server, "publish", "not-a-job", &creds).await, 403);
    assert_eq!(state_of(&s, &id).await, "waiting");
    assert_eq!(hook(&s.server, "publish", &name, &creds).await, 200);
    assert_eq!(state_of(&s, &id).await, "processing");
    // One encoder at a time.
    assert_eq!(hook(&s.server, "publish", &name, &creds).await, 403);
    assert_eq!(hook(&s.server, "publish_done", &name, "").await, 200);
    assert_eq!(state_of(&s, &id).await, "disconnected");
    // It comes back within the reconnect window…
    assert_eq!(hook(&s.server, "publish", &name, &creds).await, 200);
    assert_eq!(hook(&s.server, "publish_done", &name, "").await, 200);
    // …and once the window has passed, the job is finished and takes no encoder.
    s.server.clock.advance_ms(21_000);
    let finished = eventually(Duration::from_secs(10), || async {
        state_of(&s, &id).await == "finished"
    })
    .await;
    assert!(
        finished.is_some(),
        "the job did not finish after its reconnect window"
    );
    assert_eq!(hook(&s.server, "publish", &name, &creds).await, 403);

    // Every change reached every endpoint, with its credential.
    let all = [
        "processing",
        "disconnected",
        "processing",
        "disconnected",
        "finished",
    ];
    let delivered = eventually(Duration::from_secs(20), || async {
        ["basic", "oauth", "plain"]
            .iter()
            .all(|n| notified(&got, n).len() == all.len())
    })
    .await;
    assert!(delivered.is_some(), "{:?}", got.lock().unwrap());
    for n in ["basic", "oauth", "plain"] {
        let mut states = notified(&got, n);
        // Deliveries run concurrently: their order is not promised, their set is.
        states.sort();
        let mut want: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(states, want, "{n}");
    }
    {
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASS}"))
        );
        for (n, auth, body) in got.lock().unwrap().iter() {
            let want = match n.as_str() {
                "basic" => basic.as_str(),
                "oauth" => "Bearer tok-1",
                _ => "",
            };
            assert_eq!(auth, want, "{n}");
            assert_eq!(body["entity"], id.as_str());
            assert_eq!(body["entity_type"], "live_job");
            assert_eq!(body["event"], "state_changed");
        }
    }

    // A job without a credential: the stream name alone publishes. Cancelled, it takes none.
    let (_, plain) = bc(&s, M::POST, "/v1/jobs", Some(json!({}))).await;
    let plain_id = plain["id"].as_str().unwrap().to_string();
    let plain_name = plain["stream_name"].as_str().unwrap().to_string();
    assert_eq!(hook(&s.server, "publish", &plain_name, "").await, 200);
    let (status, v) = bc(&s, M::PUT, &format!("/v1/jobs/{plain_id}/cancel"), None).await;
    assert_eq!(
        (status, v["state"].clone()),
        (200, json!("cancelled")),
        "{v}"
    );
    let (status, v) = bc(&s, M::PUT, &format!("/v1/jobs/{plain_id}/cancel"), None).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("cancelled already"),
        "{v}"
    );
    assert_eq!(hook(&s.server, "publish", &plain_name, "").await, 403);
    let (status, _) = bc_as(
        &s,
        other_key.secret.expose(),
        M::PUT,
        &format!("/v1/jobs/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Clips: Video Cloud and Zencoder are refused by name; a job needs a recording first.
    let (status, v) = bc(
        &s,
        M::POST,
        "/v1/credentials",
        Some(
            json!({"credential_label": "zc", "credential_type": "zencoder",
                    "credential_public": "acct", "credential_private": "zkey-123456789"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = bc(
        &s,
        M::POST,
        "/v1/credentials",
        Some(json!({"credential_label": "bucket", "credential_type": "s3",
                    "credential_public": "AKIAIOSFODNN7EXAMPLE", "credential_private": "s3-secret-value-1"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    for (outputs, says) in [
        (
            json!([{"label": "vc", "duration": 2, "videocloud": {"video": {"name": "x"}}, "credentials": "zc"}]),
            "videocloud destinations are not supported",
        ),
        (
            json!([{"duration": 2, "url": "s3://my-clips/a.mp4", "credentials": "zc"}]),
            "zencoder destinations are not supported",
        ),
        (
            json!([{"duration": 2, "url": "zencoder://account/x"}]),
            "zencoder destinations are not supported",
        ),
        (
            json!([{"duration": 2, "url": "s3://my-clips/a.mp4", "credentials": "enc"}]),
            "needs an s3 credential",
        ),
        (
            json!([{"duration": 2, "url": "ftp://u:p@127.0.0.1/a.mp4", "credentials": "enc"}]),
            "must not carry a user name",
        ),
        (
            json!([{"url": "s3://my-clips/a.mp4", "credentials": "bucket"}]),
            "either duration",
        ),
        (
            json!([{"duration": 2, "url": "ftp://127.0.0.1/a.mp4"}]),
            "no default ftp credential is set",
        ),
        (
            json!([{"duration": 2, "url": "s3://my-clips/a.mp4", "credentials": "bucket"}]),
            "no finished recording",
        ),
    ] {
        let (status, v) = bc(
            &s,
            M::POST,
            "/v1/vods",
            Some(json!({"live_job_id": id, "outputs": outputs})),
        )
        .await;
        assert_eq!(status, 400, "{outputs}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(says),
            "{outputs}: {v}"
        );
    }

    // Recordings: only with the ingest token, only from the recordings directory.
    let outside = tempfile::tempdir().unwrap();
    let stray = outside.path().join("x.flv");
    make_flv(&stray, 3).await;
    let record_done = |path: String, token: bool| {
        let s = &s;
        let name = name.clone();
        async move {
            let url = if token {
                s.server.ingest_url("/ingest/nginx-rtmp/record-done").await
            } else {
                s.url("/ingest/nginx-rtmp/record-done")
            };
            crate::common::client()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "app=jobs&name={name}&call=record_done&recorder=rec&path={}",
                    urlencode(&path)
                ))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let inside = record_dir.path().join(format!("{name}-1.flv"));
    make_flv(&inside, 3).await;
    assert_eq!(record_done(inside.display().to_string(), false).await, 401);
    assert_eq!(record_done(stray.display().to_string(), true).await, 400);
    let sneaky = format!(
        "{}/../{}",
        record_dir.path().display(),
        stray
            .strip_prefix(std::env::temp_dir())
            .unwrap_or(&stray)
            .display()
    );
    assert_eq!(record_done(sneaky, true).await, 400);
    assert!(
        stray.exists(),
        "a file outside the directory is never touched"
    );
    // A file of the directory, but named after another stream: not this job's to take.
    let foreign = record_dir.path().join("SomeoneElsesStream-5.flv");
    make_flv(&foreign, 1).await;
    assert_eq!(record_done(foreign.display().to_string(), true).await, 400);
    assert!(foreign.exists());
    assert_eq!(record_done(inside.display().to_string(), true).await, 200);
    // Taken in the background: it lands in object storage and leaves the directory.
    let store = s.server.store().clone();
    let job_uuid: uuid::Uuid = id.parse().unwrap();
    let taken = eventually(Duration::from_secs(20), || {
        let (store, inside) = (store.clone(), inside.clone());
        async move {
            // Recorded, then the media server's copy removed.
            store.latest_recording(job_uuid).await.unwrap().is_some() && !inside.exists()
        }
    })
    .await;
    assert!(
        taken.is_some(),
        "the recording was not moved into object storage"
    );
    // A recording whose report never came is swept in once it has been left ten minutes.
    let left = record_dir.path().join(format!("{name}-99.flv"));
    make_flv(&left, 2).await;
    let fresh = s.server.svc().sweep_recordings().await.unwrap();
    assert_eq!(fresh, 0, "a file still being written is left alone");
    std::fs::File::options()
        .write(true)
        .open(&left)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(20 * 60))
        .unwrap();
    assert_eq!(s.server.svc().sweep_recordings().await.unwrap(), 1);
    let swept = eventually(Duration::from_secs(20), || async { !left.exists() }).await;
    assert!(
        swept.is_some(),
        "the left-behind recording was not swept in"
    );
    assert!(foreign.exists(), "a file named after no job is never taken");
    // The window must lie inside the recording (3 s).
    let (status, v) = bc(
        &s,
        M::POST,
        "/v1/vods",
        Some(json!({"live_job_id": id, "outputs": [{"start_time": 1, "end_time": 9, "url": "s3://my-clips/a.mp4", "credentials": "bucket"}]})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("outside the recording (0-2.0 s)"),
        "{v}"
    );

    // Nothing secret in any answer or the audit log.
    let audit = s
        .server
        .store()
        .query_audit(None, None, 0, 1000)
        .await
        .unwrap();
    let dump = format!("{audit:?}{list}{one}");
    for secret in [RTMP_PASS, BASIC_PASS, OAUTH_SECRET, "s3-secret-value-1"] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
    assert!(
        !format!("{audit:?}").contains(&name),
        "the stream name reached the audit log"
    );
    assert!(audit.iter().any(|e| e.action == "live_job.create"));
    assert!(audit.iter().any(|e| e.action == "live_job.cancel"));
    assert!(audit.iter().any(|e| e.action == "live_job.recording"));
    assert!(audit
        .iter()
        .any(|e| e.action == "live_job.recording" && e.actor == "recordings:sweep"));
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A real FLV recording of `secs` seconds (H.264 + AAC, a key frame every second), made by ffmpeg.
pub async fn make_flv(path: &std::path::Path, secs: u32) {
    crate::common::nginx::require_tools();
    let out = tokio::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc=size=320x240:rate=25:duration={secs}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={secs}"))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-f",
            "flv",
        ])
        .arg(path)
        .output()
        .await
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_ingest_sqlite() {
    jobs_and_ingest(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_ingest_postgres() {
    jobs_and_ingest(Backend::Postgres).await;
}

/// Naming a credential puts it to work: a key with `jobs:*` but not `credentials:use` may make
/// a job without one, not with one, and asks for no clip.
#[tokio::test(flavor = "multi_thread")]
async fn naming_a_credential_needs_credentials_use() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let (_, base) = receiver().await;
    credentials(&s, &format!("{base}/token")).await;
    let limited = new_key(&s.server, s.account.id, "jobs only", |k| {
        k.policy.permissions = Some(streamgate::domain::Permissions::parse(&["jobs:*"]).unwrap());
    })
    .await;
    let secret = limited.secret.expose();
    use reqwest::Method as M;
    let (status, v) = bc_as(&s, secret, M::POST, "/v1/jobs", Some(json!({}))).await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (status, v) = bc_as(
        &s,
        secret,
        M::POST,
        "/v1/jobs",
        Some(json!({"rtmp_credentials": "enc"})),
    )
    .await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = bc_as(
        &s,
        secret,
        M::POST,
        "/v1/vods",
        Some(json!({"live_job_id": id, "outputs": [{"duration": 1, "url": "s3://b-b/x.mp4"}]})),
    )
    .await;
    assert_eq!(status, 403, "{v}");
}

/// A clip whose destination is down is retried with backoff; the queue is durable: another
/// server on the same database delivers it once the destination is up.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_clip_delivery_is_retried_after_a_restart() {
    let record_dir = tempfile::tempdir().unwrap();
    let objects = tempfile::tempdir().unwrap();
    let port = crate::common::nginx::free_port();
    let config = || {
        let mut c = lab();
        // Both servers keep their files in one place, as one deployment does.
        c.service.objects = ObjectsSetting::Local(objects.path().to_path_buf());
        c.service.jobs.record_dir = Some(record_dir.path().to_path_buf());
        c.service.jobs.s3_endpoint = Some(format!("http://127.0.0.1:{port}"));
        c
    };
    let s = setup_with(Backend::Sqlite, config()).await;
    use reqwest::Method as M;
    let (status, v) = bc(
        &s,
        M::POST,
        "/v1/credentials",
        Some(json!({"credential_label": "bucket", "credential_type": "s3",
                    "credential_public": "AKIAIOSFODNN7EXAMPLE", "credential_private": "s3-secret-value-2",
                    "credential_default_for_type": true})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, job) = bc(&s, M::POST, "/v1/jobs", Some(json!({}))).await;
    let id = job["id"].as_str().unwrap().to_string();
    let name = job["stream_name"].as_str().unwrap().to_string();
    let file = record_dir.path().join(format!("{name}.flv"));
    make_flv(&file, 4).await;
    let res = crate::common::client()
        .post(s.server.ingest_url("/ingest/nginx-rtmp/record-done").await)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "app=jobs&name={name}&path={}",
            urlencode(&file.display().to_string())
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let store = s.server.store().clone();
    let job_uuid: uuid::Uuid = id.parse().unwrap();
    let taken = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move { store.latest_recording(job_uuid).await.unwrap().is_some() }
    })
    .await;
    assert!(taken.is_some(), "the recording was not taken");
    let (status, vod) = bc(
        &s,
        M::POST,
        "/v1/vods",
        Some(json!({"live_job_id": id, "outputs": [
            {"label": "last two", "duration": 2, "url": "s3://retry-clips/c/last.mp4"}
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{vod}");
    let vod_id = vod["id"].as_str().unwrap().to_string();
    assert_eq!(vod["vod_jobs"][0]["label"], "last two");
    // No credential named: the default s3 one.
    assert_eq!(vod["outputs"][0]["credentials"], "bucket");
    // Nothing listens on the endpoint yet: the attempt fails and is scheduled again.
    let failed = eventually(Duration::from_secs(30), || async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, v) = bc(&s, M::GET, &format!("/v1/vods/{vod_id}"), None).await;
        v["outputs"][0]["attempts"].as_i64() == Some(1)
    })
    .await;
    assert!(failed.is_some());
    let (_, v) = bc(&s, M::GET, &format!("/v1/vods/{vod_id}"), None).await;
    let out = &v["outputs"][0];
    assert_eq!(out["state"], "waiting", "{v}");
    assert!(out["error"].as_str().unwrap().starts_with("S3"), "{v}");
    assert!(!v.to_string().contains("s3-secret-value-2"));
    // By its output's own id too.
    let jvod = out["jvod_id"].as_str().unwrap().to_string();
    let (status, by_output) = bc(&s, M::GET, &format!("/v1/vods/{jvod}"), None).await;
    assert_eq!((status, by_output["id"].clone()), (200, json!(vod_id)));

    // Restart on the same database with the bucket's server up; the retry delivers.
    let secret = s.secret().to_string();
    let db = Arc::clone(&s.server.db);
    let Setup { server, .. } = s;
    server.stop().await;
    let moto = Moto::start_on(port).await;
    let http = reqwest::Client::new();
    assert!(http
        .put(format!("{}/retry-clips", moto.url))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let again = TestServer::start_on_with(db, config()).await;
    again.clock.advance_ms(10_000);
    let finished = eventually(Duration::from_secs(60), || async {
        // Gently: the key's rate limit counts these.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let v: Value = http
            .get(again.url(&format!("/v1/vods/{vod_id}")))
            .header("x-api-key", &secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["outputs"][0]["state"] == "finished"
    })
    .await;
    let last: Value = http
        .get(again.url(&format!("/v1/vods/{vod_id}")))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        finished.is_some(),
        "the clip was not delivered after the restart: {last}"
    );
    let clip = http
        .get(format!("{}/retry-clips/c/last.mp4", moto.url))
        .send()
        .await
        .unwrap();
    assert!(clip.status().is_success());
    let bytes = clip.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last.mp4");
    std::fs::write(&path, &bytes).unwrap();
    let secs = probe_duration(&path).await;
    assert!((1.0..=3.0).contains(&secs), "a 2 s clip lasts {secs} s");
    again.stop().await;
}

/// The duration ffprobe finds in a file (it fails the test when it is no playable media).
pub async fn probe_duration(path: &std::path::Path) -> f64 {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .await
        .expect("ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"video"),
        "no video stream in {}: {v}",
        path.display()
    );
    v["format"]["duration"].as_str().unwrap().parse().unwrap()
}
