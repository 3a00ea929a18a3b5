//! End to end, a Brightcove Live job with real components: a real nginx with the RTMP module asks
//! streamgate whether an encoder may publish to the job (`on_publish`, with the job's `rtmp`
//! credential), records the stream and reports the file (`on_record_done`, with the ingest
//! token); a real ffmpeg publishes a test pattern, refused without the credential and accepted
//! with it. A clip of the recording is cut and delivered, by credential label, to a real
//! S3-protocol server (moto's) and real FTP servers (pyftpdlib, plain and explicit FTPS with a
//! certificate streamgate is configured to trust), all started by the test; each
//! clip is a playable MP4 of the asked duration (ffprobe). The job's notification endpoints get
//! every state change, one with Basic credentials and one with an OAuth token from a token
//! endpoint.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::common::external::Moto;
use crate::common::nginx::{self, RTMP_MODULE};
use crate::common::{eventually, lab, setup_with, Setup};
use crate::ftp_upload::Server as FtpServer;
use crate::live_jobs::{bc, credentials, probe_duration, receiver, RTMP_PASS, RTMP_USER};
use streamgate::testkit::Backend;

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

/// nginx-rtmp's `jobs` application: every publish asked of streamgate, recorded into
/// `record_dir`, each finished recording reported.
async fn start_nginx(s: &Setup, record_dir: &std::path::Path, http_port: u16) -> Nginx {
    nginx::require_tools();
    let dir = tempfile::tempdir().unwrap();
    let port = nginx::free_port();
    let token = s.server.ingest_token().await;
    let hook = |p: &str| {
        format!(
            "http://{}/ingest/nginx-rtmp/{p}?token={token}",
            s.server.addr
        )
    };
    let conf = format!(
        "load_module {RTMP_MODULE};\ndaemon off;\nmaster_process off;\nworker_processes 1;\n\
         pid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
         rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n\
         application jobs {{ live on; record all; record_path {rec}; record_unique on;\n\
           on_publish {p}; on_publish_done {pd}; on_record_done {rd}; }}\n  }}\n}}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/client_body;\n\
           proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
           scgi_temp_path {d}/scgi;\n\
           server {{ listen 127.0.0.1:{http_port}; location /control {{ rtmp_control all; }} }}\n}}\n",
        d = dir.path().display(),
        rec = record_dir.display(),
        p = hook("publish"),
        pd = hook("publish-done"),
        rd = hook("record-done"),
    );
    let child = nginx::start(dir.path(), &conf, &[port, http_port]).await;
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

/// ffmpeg publishing `seconds` of a test pattern with sound (H.264 + AAC, a key frame every
/// second) to `url`; did it get through?
async fn publish(url: &str, seconds: u32) -> bool {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        encoder(url, seconds).wait_with_output(),
    )
    .await
    .expect("ffmpeg hung")
    .unwrap();
    out.status.success()
}

