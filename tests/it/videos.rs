//! Uploads in process, on both backends: api.video's delegated upload with an upload token
//! (whole, in the clients' `part k/N` chunks, and in progressive sessions whose `videoId` comes
//! after the file), `/videos` CRUD, lists and the served file (public, and private with its
//! token); Livepeer's request-upload with its one-time URL, assets and tasks, and imports from a
//! URL; size limits and upload credentials (wrong scope, spent, absent: nothing written). The
//! published clients drive the same routes in tests/it/{apivideo,livepeer}_clients.rs; the S3
//! path runs against a real S3-protocol server in tests/it/objects_s3.rs.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::common::{self, setup, setup_with, Setup};
use streamgate::testkit::Backend;

async fn call(s: &Setup, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = s
        .http
        .request(method.parse().unwrap(), s.url(path))
        .bearer_auth(s.secret());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn upload_token(s: &Setup) -> String {
    let (st, t) = call(s, "POST", "/upload-tokens", Some(json!({"ttl": 600}))).await;
    assert_eq!(st, 200, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn file_form(name: &str, bytes: Vec<u8>, video_id: Option<&str>, id_first: bool) -> Form {
    let part = Part::bytes(bytes).file_name(name.to_string());
    let mut f = Form::new();
    if id_first {
        if let Some(id) = video_id {
            f = f.text("videoId", id.to_string());
        }
        f = f.part("file", part);
    } else {
        f = f.part(name.to_string(), part);
        if let Some(id) = video_id {
            f = f.text("videoId", id.to_string());
        }
    }
    f
}

async fn post_form(
    s: &Setup,
    url: &str,
    form: Form,
    range: Option<&str>,
    key: bool,
) -> (u16, Value) {
    let mut req = s.http.post(url).multipart(form);
    if let Some(r) = range {
        req = req.header("content-range", r);
    }
    if key {
        req = req.bearer_auth(s.secret());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    if status >= 400 {
        assert_eq!(
            ct.as_deref(),
            Some("application/problem+json"),
            "{status} {text}"
        );
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn fetch(s: &Setup, url: &str) -> (u16, Vec<u8>) {
    let res = s.http.get(url).send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

async fn token_uploads(backend: Backend) {
    let s = setup(backend).await;
    let token = upload_token(&s).await;
    let url = s.url(&format!("/upload?token={token}"));

    // Whole, as the Node client sends a small file: no Content-Range.
    let whole = bytes(70_000, 1);
    let (st, v) = post_form(
        &s,
        &url,
        file_form("clip.mp4", whole.clone(), None, false),
        None,
        false,
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["title"], "clip.mp4");
    let mp4 = v["assets"]["mp4"].as_str().unwrap().to_string();
    assert_eq!(fetch(&s, &mp4).await, (200, whole));

    // The clients' chunks: `part k/N`, no video named after the first.
    let big = bytes(300_000, 7);
    let chunks: Vec<&[u8]> = big.chunks(120_000).collect();
    let mut id = String::new();
    for (i, c) in chunks.iter().enumerate() {
        let range = format!("part {}/{}", i + 1, chunks.len());
        let (st, v) = post_form(
            &s,
            &url,
            file_form("big.mp4", c.to_vec(), None, true),
            Some(&range),
            false,
        )
        .await;
        assert_eq!(st, 201, "{range}: {v}");
        if i == 0 {
            id = v["videoId"].as_str().unwrap().to_string();
        } else {
            assert_eq!(
                v["videoId"],
                id.as_str(),
                "chunk {range} joined the same video"
            );
        }
    }
    let (st, v) = call(&s, "GET", &format!("/videos/{id}/status"), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["ingest"]["status"], "uploaded", "{v}");
    assert_eq!(v["encoding"]["playable"], true);
    let (_, v) = call(&s, "GET", &format!("/videos/{id}"), None).await;
    let mp4 = v["assets"]["mp4"].as_str().unwrap().to_string();
    // Byte ranges, as players seek: across the parts' boundary, to the end, and past it.
    for (range, lo, hi) in [
        ("bytes=119990-120009", 119_990, 120_010),
        ("bytes=299990-", 299_990, 300_000),
        ("bytes=0-0", 0, 1),
    ] {
        let res = s
            .http
            .get(&mp4)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206, "{range}");
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes {lo}-{}/300000", hi - 1).as_str()
        );
        assert_eq!(res.headers()["accept-ranges"], "bytes");
        assert_eq!(
            res.bytes().await.unwrap().to_vec(),
            big[lo..hi].to_vec(),
            "{range}"
        );
    }
    let res = s
        .http
        .get(&mp4)
        .header("range", "bytes=300000-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */300000");
    assert_eq!(fetch(&s, &mp4).await, (200, big));

    // A progressive session: `part n/*` … `part n/n`, with the video id after the file (the
    // Node client's order) from the second part on.
    let prog = bytes(90_000, 3);
    let parts: Vec<&[u8]> = prog.chunks(40_000).collect();
    let mut pid = String::new();
    for (i, c) in parts.iter().enumerate() {
        let n = i + 1;
        let range = if n == parts.len() {
            format!("part {n}/{n}")
        } else {
            format!("part {n}/*")
        };
        let vid = (n > 1).then_some(pid.as_str());
        let (st, v) = post_form(
            &s,
            &url,
            file_form("p.mp4", c.to_vec(), vid, false),
            Some(&range),
            false,
        )
        .await;
        assert_eq!(st, 201, "{range}: {v}");
        pid = v["videoId"].as_str().unwrap().to_string();
    }
    let (_, v) = call(&s, "GET", &format!("/videos/{pid}"), None).await;
    assert_eq!(
        fetch(&s, v["assets"]["mp4"].as_str().unwrap()).await,
        (200, prog)
    );

    // A chunk sent again (its answer was lost) replaces itself: nothing is doubled.
    let retry = bytes(90_000, 11);
    let r: Vec<&[u8]> = retry.chunks(30_000).collect();
    let mut rid = String::new();
    for (n, c) in [(1, r[0]), (2, r[1]), (2, r[1]), (3, r[2])] {
        let range = format!("part {n}/3");
        let (st, v) = post_form(
            &s,
            &url,
            file_form("retry.mp4", c.to_vec(), None, true),
            Some(&range),
            false,
        )
        .await;
        assert_eq!(st, 201, "{range}: {v}");
        rid = v["videoId"].as_str().unwrap().to_string();
    }
    let (_, v) = call(&s, "GET", &format!("/videos/{rid}"), None).await;
    assert_eq!(
        fetch(&s, v["assets"]["mp4"].as_str().unwrap()).await,
        (200, retry)
    );

    // A chunk out of order is refused, and the video keeps what it had.
    let (st, _) = post_form(
        &s,
        &url,
        file_form("x.mp4", bytes(10, 0), None, true),
        Some("part 3/4"),
        false,
    )
    .await;
    assert_eq!(st, 400);

    // No token, a wrong one, an API key: 401, and nothing written.
    let (_, before) = call(&s, "GET", "/videos", None).await;
    for bad in [
        s.url("/upload"),
        s.url("/upload?token=to0000000000000000000000"),
        s.url(&format!("/upload?token={}", s.secret())),
    ] {
        let (st, _) = post_form(
            &s,
            &bad,
            file_form("a.mp4", bytes(10, 0), None, false),
            None,
            false,
        )
        .await;
        assert_eq!(st, 401, "{bad}");
    }
    let (_, after) = call(&s, "GET", "/videos", None).await;
    assert_eq!(
        before["pagination"]["itemsTotal"],
        after["pagination"]["itemsTotal"]
    );

    // Another account's token cannot add to this account's video.
    let other = common::new_key(
        &s.server,
        {
            s.server
                .svc()
                .create_account(&streamgate::testkit::operator(), "other", None)
                .await
                .unwrap()
                .id
        },
        "o",
        |_| {},
    )
    .await;
    let (st, t) = {
        let res = s
            .http
            .post(s.url("/upload-tokens"))
            .bearer_auth(other.secret.expose())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 200);
    let other_url = s.url(&format!("/upload?token={}", t["token"].as_str().unwrap()));
    let (st, _) = post_form(
        &s,
        &other_url,
        file_form("p.mp4", bytes(10, 0), Some(&pid), true),
        Some("part 2/*"),
        false,
    )
    .await;
    assert_eq!(st, 404);

    // A deleted token uploads no more.
    let (st, _) = call(&s, "DELETE", &format!("/upload-tokens/{token}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = post_form(
        &s,
        &url,
        file_form("a.mp4", bytes(10, 0), None, false),
        None,
        false,
    )
    .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn token_uploads_sqlite() {
    token_uploads(Backend::Sqlite).await;
}

#[tokio::test]
async fn token_uploads_postgres() {
    token_uploads(Backend::Postgres).await;
}

async fn videos_crud(backend: Backend) {
    let s = setup(backend).await;
    let (st, v) = call(
        &s,
        "POST",
        "/videos",
        Some(json!({"title": "Beta", "description": "d", "public": false, "tags": ["a", "b"], "metadata": [{"key": "k", "value": "v"}]})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let id = v["videoId"].as_str().unwrap().to_string();
    assert!(id.starts_with("vi"));
    for (t, tags) in [("Alpha", json!(["a"])), ("Gamma", json!(["b"]))] {
        let (st, _) = call(
            &s,
            "POST",
            "/videos",
            Some(json!({"title": t, "tags": tags})),
        )
        .await;
        assert_eq!(st, 201);
    }
    let titles = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, l) = call(&s, "GET", "/videos?sortBy=title&sortOrder=desc", None).await;
    assert_eq!(titles(&l), ["Gamma", "Beta", "Alpha"]);
    let (_, l) = call(
        &s,
        "GET",
        "/videos?sortBy=title&sortOrder=asc&pageSize=2",
        None,
    )
    .await;
    assert_eq!(titles(&l), ["Alpha", "Beta"]);
    assert_eq!(l["pagination"]["itemsTotal"], 3);
    let (_, l) = call(&s, "GET", "/videos?tags%5B%5D=a&sortBy=title", None).await;
    assert_eq!(titles(&l), ["Alpha", "Beta"]);
    let (_, l) = call(&s, "GET", "/videos?tags%5B%5D=a&tags%5B%5D=b", None).await;
    assert_eq!(titles(&l), ["Beta"]);
    let (_, l) = call(&s, "GET", "/videos?metadata%5Bk%5D=v", None).await;
    assert_eq!(titles(&l), ["Beta"]);
    let (_, l) = call(&s, "GET", "/videos?title=Gamma", None).await;
    assert_eq!(titles(&l), ["Gamma"]);
    let (st, _) = call(&s, "GET", "/videos?sortBy=size", None).await;
    assert_eq!(st, 400);
    // The seed's "Show account": the quota counts the environment's videos.
    let (st, a) = call(&s, "GET", "/account", None).await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["quota"]["used"], 3);
    assert!(a["term"]["startAt"].is_string());
    // Upload tokens sort by ttl too.
    for ttl in [300, 100, 200] {
        call(&s, "POST", "/upload-tokens", Some(json!({"ttl": ttl}))).await;
    }
    let (_, l) = call(&s, "GET", "/upload-tokens?sortBy=ttl&sortOrder=desc", None).await;
    let ttls: Vec<i64> = l["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ttl"].as_i64().unwrap())
        .collect();
    assert_eq!(ttls, [300, 200, 100]);
    let (st, _) = call(&s, "GET", "/upload-tokens?sortBy=token", None).await;
    assert_eq!(st, 400);

    // The source, with the key; a private video's file needs its token.
    let src = bytes(50_000, 9);
    let (st, v) = post_form(
        &s,
        &s.url(&format!("/videos/{id}/source")),
        file_form("f.mp4", src.clone(), None, true),
        None,
        true,
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let mp4 = v["assets"]["mp4"].as_str().unwrap().to_string();
    assert!(mp4.contains("?token="), "{mp4}");
    assert_eq!(fetch(&s, &mp4).await, (200, src.clone()));
    let bare = mp4.split('?').next().unwrap();
    assert_eq!(fetch(&s, bare).await.0, 404);
    assert_eq!(fetch(&s, &format!("{bare}?token=wrong")).await.0, 404);
    // Complete: no second source.
    let (st, _) = post_form(
        &s,
        &s.url(&format!("/videos/{id}/source")),
        file_form("f.mp4", src.clone(), None, true),
        None,
        true,
    )
    .await;
    assert_eq!(st, 409);

    let (st, v) = call(
        &s,
        "PATCH",
        &format!("/videos/{id}"),
        Some(json!({"title": "Renamed", "public": true, "tags": ["z"]})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["title"], "Renamed");
    assert_eq!(v["tags"], json!(["z"]));
    assert_eq!(
        fetch(&s, v["assets"]["mp4"].as_str().unwrap()).await,
        (200, src)
    );
    let (st, _) = call(
        &s,
        "PATCH",
        &format!("/videos/{id}"),
        Some(json!({"title": "x".repeat(300)})),
    )
    .await;
    assert_eq!(st, 400);

    let (st, _) = call(&s, "DELETE", &format!("/videos/{id}"), None).await;
    assert_eq!(st, 204);
    let (st, e) = call(&s, "GET", &format!("/videos/{id}"), None).await;
    assert_eq!((st, e["status"].clone()), (404, json!(404)));
    assert_eq!(fetch(&s, bare).await.0, 404);
}

#[tokio::test]
async fn videos_crud_sqlite() {
    videos_crud(Backend::Sqlite).await;
}

#[tokio::test]
async fn videos_crud_postgres() {
    videos_crud(Backend::Postgres).await;
}

async fn livepeer_assets(backend: Backend) {
    let s = setup_with(backend, common::lab()).await;
    let (st, r) = call(
        &s,
        "POST",
        "/api/asset/request-upload",
        Some(json!({"name": "movie"})),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let url = r["url"].as_str().unwrap().to_string();
    let asset_id = r["asset"]["id"].as_str().unwrap().to_string();
    let task_id = r["task"]["id"].as_str().unwrap().to_string();
    assert_eq!(r["asset"]["status"]["phase"], "uploading");
    assert_eq!(r["asset"]["source"]["type"], "directUpload");
    let (_, t) = call(&s, "GET", &format!("/api/task/{task_id}"), None).await;
    assert_eq!(t["status"]["phase"], "pending", "{t}");
    assert_eq!(t["type"], "upload");

    // The URL is the credential: no key. It works once.
    let file = bytes(200_000, 5);
    let res = s.http.put(&url).body(file.clone()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = s.http.put(&url).body(file.clone()).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let (_, a) = call(&s, "GET", &format!("/api/asset/{asset_id}"), None).await;
    assert_eq!(a["status"]["phase"], "ready", "{a}");
    assert_eq!(a["size"], 200_000);
    assert_eq!(
        fetch(&s, a["downloadUrl"].as_str().unwrap()).await,
        (200, file.clone())
    );
    let (_, t) = call(&s, "GET", &format!("/api/task/{task_id}"), None).await;
    assert_eq!(t["status"]["phase"], "completed");
    assert_eq!(t["outputAssetId"], asset_id.as_str());

    // The same object is an api.video video.
    let vid = domain_id(&asset_id);
    let (st, v) = call(&s, "GET", &format!("/videos/{vid}"), None).await;
    assert_eq!((st, v["title"].clone()), (200, json!("movie")));

    let (st, a) = call(
        &s,
        "PATCH",
        &format!("/api/asset/{asset_id}"),
        Some(json!({"name": "film"})),
    )
    .await;
    assert_eq!((st, a["name"].clone()), (200, json!("film")));
    let (st, l) = call(&s, "GET", "/api/asset", None).await;
    assert_eq!(st, 200);
    assert!(l
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == asset_id.as_str()));

    // An import from a URL: fetched from this machine's test server (a lab allows it).
    let served = bytes(120_000, 2);
    let origin = serve_once(served.clone()).await;
    let (st, r) = call(
        &s,
        "POST",
        "/api/asset/upload/url",
        Some(json!({"name": "imp", "url": origin})),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    let imp = r["asset"]["id"].as_str().unwrap().to_string();
    let imp_task = r["task"]["id"].as_str().unwrap().to_string();
    let mut ready = Value::Null;
    for _ in 0..200 {
        let (_, t) = call(&s, "GET", &format!("/api/task/{imp_task}"), None).await;
        if t["status"]["phase"] == "completed" || t["status"]["phase"] == "failed" {
            ready = t;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready["status"]["phase"], "completed", "{ready}");
    let (_, a) = call(&s, "GET", &format!("/api/asset/{imp}"), None).await;
    assert_eq!(a["source"]["url"], origin.as_str());
    assert_eq!(
        fetch(&s, a["downloadUrl"].as_str().unwrap()).await,
        (200, served)
    );
    // An internal address is refused where the lab setting is off (tests/it/hardening.rs holds
    // the webhook rules); a bad URL is a clear 400 in Livepeer's shape.
    let (st, e) = call(
        &s,
        "POST",
        "/api/asset/url",
        Some(json!({"name": "x", "url": "ftp://x/y"})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(e["errors"][0].as_str().unwrap().contains("url"), "{e}");

    // A one-time URL cannot touch a video completed otherwise.
    let (_, r2) = call(
        &s,
        "POST",
        "/api/asset/request-upload",
        Some(json!({"name": "other"})),
    )
    .await;
    let vid2 = domain_id(r2["asset"]["id"].as_str().unwrap());
    let (st, _) = post_form(
        &s,
        &s.url(&format!("/videos/{vid2}/source")),
        file_form("f.mp4", bytes(1000, 1), None, true),
        None,
        true,
    )
    .await;
    assert_eq!(st, 201);
    let res = s
        .http
        .put(r2["url"].as_str().unwrap())
        .body(bytes(10, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (_, a2) = call(
        &s,
        "GET",
        &format!("/api/asset/{}", r2["asset"]["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        (a2["status"]["phase"].clone(), a2["size"].clone()),
        (json!("ready"), json!(1000))
    );

    let (st, _) = call(&s, "DELETE", &format!("/api/asset/{asset_id}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, "GET", &format!("/api/asset/{asset_id}"), None).await;
    assert_eq!(st, 404);
}

/// The api.video id of a core UUID (Livepeer shows the UUID itself).
fn domain_id(uuid: &str) -> String {
    streamgate::domain::public_ids::encode("vi", uuid::Uuid::parse_str(uuid).unwrap())
}

/// An HTTP server on an ephemeral port that answers every GET with `body`; its URL.
async fn serve_once(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/file.mp4",
        axum::routing::get(move || {
            let b = body.clone();
            async move { b }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/file.mp4")
}

#[tokio::test]
async fn livepeer_assets_sqlite() {
    livepeer_assets(Backend::Sqlite).await;
}

#[tokio::test]
async fn livepeer_assets_postgres() {
    livepeer_assets(Backend::Postgres).await;
}

/// Past `upload_max_bytes`, an upload is refused (413 in each dialect's shape) and nothing of
/// it is kept; imports without the lab setting cannot reach this machine.
#[tokio::test]
async fn size_limits_and_private_imports() {
    let mut config = streamgate::config::Config::default();
    config.service.upload_max_bytes = 100_000;
    let s = setup_with(Backend::Sqlite, config).await;
    let token = upload_token(&s).await;
    let url = s.url(&format!("/upload?token={token}"));
    let (st, e) = post_form(
        &s,
        &url,
        file_form("big.mp4", bytes(150_000, 0), None, false),
        None,
        false,
    )
    .await;
    assert_eq!(st, 413, "{e}");
    let (st, r) = call(
        &s,
        "POST",
        "/api/asset/request-upload",
        Some(json!({"name": "m"})),
    )
    .await;
    assert_eq!(st, 200);
    let res = s
        .http
        .put(r["url"].as_str().unwrap())
        .body(bytes(150_000, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let e: Value = res.json().await.unwrap();
    assert!(e["errors"][0].as_str().unwrap().contains("100000"), "{e}");
    let (_, a) = call(
        &s,
        "GET",
        &format!("/api/asset/{}", r["asset"]["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(a["status"]["phase"], "failed", "{a}");
    assert!(a.get("downloadUrl").is_none());

    let (st, e) = call(
        &s,
        "POST",
        "/api/asset/upload/url",
        Some(json!({"name": "x", "url": "http://127.0.0.1:9/f.mp4"})),
    )
    .await;
    assert_eq!(st, 400, "{e}");
}

/// api.video's live-stream thumbnails: uploaded as an image, stored, served at the stream's
/// `assets.thumbnail` (a private stream's with its token), deleted; anything but an image, and
/// another account, are refused.
#[tokio::test]
async fn live_stream_thumbnails() {
    let s = setup(Backend::Sqlite).await;
    let (st, live) = call(
        &s,
        "POST",
        "/live-streams",
        Some(json!({"name": "cam", "public": false})),
    )
    .await;
    assert_eq!(st, 200, "{live}");
    let id = live["liveStreamId"].as_str().unwrap().to_string();
    let before = live["assets"]["thumbnail"].as_str().unwrap().to_string();
    let image = bytes(30_000, 4);
    let form = Form::new().part(
        "file",
        Part::bytes(image.clone())
            .file_name("thumb.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let (st, v) = post_form(
        &s,
        &s.url(&format!("/live-streams/{id}/thumbnail")),
        form,
        None,
        true,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let thumb = v["assets"]["thumbnail"].as_str().unwrap().to_string();
    assert_ne!(thumb, before);
    assert!(
        thumb.contains("/media/live/") && thumb.contains("?token="),
        "{thumb}"
    );
    let res = s.http.get(&thumb).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.bytes().await.unwrap().to_vec(), image);
    assert_eq!(
        fetch(&s, thumb.split('?').next().unwrap()).await.0,
        404,
        "a private stream's thumbnail needs its token"
    );
    // GET shows it too.
    let (_, got) = call(&s, "GET", &format!("/live-streams/{id}"), None).await;
    assert_eq!(got["assets"]["thumbnail"], thumb.as_str());

    // Not an image: 400; another account: 404.
    let form = Form::new().part(
        "file",
        Part::bytes(vec![1, 2, 3])
            .file_name("x.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let (st, _) = post_form(
        &s,
        &s.url(&format!("/live-streams/{id}/thumbnail")),
        form,
        None,
        true,
    )
    .await;
    assert_eq!(st, 400);
    let other_account = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let other = common::new_key(&s.server, other_account.id, "o", |_| {}).await;
    let res = s
        .http
        .delete(s.url(&format!("/live-streams/{id}/thumbnail")))
        .bearer_auth(other.secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let (st, v) = call(&s, "DELETE", &format!("/live-streams/{id}/thumbnail"), None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["assets"]["thumbnail"], before.as_str());
    assert_eq!(fetch(&s, &thumb).await.0, 404);
    let (st, _) = call(&s, "DELETE", &format!("/live-streams/{id}/thumbnail"), None).await;
    assert_eq!(st, 404);

    // A deleted stream takes its thumbnail's file with it.
    let form = Form::new().part(
        "file",
        Part::bytes(image.clone())
            .file_name("t.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (st, _) = post_form(
        &s,
        &s.url(&format!("/live-streams/{id}/thumbnail")),
        form,
        None,
        true,
    )
    .await;
    assert_eq!(st, 200);
    let uuid = streamgate::domain::public_ids::decode("li", &id).unwrap();
    let key = streamgate::service::thumbnails::thumbnail_key(uuid);
    assert!(s.server.svc().objects.read(&key).await.unwrap().is_some());
    let (st, _) = call(&s, "DELETE", &format!("/live-streams/{id}"), None).await;
    assert_eq!(st, 204);
    assert!(s.server.svc().objects.read(&key).await.unwrap().is_none());
}

/// Resumable uploads at the `tusEndpoint` (tus 1.0.0, core and creation), as tus-js-client
/// makes them: create, learn the offset, send the file in PATCHes, resume after an interrupted
/// one; the URL stays valid for its asset until the file is complete, and not after.
#[tokio::test]
async fn tus_resumable_uploads() {
    let s = setup(Backend::Sqlite).await;
    let (st, r) = call(
        &s,
        "POST",
        "/api/asset/request-upload",
        Some(json!({"name": "tus"})),
    )
    .await;
    assert_eq!(st, 200);
    let tus = r["tusEndpoint"].as_str().unwrap().to_string();
    let file = bytes(150_000, 6);
    let res = s
        .http
        .post(&tus)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "150000")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains(r["asset"]["id"].as_str().unwrap()),
        "{location}"
    );
    let offset = |res: &reqwest::Response| -> i64 {
        res.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let head = s.http.head(&location).send().await.unwrap();
    assert_eq!((head.status().as_u16(), offset(&head)), (200, 0));
    assert_eq!(head.headers()["upload-length"], "150000");
    let patch = |off: i64, data: Vec<u8>, ct: &'static str| {
        s.http
            .patch(&location)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", off.to_string())
            .header("content-type", ct)
            .body(data)
            .send()
    };
    let res = patch(
        0,
        file[..100_000].to_vec(),
        "application/offset+octet-stream",
    )
    .await
    .unwrap();
    assert_eq!((res.status().as_u16(), offset(&res)), (204, 100_000));
    // A PATCH from the wrong offset (a client that lost track) is 409; the wrong type 415.
    let res = patch(
        50_000,
        file[50_000..].to_vec(),
        "application/offset+octet-stream",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 409);
    let res = patch(
        100_000,
        file[100_000..].to_vec(),
        "application/octet-stream",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 415);
    // Resuming: ask the offset, send the rest.
    let head = s.http.head(&location).send().await.unwrap();
    assert_eq!(offset(&head), 100_000);
    let res = patch(
        100_000,
        file[100_000..].to_vec(),
        "application/offset+octet-stream",
    )
    .await
    .unwrap();
    assert_eq!((res.status().as_u16(), offset(&res)), (204, 150_000));
    let (_, a) = call(
        &s,
        "GET",
        &format!("/api/asset/{}", r["asset"]["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(a["status"]["phase"], "ready", "{a}");
    assert_eq!(
        fetch(&s, a["downloadUrl"].as_str().unwrap()).await,
        (200, file)
    );
    // Complete: the URL is spent, for tus and for the plain PUT.
    assert_eq!(s.http.head(&location).send().await.unwrap().status(), 401);
    assert_eq!(
        s.http
            .put(r["url"].as_str().unwrap())
            .body(vec![1])
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = s
        .http
        .post(&tus)
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Another asset's id with this token: 401.
    let (_, r2) = call(
        &s,
        "POST",
        "/api/asset/request-upload",
        Some(json!({"name": "two"})),
    )
    .await;
    let t2 = r2["tusEndpoint"].as_str().unwrap().to_string();
    let res = s
        .http
        .post(&t2)
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token2 = t2.split("token=").nth(1).unwrap();
    let wrong = s.url(&format!(
        "/api/asset/upload/tus/{}?token={token2}",
        r["asset"]["id"].as_str().unwrap()
    ));
    assert_eq!(s.http.head(&wrong).send().await.unwrap().status(), 401);
}

/// An import whose process stopped (no heartbeat for 10 minutes) is failed by the housekeeping,
/// with a task that says why; a running one is left alone.
#[tokio::test]
async fn stalled_imports_are_failed() {
    let s = setup_with(Backend::Sqlite, common::lab()).await;
    // A source that accepts the connection and never answers: the import stays running.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/file.mp4", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let (st, old) = call(
        &s,
        "POST",
        "/api/asset/upload/url",
        Some(json!({"name": "old", "url": url})),
    )
    .await;
    assert_eq!(st, 201, "{old}");
    let task = |r: &Value| r["task"]["id"].as_str().unwrap().to_string();
    let phase = |t: Value| {
        t["status"]["phase"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // It runs…
    let mut running = String::new();
    for _ in 0..100 {
        running = phase(
            call(&s, "GET", &format!("/api/task/{}", task(&old)), None)
                .await
                .1,
        );
        if running == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(running, "running");
    // …then its process "stops": 11 minutes pass with no heartbeat (the clock is the test's).
    s.server.clock.advance_ms(11 * 60 * 1000);
    let (st, fresh) = call(
        &s,
        "POST",
        "/api/asset/upload/url",
        Some(json!({"name": "new", "url": url})),
    )
    .await;
    assert_eq!(st, 201);
    for _ in 0..100 {
        if phase(
            call(&s, "GET", &format!("/api/task/{}", task(&fresh)), None)
                .await
                .1,
        ) == "running"
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(s.server.svc().fail_stalled_imports().await.unwrap(), 1);
    let (_, t) = call(&s, "GET", &format!("/api/task/{}", task(&old)), None).await;
    assert_eq!(t["status"]["phase"], "failed", "{t}");
    assert!(
        t["status"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{t}"
    );
    let (_, t) = call(&s, "GET", &format!("/api/task/{}", task(&fresh)), None).await;
    assert_eq!(t["status"]["phase"], "running", "{t}");
}
