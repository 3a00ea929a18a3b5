//! End to end playback access control: a real nginx with the RTMP module takes publishes (its
//! `on_publish` renames each stream key to the stream's playback id), cuts HLS, and serves it
//! over HTTP behind `auth_request`, which asks streamgate's `/ingest/nginx/auth-request` about
//! every playlist and segment request. Real ffmpeg publishes and reads. A public Livepeer stream
//! plays with no credential; a Livepeer `jwt` stream plays only with a JWT (ES256) signed by one
//! of its account's enabled signing keys, for its playback id, unexpired; a private api.video
//! stream plays only with its private token. No file nginx writes is named after a stream key.
//!
//! nginx-rtmp's HLS module ignores the `on_publish` rename (it runs before the notify module in
//! the publish chain, arut/nginx-rtmp-module#713, #1013), so the publishing application `live`
//! pushes the renamed stream to a local application `pb`, which cuts the HLS and serves RTMP
//! viewers (`on_play`). `live` itself refuses RTMP viewers; the push's own local play is not
//! subject to `deny play` (nginx-rtmp lets relays through its access rules), but would be subject
//! to an `on_play` there, which is why `on_play` sits on `pb`.
//!
//! The HTTP side copies the playlist request's query onto the segment URLs of the playlist
//! (`sub_filter '.ts' '.ts?$args'`), so the viewer's credential reaches every segment request.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::{self, eventually, new_key, setup_with, Setup};
use serde_json::{json, Value};
use streamgate::testkit::Backend;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::common::nginx::{self, RTMP_MODULE as MODULE};

/// How long each test stream is published (the publishers are killed at the end anyway).
const PUBLISH_SECONDS: u32 = 80;

/// Signs a Livepeer playback JWT (ES256) with a signing key's `privateKey` as the API returned
/// it. The one place that names the crypto helper.
fn sign_jwt(private_key_b64: &str, claims: &Value) -> String {
    streamgate::crypto::playback_jwt::sign(private_key_b64, claims).expect("sign a playback JWT")
}

/// A playback JWT's claims: for `sub` (a playback id), naming the signing key's `publicKey`.
fn claims(sub: &str, public_key: &Value, iat: i64, exp: i64) -> Value {
    json!({"sub": sub, "action": "pull", "pub": public_key, "iat": iat, "exp": exp})
}

struct Nginx {
    child: Child,
    rtmp_port: u16,
    http_port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Nginx {
    fn hls_dir(&self) -> PathBuf {
        self.dir.path().join("hls")
    }

    /// The viewer's URL of a playback id's playlist, with `query` (no `?`) if not empty.
    fn hls_url(&self, playback_id: &str, query: &str) -> String {
        self.hls_file_url(playback_id, "index.m3u8", query)
    }

    fn hls_file_url(&self, playback_id: &str, file: &str, query: &str) -> String {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!(
            "http://127.0.0.1:{}/hls/{playback_id}/{file}{q}",
            self.http_port
        )
    }

    fn rtmp_url(&self, path: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{path}", self.rtmp_port)
    }

    /// The tails of nginx's error and access logs, for failure messages.
    fn logs(&self) -> String {
        format!(
            "--- nginx error.log (tail):\n{}\n--- nginx access.log (tail):\n{}",
            tail(&self.dir.path().join("error.log"), 30),
            tail(&self.dir.path().join("access.log"), 30)
        )
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn start_nginx(s: &Setup, http_port: u16) -> Nginx {
    nginx::require_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::create_dir_all(dir.path().join("hls")).unwrap();
    let rtmp_port = nginx::free_port();
    // The ingest token rides on the hook URLs' query, which nginx keeps.
    let token = s.server.ingest_token().await;
    let sg = s.server.addr;
    let hook = |p: &str| format!("http://{sg}/ingest/nginx-rtmp/{p}?token={token}");
    let conf = format!(
        r#"load_module {MODULE};
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp_port};
    application live {{
      live on; record off;
      deny play all;
      push rtmp://127.0.0.1:{rtmp_port}/pb;
      on_publish {publish};
      on_publish_done {publish_done};
    }}
    application pb {{
      live on; record off;
      allow publish 127.0.0.1; deny publish all;
      on_play {play};
      hls on; hls_path {d}/hls; hls_nested on; hls_fragment 1s; hls_playlist_length 6s;
    }}
  }}
}}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{http_port};
    location /hls/ {{
      auth_request /_sg_auth;
      types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
      alias {d}/hls/;
      sub_filter_types application/vnd.apple.mpegurl;
      sub_filter '.ts' '.ts?$args';
      sub_filter_once off;
      add_header Cache-Control no-cache;
    }}
    location /control {{
      rtmp_control all;
    }}
    location = /_sg_auth {{
      internal;
      proxy_pass http://{sg}/ingest/nginx/auth-request?token={token};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Real-IP $remote_addr;
    }}
  }}
}}
"#,
        publish = hook("publish"),
        publish_done = hook("publish-done"),
        play = hook("play"),
    );
    let child = nginx::start(dir.path(), &conf, &[rtmp_port, http_port]).await;
    Nginx {
        child,
        rtmp_port,
        http_port,
        dir,
    }
}

