//! The read path: streams served from the object cache without a store round trip, never staler
//! than the change log (a write shows at once on the instance that made it and within a second on
//! the others), scoped like every lookup, and lists paged on the index with totals that follow
//! every write.

use std::time::Duration;

use crate::common::{eventually, setup, Setup};
use serde_json::{json, Value};
use streamgate::domain::Environment;
use streamgate::testkit::{Backend, TestServer};

async fn call(
    s: &Setup,
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(s, server, s.secret(), method, path, body).await
}

async fn call_as(
    s: &Setup,
    server: &TestServer,
    secret: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(method, server.url(path)).bearer_auth(secret);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A list's body as text.
async fn list_text(s: &Setup, server: &TestServer, path: &str) -> String {
    let res = s
        .http
        .get(server.url(path))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// The item of a list (a bare array, or api.video's `data`) whose `field` is `id`; null if none.
async fn listed(s: &Setup, server: &TestServer, path: &str, field: &str, id: &str) -> Value {
    let v: Value = serde_json::from_str(&list_text(s, server, path).await).unwrap();
    let items = v
        .get("data")
        .unwrap_or(&v)
        .as_array()
        .cloned()
        .unwrap_or_default();
    items
        .into_iter()
        .find(|item| item[field] == id)
        .unwrap_or(Value::Null)
}

/// The store lookups the server made so far (cache misses of every cache).
fn lookups(server: &TestServer) -> u64 {
    server.svc().verifier.store_lookups()
}

async fn read_path_serves_repeated_reads_from_memory_and_shows_writes_at_once(backend: Backend) {
    let s = setup(backend).await;
    let srv = &s.server;
    let (st, lp) = call(&s, srv, "POST", "/api/stream", Some(json!({"name": "cam"}))).await;
    assert_eq!(st, 201, "{lp}");
    let id = lp["id"].as_str().unwrap().to_string();
    let (st, av) = call(
        &s,
        srv,
        "POST",
        "/live-streams",
        Some(json!({"name": "av-cam"})),
    )
    .await;
    assert_eq!(st, 200, "{av}");
    let av_id = av["liveStreamId"].as_str().unwrap().to_string();

    // Warm: the first reads may go to the store; the next hundred may not.
    let first = call(&s, srv, "GET", &format!("/api/stream/{id}"), None).await;
    assert_eq!(first.0, 200);
    assert_eq!(first.1["name"], "cam");
    assert_eq!(
        call(&s, srv, "GET", &format!("/live-streams/{av_id}"), None)
            .await
            .0,
        200
    );
    let before = lookups(srv);
    for _ in 0..50 {
        let (st, v) = call(&s, srv, "GET", &format!("/api/stream/{id}"), None).await;
        assert_eq!((st, &v), (200, &first.1), "the same body every time");
        let (st, v) = call(&s, srv, "GET", &format!("/live-streams/{av_id}"), None).await;
        assert_eq!(st, 200);
        assert_eq!(v["name"], "av-cam");
    }
    assert_eq!(
        lookups(srv),
        before,
        "100 polls of cached streams asked the store nothing"
    );
    // Lists too: the page and its body are kept (the same bytes every time), no store lookup.
    let lp_list = list_text(&s, srv, "/api/stream?limit=100").await;
    let av_list = list_text(&s, srv, "/live-streams?pageSize=100").await;
    let before = lookups(srv);
    for _ in 0..25 {
        assert_eq!(list_text(&s, srv, "/api/stream?limit=100").await, lp_list);
        assert_eq!(
            list_text(&s, srv, "/live-streams?pageSize=100").await,
            av_list
        );
    }
    assert_eq!(
        lookups(srv),
        before,
        "50 polls of cached pages asked the store nothing"
    );
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains("streamgate_stream_cache_entries"),
        "the object cache is measured"
    );

    // Every write shows on the very next read, in every dialect.
    let path = format!("/api/stream/{id}");
    assert_eq!(
        call(&s, srv, "PATCH", &path, Some(json!({"name": "renamed"})))
            .await
            .0,
        204
    );
    assert_eq!(call(&s, srv, "GET", &path, None).await.1["name"], "renamed");
    assert_eq!(
        call(&s, srv, "PATCH", &path, Some(json!({"suspended": true})))
            .await
            .0,
        204
    );
    assert_eq!(call(&s, srv, "GET", &path, None).await.1["suspended"], true);
    // A kept page body shows it at once too (a suspension changes no page's membership).
    let item = listed(&s, srv, "/api/stream?limit=100", "id", &id).await;
    assert_eq!(item["suspended"], true, "{item}");
    let av_path = format!("/live-streams/{av_id}");
    let (st, v) = call(
        &s,
        srv,
        "PATCH",
        &av_path,
        Some(json!({"name": "av-renamed", "public": false})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let v = call(&s, srv, "GET", &av_path, None).await.1;
    assert_eq!(
        (v["name"].as_str(), v["public"].as_bool()),
        (Some("av-renamed"), Some(false))
    );
    let v = listed(
        &s,
        srv,
        "/live-streams?pageSize=100",
        "liveStreamId",
        &av_id,
    )
    .await;
    assert_eq!(
        (v["name"].as_str(), v["public"].as_bool()),
        (Some("av-renamed"), Some(false))
    );
    assert_eq!(call(&s, srv, "DELETE", &path, None).await.0, 204);
    assert_eq!(call(&s, srv, "GET", &path, None).await.0, 404);
    assert_eq!(call(&s, srv, "DELETE", &av_path, None).await.0, 204);
    assert_eq!(call(&s, srv, "GET", &av_path, None).await.0, 404);
}

#[tokio::test]
async fn reads_come_from_memory_and_writes_show_at_once_on_sqlite() {
    read_path_serves_repeated_reads_from_memory_and_shows_writes_at_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn reads_come_from_memory_and_writes_show_at_once_on_postgres() {
    read_path_serves_repeated_reads_from_memory_and_shows_writes_at_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_on_one_instance_reaches_the_reads_of_another_within_a_second() {
    let s = setup(Backend::Postgres).await;
    let a = &s.server;
    let b = TestServer::start_on(a.db.clone()).await;
    let (_, lp) = call(&s, a, "POST", "/api/stream", Some(json!({"name": "cam"}))).await;
    let id = lp["id"].as_str().unwrap().to_string();
    let key = lp["streamKey"].as_str().unwrap().to_string();
    let path = format!("/api/stream/{id}");
    // B reads (and so caches) the stream and a page listing it, then A changes it.
    assert_eq!(call(&s, &b, "GET", &path, None).await.1["name"], "cam");
    let list = "/api/stream?limit=100";
    assert_eq!(listed(&s, &b, list, "id", &id).await["name"], "cam");
    let within = Duration::from_secs(1);
    // The stream as B's readers see it, read alone and in B's (kept) list page.
    let shows = |want: fn(&Value) -> bool| {
        let (s, b, path, id) = (&s, &b, path.clone(), id.clone());
        async move {
            eventually(within, || {
                let (path, id) = (path.clone(), id.clone());
                async move {
                    want(&call(s, b, "GET", &path, None).await.1)
                        && want(&listed(s, b, list, "id", &id).await)
                }
            })
            .await
        }
    };
    assert_eq!(
        call(&s, a, "PATCH", &path, Some(json!({"name": "renamed"})))
            .await
            .0,
        204
    );
    assert!(
        shows(|v| v["name"] == "renamed").await.is_some(),
        "a rename"
    );
    assert_eq!(
        call(&s, a, "PATCH", &path, Some(json!({"suspended": true})))
            .await
            .0,
        204
    );
    assert!(
        shows(|v| v["suspended"] == true).await.is_some(),
        "a suspension"
    );
    assert_eq!(
        call(&s, a, "PATCH", &path, Some(json!({"suspended": false})))
            .await
            .0,
        204
    );
    assert!(
        shows(|v| v["suspended"] == false).await.is_some(),
        "a resumption"
    );

    // A publish through A's hook: B's readers see the stream go live and idle again.
    let hook = |call: &'static str| {
        let (http, key) = (s.http.clone(), key.clone());
        async move {
            let path = if call == "publish" {
                "/ingest/nginx-rtmp/publish"
            } else {
                "/ingest/nginx-rtmp/publish-done"
            };
            http.post(a.ingest_url(path).await)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "app=live&name={key}&addr=203.0.113.9&call={call}&tcurl=rtmp://127.0.0.1/live"
                ))
                .send()
                .await
                .map(|r| crate::common::hook_status(&r))
                .unwrap()
        }
    };
    assert_eq!(hook("publish").await, 200);
    assert!(
        shows(|v| v["isActive"] == true).await.is_some(),
        "went live"
    );
    assert_eq!(hook("publish_done").await, 200);
    assert!(
        shows(|v| v["isActive"] == false).await.is_some(),
        "went idle"
    );

    assert_eq!(call(&s, a, "DELETE", &path, None).await.0, 204);
    let gone = eventually(within, || async {
        call(&s, &b, "GET", &path, None).await.0 == 404
    })
    .await;
    assert!(gone.is_some(), "a deletion");
    b.stop().await;
}

#[tokio::test]
async fn a_cached_stream_is_still_not_found_outside_its_account_and_environment() {
    let s = setup(Backend::Sqlite).await;
    let srv = &s.server;
    let (_, lp) = call(
        &s,
        srv,
        "POST",
        "/api/stream",
        Some(json!({"name": "mine"})),
    )
    .await;
    let id = lp["id"].as_str().unwrap().to_string();
    let (_, av) = call(
        &s,
        srv,
        "POST",
        "/live-streams",
        Some(json!({"name": "mine-too"})),
    )
    .await;
    let av_id = av["liveStreamId"].as_str().unwrap().to_string();
    // Cached by its owner's reads…
    assert_eq!(
        call(&s, srv, "GET", &format!("/api/stream/{id}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&s, srv, "GET", &format!("/live-streams/{av_id}"), None)
            .await
            .0,
        200
    );
    // …and still not found for another account, or the owner's sandbox.
    let other = srv
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let stranger = crate::common::new_key(srv, other.id, "stranger", |_| {}).await;
    let sandbox = s
        .new_key("sandbox", |k| k.environment = Environment::Sandbox)
        .await;
    for secret in [stranger.secret.expose(), sandbox.secret.expose()] {
        let (st, _) = call_as(&s, srv, secret, "GET", &format!("/api/stream/{id}"), None).await;
        assert_eq!(st, 404);
        let (st, _) = call_as(
            &s,
            srv,
            secret,
            "GET",
            &format!("/live-streams/{av_id}"),
            None,
        )
        .await;
        assert_eq!(st, 404);
        let (_, list) = call_as(&s, srv, secret, "GET", "/live-streams", None).await;
        assert_eq!(list["pagination"]["itemsTotal"], 0);
        let (_, list) = call_as(&s, srv, secret, "GET", "/api/stream", None).await;
        assert_eq!(list, json!([]));
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["liveStreamId"].as_str().unwrap().to_string())
        .collect()
}

async fn pages_walk_every_stream_once_and_totals_follow_writes(backend: Backend) {
    let s = setup(backend).await;
    let srv = &s.server;
    let mut made = Vec::new();
    for i in 0..23 {
        let (st, v) = call(
            &s,
            srv,
            "POST",
            "/live-streams",
            Some(json!({"name": format!("s-{i}")})),
        )
        .await;
        assert_eq!(st, 200);
        made.push(v["liveStreamId"].as_str().unwrap().to_string());
    }
    let page = |p: i64| {
        let s = &s;
        async move {
            let (st, v) = call(
                s,
                &s.server,
                "GET",
                &format!("/live-streams?pageSize=5&currentPage={p}"),
                None,
            )
            .await;
            assert_eq!(st, 200, "{v}");
            v
        }
    };
    let walk = || async {
        let mut seen = Vec::new();
        let first = page(1).await;
        let pages = first["pagination"]["pagesTotal"].as_i64().unwrap();
        seen.extend(ids_of(&first));
        for p in 2..=pages {
            seen.extend(ids_of(&page(p).await));
        }
        (first["pagination"]["itemsTotal"].as_i64().unwrap(), seen)
    };
    let (total, seen) = walk().await;
    assert_eq!(
        (total, &seen),
        (23, &made),
        "every stream once, oldest first"
    );
    // Again, from remembered pages: the same.
    assert_eq!(walk().await, (23, made.clone()));
    // A page reached directly, with no page before it remembered.
    let v = page(4).await;
    assert_eq!(ids_of(&v), made[15..20].to_vec());
    assert_eq!(v["pagination"]["currentPageItems"], 5);

    // A new stream: on the last page and in the total at once.
    let (_, v) = call(
        &s,
        srv,
        "POST",
        "/live-streams",
        Some(json!({"name": "late"})),
    )
    .await;
    made.push(v["liveStreamId"].as_str().unwrap().to_string());
    assert_eq!(walk().await, (24, made.clone()));
    // A deleted one: gone from its page, the rest move up.
    assert_eq!(
        call(
            &s,
            srv,
            "DELETE",
            &format!("/live-streams/{}", made[1]),
            None
        )
        .await
        .0,
        204
    );
    made.remove(1);
    assert_eq!(walk().await, (23, made.clone()));
    // A filter by name, and a rename moving a stream into and out of it.
    let (_, v) = call(&s, srv, "GET", "/live-streams?name=s-7", None).await;
    assert_eq!(
        (v["pagination"]["itemsTotal"].as_i64(), ids_of(&v)),
        (Some(1), vec![made[6].clone()])
    );
    let renamed = format!("/live-streams/{}", made[0]);
    assert_eq!(
        call(&s, srv, "PATCH", &renamed, Some(json!({"name": "s-7"})))
            .await
            .0,
        200
    );
    let (_, v) = call(&s, srv, "GET", "/live-streams?name=s-7", None).await;
    assert_eq!(ids_of(&v), vec![made[0].clone(), made[6].clone()]);

    // Livepeer's cursor walk sees the same streams in the same order.
    let (_, all) = call(&s, srv, "GET", "/api/stream?limit=1000", None).await;
    assert_eq!(all.as_array().unwrap().len(), 23);
    let mut cursor: Option<String> = None;
    let mut walked = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/stream?limit=4&cursor={c}"),
            None => "/api/stream?limit=4".to_string(),
        };
        let res = s
            .http
            .get(srv.url(&url))
            .bearer_auth(s.secret())
            .send()
            .await
            .unwrap();
        let link = res
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let items: Vec<Value> = res.json().await.unwrap();
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item["id"], all[walked + i]["id"]);
        }
        walked += items.len();
        match link {
            Some(l) => {
                cursor = Some(
                    l.split("cursor=")
                        .nth(1)
                        .unwrap()
                        .split('>')
                        .next()
                        .unwrap()
                        .to_string(),
                )
            }
            None => break,
        }
    }
    assert_eq!(walked, 23);
}