fn encoder(url: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate=25:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-c:a", "aac", "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_published_recorded_clipped_and_delivered_to_s3_and_ftp() {
    let record_dir = tempfile::tempdir().unwrap();
    let moto = Moto::start().await;
    let ftp_dir = tempfile::tempdir().unwrap();
    let ftp = FtpServer::start(ftp_dir.path(), None, "").await;
    // And one that speaks only explicit FTPS, with a certificate streamgate is told to trust.
    let ftps_dir = tempfile::tempdir().unwrap();
    let (cert_pem, server_pem) = crate::ftp_upload::self_signed(ftps_dir.path());
    let ftps = FtpServer::start(ftps_dir.path(), Some(&server_pem), "").await;
    let ca_file = ftps_dir.path().join("ca.pem");
    std::fs::write(&ca_file, &cert_pem).unwrap();
    let http = reqwest::Client::new();
    assert!(http
        .put(format!("{}/live-clips", moto.url))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let mut config = lab();
    config.service.jobs.record_dir = Some(record_dir.path().to_path_buf());
    config.service.jobs.s3_endpoint = Some(moto.url.clone());
    config.service.jobs.ftp_ca_file = Some(ca_file);
    // nginx's HTTP port first: a cancelled job's publisher is dropped through its control endpoint.
    let http_port = nginx::free_port();
    config.service.nginx_rtmp_control_url = Some(format!("http://127.0.0.1:{http_port}/control"));
    let s = setup_with(Backend::Sqlite, config).await;
    let nginx = start_nginx(&s, record_dir.path(), http_port).await;
    let (got, base) = receiver().await;
    credentials(&s, &format!("{base}/token")).await;
    use reqwest::Method as M;
    for body in [
        json!({"credential_label": "clips bucket", "credential_type": "s3",
               "credential_public": "AKIAIOSFODNN7EXAMPLE", "credential_private": "moto-secret-3c9d"}),
        json!({"credential_label": "clips ftp", "credential_type": "ftp",
               "credential_public": crate::ftp_upload::USER, "credential_private": crate::ftp_upload::PASSWORD}),
    ] {
        let (status, v) = bc(&s, M::POST, "/v1/credentials", Some(body)).await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, job) = bc(
        &s,
        M::POST,
        "/v1/jobs",
        Some(json!({
            "live_stream": true,
            "region": "us-west-2",
            "reconnect_time": 30,
            "rtmp_credentials": "enc",
            "notifications": [
                {"url": format!("{base}/n/basic"), "credentials": "notify basic"},
                {"url": format!("{base}/n/oauth"), "credentials": "notify oauth"},
            ],
        })),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let name = job["stream_name"].as_str().unwrap().to_string();
    let ingest = format!("rtmp://127.0.0.1:{}/jobs/{name}", nginx.port);

    // Without the job's rtmp credential nginx is told no; with it, the encoder streams.
    assert!(
        !publish(&ingest, 2).await,
        "published without the credential"
    );
    assert!(!publish(&format!("{ingest}?user={RTMP_USER}&pass=nope"), 2).await);
    let (_, v) = bc(&s, M::GET, &format!("/v1/jobs/{id}"), None).await;
    assert_eq!(v["job"]["state"], "waiting");
    assert!(
        publish(&format!("{ingest}?user={RTMP_USER}&pass={RTMP_PASS}"), 6).await,
        "the encoder with the job's credential was refused"
    );

    // nginx reports the recording; streamgate takes it into object storage.
    let store = s.server.store().clone();
    let job_uuid: uuid::Uuid = id.parse().unwrap();
    let recorded = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move { store.latest_recording(job_uuid).await.unwrap().is_some() }
    })
    .await;
    assert!(recorded.is_some(), "no recording was reported");
    let rec = store.latest_recording(job_uuid).await.unwrap().unwrap();
    assert!(
        (5_000..=7_500).contains(&rec.duration_ms),
        "a 6 s publish recorded {} ms",
        rec.duration_ms
    );
    assert!(
        std::fs::read_dir(record_dir.path())
            .unwrap()
            .next()
            .is_none(),
        "the recorded file is left in the media server's directory"
    );
    let (_, v) = bc(&s, M::GET, &format!("/v1/jobs/{id}"), None).await;
    assert_eq!(v["job"]["state"], "disconnected");

    // A window past the end is refused; two clips are cut and delivered by label.
    let (status, v) = bc(
        &s,
        M::POST,
        "/v1/vods",
        Some(json!({"live_job_id": id, "outputs": [
            {"label": "too far", "start_time": 4, "end_time": 30, "url": "s3://live-clips/x.mp4", "credentials": "clips bucket"}
        ]})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("outside the recording"),
        "{v}"
    );
    let (status, vod) = bc(
        &s,
        M::POST,
        "/v1/vods",
        Some(json!({"live_job_id": id, "outputs": [
            {"label": "last 3 s", "duration": 3, "url": "s3://live-clips/jobs/last3.mp4", "credentials": "clips bucket",
             "notifications": [{"url": format!("{base}/n/clip-basic"), "credentials": "notify basic"}]},
            {"label": "1 to 4 s", "start_time": 1, "end_time": 4,
             "url": format!("ftp://127.0.0.1:{}/clips/window.mp4", ftp.addr.port()), "credentials": "clips ftp",
             "notifications": [{"url": format!("{base}/n/clip-oauth"), "credentials": "notify oauth"}]},
            {"label": "over TLS", "duration": 2,
             "url": format!("ftps://127.0.0.1:{}/clips/tls.mp4", ftps.addr.port()), "credentials": "clips ftp"},
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{vod}");
    let vod_id = vod["id"].as_str().unwrap().to_string();
    assert_eq!(vod["vod_jobs"].as_array().unwrap().len(), 3);
    let done = eventually(Duration::from_secs(60), || async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, v) = bc(&s, M::GET, &format!("/v1/vods/{vod_id}"), None).await;
        v["outputs"]
            .as_array()
            .is_some_and(|o| o.iter().all(|o| o["state"] != "waiting"))
    })
    .await;
    let (_, v) = bc(&s, M::GET, &format!("/v1/vods/{vod_id}"), None).await;
    assert!(done.is_some(), "{v}");
    for o in v["outputs"].as_array().unwrap() {
        assert_eq!(o["state"], "finished", "{v}");
        assert!(o["bytes"].as_i64().unwrap() > 1000, "{v}");
    }

    // Each clip is a playable MP4 of about the asked length (stream copy cuts at key frames).
    let dir = tempfile::tempdir().unwrap();
    let from_s3 = http
        .get(format!("{}/live-clips/jobs/last3.mp4", moto.url))
        .send()
        .await
        .unwrap();
    assert!(from_s3.status().is_success());
    let s3_file = dir.path().join("last3.mp4");
    std::fs::write(&s3_file, from_s3.bytes().await.unwrap()).unwrap();
    let secs = probe_duration(&s3_file).await;
    assert!((2.0..=4.0).contains(&secs), "a 3 s clip lasts {secs} s");
    let ftp_file = ftp.home.join("clips/window.mp4");
    let secs = probe_duration(&ftp_file).await;
    assert!((2.0..=4.0).contains(&secs), "a 1-4 s clip lasts {secs} s");
    let secs = probe_duration(&ftps.home.join("clips/tls.mp4")).await;
    assert!((1.0..=3.0).contains(&secs), "a 2 s clip lasts {secs} s");

    // Stopping the job finishes it; every change reached both endpoints with their credential.
    let (status, v) = bc(&s, M::PUT, &format!("/v1/jobs/{id}/stop"), None).await;
    assert_eq!(
        (status, v["state"].clone()),
        (200, json!("finished")),
        "{v}"
    );
    let all_there = eventually(Duration::from_secs(20), || async {
        let got = got.lock().unwrap();
        ["basic", "oauth"].iter().all(|n| {
            let states: Vec<&str> = got
                .iter()
                .filter(|(name, ..)| name == n)
                .filter_map(|(_, _, b)| b["state"].as_str())
                .collect();
            ["processing", "disconnected", "finished"]
                .iter()
                .all(|s| states.contains(s))
        })
    })
    .await;
    assert!(all_there.is_some(), "{:?}", got.lock().unwrap());
    // And each clip output's endpoint heard, once, that it was delivered.
    let clips_told = eventually(Duration::from_secs(20), || async {
        let got = got.lock().unwrap();
        ["clip-basic", "clip-oauth"]
            .iter()
            .all(|n| got.iter().any(|(name, ..)| name == n))
    })
    .await;
    assert!(clips_told.is_some(), "{:?}", got.lock().unwrap());
    for (name, auth, body) in got.lock().unwrap().iter() {
        let want_bearer = name.ends_with("oauth");
        assert_eq!(auth.starts_with("Bearer "), want_bearer, "{name}: {auth}");
        assert_eq!(auth.starts_with("Basic "), !want_bearer, "{name}: {auth}");
        if name.starts_with("clip-") {
            assert_eq!(body["entity_type"], "vod_job", "{body}");
            assert_eq!(body["state"], "finished", "{body}");
            assert_eq!(body["job_id"], id.as_str());
            assert_eq!(body["vod_id"], vod_id.as_str());
        } else {
            assert_eq!(body["entity"], id.as_str());
        }
    }
    let told = |n: &str| {
        got.lock()
            .unwrap()
            .iter()
            .filter(|(name, ..)| name == n)
            .count()
    };
    assert_eq!((told("clip-basic"), told("clip-oauth")), (1, 1));

    // A job cancelled while its encoder publishes: nginx-rtmp drops the encoder at once.
    let (_, other) = bc(&s, M::POST, "/v1/jobs", Some(json!({}))).await;
    let other_id = other["id"].as_str().unwrap().to_string();
    let other_url = format!(
        "rtmp://127.0.0.1:{}/jobs/{}",
        nginx.port,
        other["stream_name"].as_str().unwrap()
    );
    let mut long = encoder(&other_url, 60);
    let live = eventually(Duration::from_secs(20), || async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, v) = bc(&s, M::GET, &format!("/v1/jobs/{other_id}"), None).await;
        v["job"]["state"] == "processing"
    })
    .await;
    assert!(live.is_some(), "the second job never went live");
    let (status, v) = bc(&s, M::PUT, &format!("/v1/jobs/{other_id}/cancel"), None).await;
    assert_eq!(
        (status, v["state"].clone()),
        (200, json!("cancelled")),
        "{v}"
    );
    let dropped = tokio::time::timeout(Duration::from_secs(15), long.wait()).await;
    assert!(
        dropped.is_ok(),
        "nginx-rtmp did not drop the cancelled job's encoder"
    );

    // Each stored secret's use is audited with its label and host, never its value.
    let audit = store.query_audit(None, None, 0, 10_000).await.unwrap();
    let uses: Vec<Value> = audit
        .iter()
        .filter(|e| e.action == "credential.use")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    for (label, sent_as) in [
        ("clips bucket", "s3"),
        ("clips ftp", "ftp"),
        ("notify basic", "basic"),
        ("notify oauth", "token_request"),
    ] {
        assert!(
            uses.iter()
                .any(|u| u["label"] == label && u["sentAs"] == sent_as && u["host"] != ""),
            "no audited use of {label}: {uses:?}"
        );
    }
    let dump = format!("{audit:?}{v}");
    // The stream name is the encoder's secret too (and the recorded file was named after it).
    for secret in [
        "moto-secret-3c9d",
        crate::ftp_upload::PASSWORD,
        RTMP_PASS,
        &name,
    ] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
}
