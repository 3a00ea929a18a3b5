//! End to end: a real nginx with the RTMP module asks streamgate (`on_publish`/`on_publish_done`)
//! and a real ffmpeg publishes a test pattern. Valid keys stream; wrong, suspended and deleted
//! ones are cut off by nginx; the stream shows active while publishing and a closed session after;
//! Edgecast DirPath + key publishes the same way; a webhook receiver gets the signed
//! `live-stream.broadcast.started` and `.ended` events; the hooks carry an ingest token on their
//! URL's query, which nginx-rtmp keeps (without it, even a valid key is refused). nginx and
//! ffmpeg come from Debian (`scripts/test-deps.sh`); nginx runs unprivileged-port, with its own
//! prefix under a temp dir.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{eventually, lab, setup_with, Setup};
use serde_json::{json, Value};
use streamgate::service::deliveries::{signature, SIGNATURE_HEADER};
use streamgate::testkit::Backend;
use tokio::process::{Child, Command};

use crate::common::nginx::{self, RTMP_MODULE as MODULE};

struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_nginx(s: &Setup) -> Nginx {
    nginx::require_tools();
    let dir = tempfile::tempdir().unwrap();
    let port = nginx::free_port();
    // The ingest token rides on the hook URL's query, which nginx-rtmp keeps.
    let token = s.server.ingest_token().await;
    let hook = |p: &str| {
        format!(
            "http://{}/ingest/nginx-rtmp/{p}?token={token}",
            s.server.addr
        )
    };
    let app = |name: &str| {
        format!(
            "    application {name} {{ live on; record off; on_publish {}; on_publish_done {}; }}\n",
            hook("publish"),
            hook("publish-done")
        )
    };
    // An application whose hooks carry no ingest token: streamgate answers them 401.
    let untokened = format!(
        "    application notoken {{ live on; record off; on_publish http://{}/ingest/nginx-rtmp/publish; }}\n",
        s.server.addr
    );
    let conf = format!(
        "load_module {MODULE};\ndaemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 64; }}\nrtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n{live}{inst}{untokened}  }}\n}}\n",
        d = dir.path().display(),
        live = app("live"),
        inst = app("inst"),
    );
    let child = nginx::start(dir.path(), &conf, &[port]).await;
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

/// ffmpeg publishing `seconds` of a test pattern to `url`.
fn ffmpeg(url: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc=size=320x240:rate=25:duration={seconds}"))
        .args(["-c:v", "flv", "-b:v", "300k", "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg")
}

async fn publish(url: &str, seconds: u32) -> bool {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        ffmpeg(url, seconds).wait_with_output(),
    )
    .await
    .expect("ffmpeg hung")
    .unwrap();
    out.status.success()
}

async fn get(s: &Setup, path: &str) -> Value {
    s.http
        .get(s.url(path))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ffmpeg_through_nginx_rtmp() {
    let s = setup_with(Backend::Sqlite, lab()).await;
    let nginx = start_nginx(&s).await;
    // A webhook receiver for the broadcast events (on loopback, so private targets are allowed).
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let sig = headers
                    .get(SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                sink.lock().unwrap().push((sig, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let wh: Value = s.http.post(s.url("/webhooks")).basic_auth(s.secret(), Some(""))
        .json(&json!({"events": ["live-stream.broadcast.started", "live-stream.broadcast.ended"], "url": hook_url}))
        .send().await.unwrap().json().await.unwrap();
    let secret = wh["signatureSecret"].as_str().unwrap().to_string();
    let base = format!("rtmp://127.0.0.1:{}", nginx.port);
    let st: Value = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "e2e"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = st["id"].as_str().unwrap().to_string();
    let key = st["streamKey"].as_str().unwrap().to_string();

    // A media server whose hook URL lacks the ingest token is refused, even with a valid key.
    assert!(
        !publish(&format!("{base}/notoken/{key}"), 2).await,
        "published through hooks without an ingest token"
    );
    assert_eq!(
        get(&s, &format!("/api/stream/{id}/sessions")).await,
        json!([]),
        "a session without an ingest token"
    );

    // A valid key streams; the stream is active while it does.
    let mut child = ffmpeg(&format!("{base}/live/{key}"), 4);
    let active = eventually(Duration::from_secs(4), || {
        let s = &s;
        let id = id.clone();
        async move { get(s, &format!("/api/stream/{id}")).await["isActive"] == true }
    })
    .await;
    assert!(
        active.is_some(),
        "the stream never showed active during the publish"
    );
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("ffmpeg hung")
        .unwrap();
    assert!(out.success(), "ffmpeg failed with a valid key");
    let idle = eventually(Duration::from_secs(5), || {
        let s = &s;
        let id = id.clone();
        async move {
            get(s, &format!("/api/stream/{id}")).await["isActive"] == false
                && get(s, &format!("/api/stream/{id}/sessions")).await[0]["isActive"] == false
        }
    })
    .await;
    assert!(idle.is_some(), "no closed session after the publish");
    let sessions = get(&s, &format!("/api/stream/{id}/sessions")).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    // The receiver got "started" and "ended", each signed with the webhook's secret.
    let both = eventually(Duration::from_secs(5), || async {
        got.lock().unwrap().len() >= 2
    })
    .await;
    assert!(
        both.is_some(),
        "broadcast webhooks did not arrive: {:?}",
        got.lock().unwrap()
    );
    let events = got.lock().unwrap().clone();
    let types: Vec<String> = events
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "live-stream.broadcast.started",
            "live-stream.broadcast.ended"
        ]
    );
    for (sig, body) in &events {
        assert_eq!(sig, &signature(&secret, body));
    }

    // A wrong key is cut off by nginx.
    assert!(
        !publish(&format!("{base}/live/abcd-efgh-ijkl-mnop"), 2).await,
        "a wrong key published"
    );
    // Suspended, then deleted: refused.
    s.http
        .patch(s.url(&format!("/api/stream/{id}")))
        .bearer_auth(s.secret())
        .json(&json!({"suspended": true}))
        .send()
        .await
        .unwrap();
    assert!(
        !publish(&format!("{base}/live/{key}"), 2).await,
        "a suspended stream published"
    );
    s.http
        .patch(s.url(&format!("/api/stream/{id}")))
        .bearer_auth(s.secret())
        .json(&json!({"suspended": false}))
        .send()
        .await
        .unwrap();
    s.http
        .delete(s.url(&format!("/api/stream/{id}")))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert!(
        !publish(&format!("{base}/live/{key}"), 2).await,
        "a deleted stream published"
    );

    // Edgecast: rtmp://…/<instance>/<stream>?<key>.
    let ec = format!(
        "/v2/mcc/customers/{}/httpstreaming/dcp/streamkeys",
        s.account.number
    );
    let r = s
        .http
        .post(s.url(&ec))
        .header("authorization", format!("TOK:{}", s.secret()))
        .json(&json!({"DirPath": "inst/cam7", "Key": "edgeKey42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        publish(&format!("{base}/inst/cam7?edgeKey42"), 2).await,
        "the Edgecast key did not publish"
    );
    assert!(
        !publish(&format!("{base}/inst/cam7?edgeKey43"), 2).await,
        "a wrong Edgecast key published"
    );
    // Refusals are audited in aggregate, when the window ends (here: now).
    s.server.svc().flush_ingest_refusals().await;
    let audit = s
        .server
        .store()
        .query_audit(None, None, 0, 100)
        .await
        .unwrap();
    let outcomes: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "ingest.publish")
        .map(|e| e.outcome.as_str())
        .collect();
    for o in [
        "stream_key",
        "unknown_stream",
        "stream_suspended",
        "stream_deleted",
        "edgecast",
        "wrong_key",
    ] {
        assert!(outcomes.contains(&o), "{o}: {outcomes:?}");
    }
}