#[tokio::test]
async fn pages_walk_every_stream_once_and_totals_follow_writes_on_sqlite() {
    pages_walk_every_stream_once_and_totals_follow_writes(Backend::Sqlite).await;
}

#[tokio::test]
async fn pages_walk_every_stream_once_and_totals_follow_writes_on_postgres() {
    pages_walk_every_stream_once_and_totals_follow_writes(Backend::Postgres).await;
}

async fn seeded_streams_are_counted_and_paged(backend: Backend) {
    let s = setup(backend).await;
    let srv = &s.server;
    srv.svc()
        .seed_streams(
            &streamgate::testkit::operator(),
            s.account.id,
            Environment::Production,
            0,
            1200,
        )
        .await
        .unwrap();
    // Seeding writes no change-log entry: a server serving the database would not know.
    let (_, v) = call(
        &s,
        srv,
        "GET",
        "/live-streams?pageSize=25&currentPage=48",
        None,
    )
    .await;
    assert_eq!(v["pagination"]["itemsTotal"], 1200);
    assert_eq!(v["pagination"]["pagesTotal"], 48);
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 25);
    assert_eq!(names[0], "seed-1175");
    assert_eq!(names[24], "seed-1199");
    // Every seeded stream opens (its key sealed for its own row).
    let id = v["data"][3]["liveStreamId"].as_str().unwrap();
    let (st, one) = call(&s, srv, "GET", &format!("/live-streams/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(one["name"], "seed-1178");
    assert!(one["streamKey"].as_str().is_some_and(|k| k.len() > 8));
    // Only the operator seeds.
    let key_holder = srv.svc().authenticate(s.secret(), None).await.unwrap();
    let err = srv
        .svc()
        .seed_streams(&key_holder, s.account.id, Environment::Production, 0, 1)
        .await;
    assert!(err.is_err(), "an account's actor may not seed");
}

#[tokio::test]
async fn seeded_streams_are_counted_and_paged_on_sqlite() {
    seeded_streams_are_counted_and_paged(Backend::Sqlite).await;
}

#[tokio::test]
async fn seeded_streams_are_counted_and_paged_on_postgres() {
    seeded_streams_are_counted_and_paged(Backend::Postgres).await;
}
