//! No lost updates: concurrent changes of one object, each answered with success, all hold.
//! Streams (a Livepeer suspension racing an api.video or Livepeer rename), API keys (new
//! permissions racing a rename), multistream targets (disabling racing a rename), Brightcove
//! credentials (a secret rotation racing a PUT that keeps the stored secret), over HTTP against a
//! real server, on SQLite and PostgreSQL.

use std::sync::Arc;

use crate::common::{setup, Setup};
use serde_json::{json, Value};
use streamgate::domain::public_ids;
use streamgate::testkit::Backend;

const PAIRS: usize = 60;

async fn post(s: &Setup, path: &str, body: Value) -> Value {
    let res = s
        .http
        .post(s.url(path))
        .bearer_auth(s.secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

async fn patch(s: &Setup, path: &str, body: Value) -> u16 {
    s.http
        .patch(s.url(path))
        .bearer_auth(s.secret())
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
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

/// Runs `PAIRS` pairs of requests, the two of each pair at the same time, all pairs at once.
async fn race<F, G, FF, GF>(first: F, second: G) -> Vec<(u16, u16)>
where
    F: Fn(usize) -> FF,
    G: Fn(usize) -> GF,
    FF: std::future::Future<Output = u16> + Send + 'static,
    GF: std::future::Future<Output = u16> + Send + 'static,
{
    let mut tasks = vec![];
    for i in 0..PAIRS {
        let (a, b) = (tokio::spawn(first(i)), tokio::spawn(second(i)));
        tasks.push(async move { (a.await.unwrap(), b.await.unwrap()) });
    }
    let mut out = vec![];
    for t in tasks {
        out.push(t.await);
    }
    out
}

async fn streams(backend: Backend) {
    let s = Arc::new(setup(backend).await);
    let mut ids = vec![];
    for i in 0..PAIRS {
        let st = post(&s, "/api/stream", json!({"name": format!("cam{i}")})).await;
        ids.push(st["id"].as_str().unwrap().to_string());
    }
    let ids = Arc::new(ids);
    // Half the renames through api.video, half through Livepeer: both dialects share the update.
    let answers = race(
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                patch(
                    &s,
                    &format!("/api/stream/{}", ids[i]),
                    json!({"suspended": true}),
                )
                .await
            }
        },
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                let name = json!({"name": format!("renamed{i}")});
                if i % 2 == 0 {
                    patch(&s, &format!("/api/stream/{}", ids[i]), name).await
                } else {
                    let id = public_ids::encode("li", ids[i].parse().unwrap());
                    patch(&s, &format!("/live-streams/{id}"), name).await
                }
            }
        },
    )
    .await;
    for (i, (suspend, rename)) in answers.into_iter().enumerate() {
        assert_eq!(suspend, 204, "pair {i}: suspend");
        assert!(rename == 200 || rename == 204, "pair {i}: rename {rename}");
    }
    let mut lost = vec![];
    for (i, id) in ids.iter().enumerate() {
        let st = get(&s, &format!("/api/stream/{id}")).await;
        if st["suspended"] != true || st["name"] != format!("renamed{i}") {
            lost.push(format!(
                "{i}: suspended {}, name {}",
                st["suspended"], st["name"]
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {PAIRS} lost an update: {lost:?}",
        lost.len()
    );
    // A suspended stream's key stays refused, whatever the rename wrote.
    let st = get(&s, &format!("/api/stream/{}", ids[0])).await;
    let res = s
        .http
        .post(s.server.ingest_url("/ingest/nginx-rtmp/publish").await)
        .form(&[
            ("app", "live"),
            ("name", st["streamKey"].as_str().unwrap()),
            ("addr", "10.8.0.1"),
            ("call", "publish"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn concurrent_suspend_and_rename_both_hold_on_sqlite() {
    streams(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_suspend_and_rename_both_hold_on_postgres() {
    streams(Backend::Postgres).await;
}

async fn keys(backend: Backend) {
    let s = Arc::new(setup(backend).await);
    let mut ids = vec![];
    for i in 0..PAIRS {
        let k = post(&s, "/sg/v1/keys", json!({"name": format!("key{i}")})).await;
        ids.push(k["id"].as_str().unwrap().to_string());
    }
    let ids = Arc::new(ids);
    let answers = race(
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                patch(
                    &s,
                    &format!("/sg/v1/keys/{}", ids[i]),
                    json!({"permissions": ["streams:read"]}),
                )
                .await
            }
        },
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                patch(
                    &s,
                    &format!("/sg/v1/keys/{}", ids[i]),
                    json!({"name": format!("renamed{i}")}),
                )
                .await
            }
        },
    )
    .await;
    for (i, pair) in answers.into_iter().enumerate() {
        assert_eq!(pair, (200, 200), "pair {i}");
    }
    let mut lost = vec![];
    for (i, id) in ids.iter().enumerate() {
        let k = get(&s, &format!("/sg/v1/keys/{id}")).await;
        if k["permissions"] != json!(["streams:read"]) || k["name"] != format!("renamed{i}") {
            lost.push(format!("{i}: {} {}", k["permissions"], k["name"]));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {PAIRS} lost an update: {lost:?}",
        lost.len()
    );
}

#[tokio::test]
async fn concurrent_key_permission_change_and_rename_both_hold_on_sqlite() {
    keys(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_key_permission_change_and_rename_both_hold_on_postgres() {
    keys(Backend::Postgres).await;
}

async fn targets(backend: Backend) {
    let s = Arc::new(setup(backend).await);
    let mut ids = vec![];
    for i in 0..PAIRS {
        let t = post(
            &s,
            "/api/multistream/target",
            json!({"name": format!("t{i}"), "url": "rtmp://x.example/live/k"}),
        )
        .await;
        ids.push(t["id"].as_str().unwrap().to_string());
    }
    let ids = Arc::new(ids);
    let path = |ids: &[String], i: usize| format!("/api/multistream/target/{}", ids[i]);
    let answers = race(
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move { patch(&s, &path(&ids, i), json!({"disabled": true})).await }
        },
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move { patch(&s, &path(&ids, i), json!({"name": format!("renamed{i}")})).await }
        },
    )
    .await;
    for (i, pair) in answers.into_iter().enumerate() {
        assert_eq!(pair, (204, 204), "pair {i}");
    }
    let mut lost = vec![];
    for (i, id) in ids.iter().enumerate() {
        let t = get(&s, &format!("/api/multistream/target/{id}")).await;
        if t["disabled"] != true || t["name"] != format!("renamed{i}") {
            lost.push(format!("{i}: {} {}", t["disabled"], t["name"]));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {PAIRS} lost an update: {lost:?}",
        lost.len()
    );
}

#[tokio::test]
async fn concurrent_target_disable_and_rename_both_hold_on_sqlite() {
    targets(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_target_disable_and_rename_both_hold_on_postgres() {
    targets(Backend::Postgres).await;
}

async fn put_credential(s: &Setup, id: &str, body: Value) -> u16 {
    s.http
        .put(s.url(&format!("/v1/credentials/{id}")))
        .header("x-api-key", s.secret())
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A PUT without `credential_private` keeps the stored secret: the one stored when it is
/// written, so a rotation made meanwhile is not undone.
async fn credentials(backend: Backend) {
    let s = Arc::new(setup(backend).await);
    let mut ids = vec![];
    for i in 0..PAIRS {
        let res = s
            .http
            .post(s.url("/v1/credentials"))
            .header("x-api-key", s.secret())
            .json(
                &json!({"credential_label": format!("c{i}"), "credential_type": "http",
                "credential_public": "user", "credential_private": "oldSecret0000"}),
            )
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let v: Value = res.json().await.unwrap();
        ids.push(v["credential_id"].as_str().unwrap().to_string());
    }
    let ids = Arc::new(ids);
    let answers = race(
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                let body = json!({"credential_label": format!("c{i}"), "credential_type": "http",
                    "credential_public": "user", "credential_private": "newSecret9999"});
                put_credential(&s, &ids[i], body).await
            }
        },
        |i| {
            let (s, ids) = (s.clone(), ids.clone());
            async move {
                let body = json!({"credential_label": format!("c{i}"), "credential_type": "http",
                    "credential_public": "user"});
                put_credential(&s, &ids[i], body).await
            }
        },
    )
    .await;
    for (i, pair) in answers.into_iter().enumerate() {
        assert_eq!(pair, (200, 200), "pair {i}");
    }
    let list: Value = s
        .http
        .get(s.url("/v1/credentials"))
        .header("x-api-key", s.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lost: Vec<&Value> = list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["credential_private"] != "****9999")
        .map(|c| &c["credential_label"])
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {PAIRS} lost the rotation: {lost:?}",
        lost.len()
    );
}

#[tokio::test]
async fn a_secret_rotation_survives_a_concurrent_put_without_it_on_sqlite() {
    credentials(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_secret_rotation_survives_a_concurrent_put_without_it_on_postgres() {
    credentials(Backend::Postgres).await;
}