/// ffmpeg publishing a small test pattern with sound as H.264/AAC (what nginx-rtmp's HLS takes),
/// one keyframe a second, for `seconds`.
fn publish(url: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"])
        .args(["-re", "-f", "lavfi", "-i", "sine=frequency=440"])
        .arg("-t")
        .arg(seconds.to_string())
        // Small and slow: three publishers share the machine with the rest of the suite.
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-threads", "1", "-g", "10"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg")
}

/// What a publisher said on stderr, if it has ended (a running one is left running).
async fn publisher_stderr(child: &mut Child) -> String {
    if matches!(child.try_wait(), Ok(None)) {
        return "(still running)".into();
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    err
}

/// Reads one second of `url` with ffmpeg. `Ok(frames)`: it decoded that many video frames
/// (at least one); `Err(stderr)`: it could not.
async fn read(url: &str) -> Result<usize, String> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i", url])
        .args(["-t", "1", "-map", "0:v:0", "-f", "framecrc", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(Duration::from_secs(20), out).await {
        Err(_) => return Err("ffmpeg did not finish within 20 s".into()),
        Ok(out) => out.expect("ffmpeg"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    if out.status.success() && frames > 0 {
        Ok(frames)
    } else {
        Err(format!("{} ({frames} frames): {stderr}", out.status))
    }
}

/// Asserts that ffmpeg plays `url`.
async fn assert_plays(nginx: &Nginx, what: &str, url: &str) {
    if let Err(e) = read(url).await {
        panic!("{what}: did not play {url}: {e}\n{}", nginx.logs());
    }
}

/// Asserts that ffmpeg cannot play `url`, and that nginx answers its playlist `status` (the
/// auth answer: 401 without a credential, 403 with a refused one).
async fn assert_refused(s: &Setup, nginx: &Nginx, what: &str, url: &str, status: u16) {
    if let Ok(frames) = read(url).await {
        panic!(
            "{what}: played {url} ({frames} frames), should be refused\n{}",
            nginx.logs()
        );
    }
    let got = s.http.get(url).send().await.unwrap().status().as_u16();
    assert_eq!(got, status, "{what}: {url}\n{}", nginx.logs());
}

/// The JSON body of a POST, asserting a success status.
async fn post(req: reqwest::RequestBuilder, what: &str) -> Value {
    let res = req.send().await.unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

/// A Livepeer stream with this playback policy type: (stream key, playback id).
async fn livepeer_stream(s: &Setup, name: &str, policy: &str) -> (String, String) {
    let st = post(
        s.http
            .post(s.url("/api/stream"))
            .bearer_auth(s.secret())
            .json(&json!({"name": name, "playbackPolicy": {"type": policy}})),
        &format!("create the {policy} stream"),
    )
    .await;
    (
        st["streamKey"].as_str().unwrap().to_string(),
        st["playbackId"].as_str().unwrap().to_string(),
    )
}

/// A Livepeer signing key of the account of `secret` (as returned: id, publicKey, privateKey).
async fn signing_key(s: &Setup, secret: &str) -> Value {
    let res = s
        .http
        .post(s.url("/api/access-control/signing-key"))
        .bearer_auth(secret)
        .json(&json!({"name": "k"}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 201, "create a signing key: {body}");
    let key: Value = serde_json::from_str(&body).unwrap();
    for f in ["id", "publicKey", "privateKey"] {
        assert!(key[f].is_string(), "signing key without {f}: {body}");
    }
    key
}

/// Playback id and private token of an api.video private live stream: `playbackId` if the
/// answer has one, else the path segment before `/index.m3u8` (or `.m3u8`) in `assets.hls`; the
/// token is `assets.hls`'s `token` query parameter.
fn apivideo_playback(made: &Value) -> (String, String) {
    let hls = made["assets"]["hls"]
        .as_str()
        .unwrap_or_else(|| panic!("no assets.hls: {made}"));
    let (path, query) = hls.split_once('?').unwrap_or((hls, ""));
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or_else(|| panic!("no private token in assets.hls: {hls}"))
        .to_string();
    let playback_id = match made["playbackId"].as_str() {
        Some(p) => p.to_string(),
        None => path
            .strip_suffix("/index.m3u8")
            .or_else(|| path.strip_suffix(".m3u8"))
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or_else(|| panic!("no playback id in assets.hls: {hls}"))
            .to_string(),
    };
    (playback_id, token)
}

/// Every file and directory name under `dir`, recursively.
fn names_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().unwrap().is_dir() {
            names.extend(names_under(&entry.path()));
        }
    }
    names
}

/// The last segment a playlist on disk lists.
fn last_segment(playlist: &Path) -> String {
    std::fs::read_to_string(playlist)
        .unwrap()
        .lines()
        .rev()
        .find(|l| l.ends_with(".ts"))
        .unwrap_or_else(|| panic!("no segment in {}", playlist.display()))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn hls_behind_nginx_auth_request() {
    // nginx's HTTP port is chosen first: streamgate drops terminated publishers through its
    // control endpoint.
    let http_port = nginx::free_port();
    let s = setup_with(Backend::Sqlite, {
        // Every reader here is 127.0.0.1: refusals must not throttle the readers that follow.
        let mut c = common::lab();
        c.service.ingest_max_failures = 10_000;
        c.service.nginx_rtmp_control_url = Some(format!("http://127.0.0.1:{http_port}/control"));
        c
    })
    .await;
    let nginx = start_nginx(&s, http_port).await;

    // Streams: Livepeer public and jwt, api.video private.
    let (public_key, public_pb) = livepeer_stream(&s, "open", "public").await;
    let (jwt_key, jwt_pb) = livepeer_stream(&s, "gated", "jwt").await;
    let made = post(
        s.http
            .post(s.url("/live-streams"))
            .basic_auth(s.secret(), Some(""))
            .json(&json!({"name": "private", "public": false})),
        "create the private api.video stream",
    )
    .await;
    let private_key = made["streamKey"].as_str().unwrap().to_string();
    let (private_pb, private_token) = apivideo_playback(&made);
    assert_eq!(made["public"], false, "{made}");

    // Signing key A, ours; signing key B, another account's.
    let key_a = signing_key(&s, s.secret()).await;
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let theirs = new_key(&s.server, other.id, "theirs", |_| {}).await;
    let key_b = signing_key(&s, theirs.secret.expose()).await;

    // Publish all three by stream key; each comes out as HLS under its playback id.
    let mut publishers = Vec::new();
    for key in [&public_key, &jwt_key, &private_key] {
        publishers.push(publish(
            &nginx.rtmp_url(&format!("live/{key}")),
            PUBLISH_SECONDS,
        ));
    }
    for (i, pb) in [&public_pb, &jwt_pb, &private_pb].into_iter().enumerate() {
        let playlist = nginx.hls_dir().join(pb).join("index.m3u8");
        // Two segments listed: a reader has something to start on.
        let ready = eventually(Duration::from_secs(30), || {
            let playlist = playlist.clone();
            async move {
                std::fs::read_to_string(&playlist)
                    .map(|p| p.lines().filter(|l| l.ends_with(".ts")).count() >= 2)
                    .unwrap_or(false)
            }
        })
        .await;
        if ready.is_none() {
            let said = publisher_stderr(&mut publishers[i]).await;
            panic!(
                "no HLS for playback id {pb} within 30 s: {:?}\npublisher: {said}\n{}",
                names_under(&nginx.hls_dir()),
                nginx.logs()
            );
        }
    }

    // The auth endpoint itself: the ingest token is required; an allowed read is a bare 200.
    let auth = s.url("/ingest/nginx/auth-request");
    let public_uri = format!("/hls/{public_pb}/index.m3u8");
    let res = s
        .http
        .get(&auth)
        .header("x-original-uri", &public_uri)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "auth-request without an ingest token");
    let res = s
        .http
        .get(s.server.ingest_url("/ingest/nginx/auth-request").await)
        .header("x-original-uri", &public_uri)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "auth-request for a public stream");
    assert_eq!(
        res.text().await.unwrap(),
        "",
        "auth-request answers no body"
    );

    // Public: anyone plays.
    assert_plays(&nginx, "public stream", &nginx.hls_url(&public_pb, "")).await;

    // JWT: signed by one of the account's signing keys, for this playback id, unexpired.
    let now = s.server.clock.now_ms_for_tests() / 1000;
    let priv_a = key_a["privateKey"].as_str().unwrap();
    let priv_b = key_b["privateKey"].as_str().unwrap();
    let valid = sign_jwt(
        priv_a,
        &claims(&jwt_pb, &key_a["publicKey"], now, now + 600),
    );
    let expired = sign_jwt(
        priv_a,
        &claims(&jwt_pb, &key_a["publicKey"], now - 1200, now - 600),
    );
    let other_account = sign_jwt(
        priv_b,
        &claims(&jwt_pb, &key_b["publicKey"], now, now + 600),
    );
    let forged_pub = sign_jwt(
        priv_b,
        &claims(&jwt_pb, &key_a["publicKey"], now, now + 600),
    );
    let other_stream = sign_jwt(
        priv_a,
        &claims(&public_pb, &key_a["publicKey"], now, now + 600),
    );

    let jwt_url = nginx.hls_url(&jwt_pb, &format!("jwt={valid}"));
    assert_plays(&nginx, "jwt stream with a valid JWT", &jwt_url).await;
    // The playlist handed the JWT on to the segments, and they were served with it.
    let log = nginx.access_log();
    assert!(
        log.lines().any(|l| l.contains(&format!("/hls/{jwt_pb}/"))
            && l.contains(&format!(".ts?jwt={valid} "))
            && (l.contains("\" 200 ") || l.contains("\" 206 "))),
        "no segment served with the JWT on its query\n{}",
        nginx.logs()
    );
    // The same JWT in a Livepeer-Jwt header instead of the query.
    let res = s
        .http
        .get(nginx.hls_url(&jwt_pb, ""))
        .header("livepeer-jwt", &valid)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "JWT in a Livepeer-Jwt header\n{}",
        nginx.logs()
    );
    // Segments are guarded too, not only the playlist.
    let segment = last_segment(&nginx.hls_dir().join(&jwt_pb).join("index.m3u8"));
    let seg = |q: &str| nginx.hls_file_url(&jwt_pb, &segment, q);
    let status = s.http.get(seg("")).send().await.unwrap().status();
    assert_eq!(status, 401, "a jwt stream's segment without a JWT");
    let status = s
        .http
        .get(seg(&format!("jwt={valid}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status,
        200,
        "a jwt stream's segment with the JWT\n{}",
        nginx.logs()
    );

    let jwt_hls = |q: &str| nginx.hls_url(&jwt_pb, q);
    assert_refused(&s, &nginx, "jwt stream without a JWT", &jwt_hls(""), 401).await;
    for (what, jwt) in [
        ("an expired JWT", &expired),
        ("a JWT of another account's key", &other_account),
        ("a JWT naming key A but signed by B", &forged_pub),
        ("a JWT for another playback id", &other_stream),
    ] {
        let what = format!("jwt stream with {what}");
        assert_refused(&s, &nginx, &what, &jwt_hls(&format!("jwt={jwt}")), 403).await;
    }
    // A path that nginx decodes into the jwt stream's playlist, asked about as the public
    // stream's, is refused before nginx serves anything.
    for sneaky in [
        format!("/hls/{public_pb}/..%2F{jwt_pb}%2Findex.m3u8"),
        format!("/hls/{public_pb}/%2e%2e%2F{jwt_pb}%2Findex.m3u8"),
    ] {
        let url = format!("http://127.0.0.1:{}{sneaky}", nginx.http_port);
        let res = s.http.get(&url).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert!(
            status == 403 && !body.contains("#EXTM3U"),
            "{sneaky}: {status}\n{}",
            nginx.logs()
        );
    }

    // RTMP viewers read `pb/<playbackId>` and are asked about by `on_play` (nginx-rtmp passes the
    // URL's query as form fields). nginx-rtmp cuts a play URL's query to 256 bytes, so a Livepeer
    // JWT (about 700) cannot reach `on_play` whole: over nginx-rtmp's RTMP it is refused as
    // malformed, while the 32-character private token fits (below).
    assert_plays(
        &nginx,
        "public stream over RTMP",
        &nginx.rtmp_url(&format!("pb/{public_pb}")),
    )
    .await;
    if let Ok(frames) = read(&nginx.rtmp_url(&format!("pb/{jwt_pb}"))).await {
        panic!("jwt stream played over RTMP without a JWT ({frames} frames)");
    }
    if let Ok(frames) = read(&nginx.rtmp_url(&format!("pb/{jwt_pb}?jwt={valid}"))).await {
        panic!("a JWT cut short by nginx-rtmp played over RTMP ({frames} frames)");
    }
    assert_plays(
        &nginx,
        "private stream over RTMP with its token",
        &nginx.rtmp_url(&format!("pb/{private_pb}?token={private_token}")),
    )
    .await;
    if let Ok(frames) = read(&nginx.rtmp_url(&format!("pb/{private_pb}"))).await {
        panic!("private stream played over RTMP without its token ({frames} frames)");
    }
    // Nor can anyone read the publishing application (where the stream keys are).
    if let Ok(frames) = read(&nginx.rtmp_url(&format!("live/{jwt_pb}"))).await {
        panic!("read the publishing application over RTMP ({frames} frames)");
    }

    // A disabled signing key's JWTs are refused (time passes on the server's manual clock too).
    let res = s
        .http
        .patch(s.url(&format!(
            "/api/access-control/signing-key/{}",
            key_a["id"].as_str().unwrap()
        )))
        .bearer_auth(s.secret())
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "disable the signing key");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.server.clock.advance_ms(1500);
    assert_refused(
        &s,
        &nginx,
        "jwt stream with a disabled key's JWT",
        &jwt_url,
        403,
    )
    .await;

    // Private api.video: the private token plays; none or a wrong one is refused.
    let private_hls = |q: &str| nginx.hls_url(&private_pb, q);
    assert_plays(
        &nginx,
        "private stream with its token",
        &private_hls(&format!("token={private_token}")),
    )
    .await;
    assert_refused(
        &s,
        &nginx,
        "private stream without a token",
        &private_hls(""),
        401,
    )
    .await;
    let last = if private_token.ends_with('x') {
        'y'
    } else {
        'x'
    };
    let wrong = format!("{}{last}", &private_token[..private_token.len() - 1]);
    assert_refused(
        &s,
        &nginx,
        "private stream with a wrong token",
        &private_hls(&format!("token={wrong}")),
        403,
    )
    .await;

    // The publishers were never cut off.
    for (i, p) in publishers.iter_mut().enumerate() {
        if !matches!(p.try_wait(), Ok(None)) {
            let said = publisher_stderr(p).await;
            panic!("publisher {i} ended early: {said}\n{}", nginx.logs());
        }
    }

    // No name nginx wrote holds a stream key; the playback ids are there.
    let names = names_under(&nginx.hls_dir());
    for key in [&public_key, &jwt_key, &private_key] {
        assert!(
            !names.iter().any(|n| n.contains(key.as_str())),
            "a stream key in the HLS tree: {names:?}"
        );
    }
    for pb in [&public_pb, &jwt_pb, &private_pb] {
        assert!(names.contains(pb), "{pb} not in {names:?}");
    }

    // Terminated through the API: nginx-rtmp drops the publisher, the stream goes idle.
    let streams = s
        .http
        .get(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let public_id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["playbackId"] == public_pb.as_str())
        .and_then(|x| x["id"].as_str())
        .unwrap()
        .to_string();
    let res = s
        .http
        .delete(s.url(&format!("/api/stream/{public_id}/terminate")))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let live = s
        .http
        .get(s.url(&format!("/api/stream/{public_id}")))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(live["isActive"], false, "terminated: idle at once");
    let publisher = &mut publishers[0];
    let dropped = eventually(Duration::from_secs(10), || {
        let ended = !matches!(publisher.try_wait(), Ok(None));
        async move { ended }
    })
    .await;
    assert!(
        dropped.is_some(),
        "nginx-rtmp did not drop the terminated publisher\n{}",
        nginx.logs()
    );
    assert!(
        publishers[1..]
            .iter_mut()
            .all(|p| matches!(p.try_wait(), Ok(None))),
        "only the terminated stream's publisher is dropped"
    );

    for mut p in publishers {
        let _ = p.start_kill();
        let _ = p.wait().await;
    }
}
