//! Media-server hooks over HTTP, as nginx-rtmp, SRS and MediaMTX call them: the shared decision,
//! stream activity and sessions, Edgecast DirPaths and keys, rtmp credentials, throttling. Each
//! call presents the test server's ingest token on the hook URL, as a configured media server
//! does (tests/it/ingest_tokens.rs covers calls without one).

use crate::common;

use crate::common::{setup, Setup};
use serde_json::{json, Value};
use streamgate::testkit::{Backend, TestServer};

async fn nginx(s: &Setup, call: &str, body: String) -> u16 {
    let path = if call == "publish" {
        "/ingest/nginx-rtmp/publish"
    } else {
        "/ingest/nginx-rtmp/publish-done"
    };
    s.http
        .post(s.server.ingest_url(path).await)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map(|r| common::hook_status(&r))
        .unwrap()
}

/// The form nginx-rtmp posts for `rtmp://127.0.0.1/{app}/{name}?{query}` from `addr`.
fn form(app: &str, name: &str, query: &str, addr: &str, call: &str) -> String {
    let mut f = format!("app={app}&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp://127.0.0.1:1935/{app}&pageurl=&addr={addr}&clientid=7&call={call}&name={name}&type=live");
    if !query.is_empty() {
        f.push('&');
        f.push_str(query);
    }
    f
}

async fn stream(s: &Setup, name: &str) -> Value {
    stream_at(s, &s.server, name).await
}

/// A stream made through `server` (another instance on the same store, say) with `s`'s key.
async fn stream_at(s: &Setup, server: &TestServer, name: &str) -> Value {
    s.http
        .post(server.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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

#[tokio::test]
async fn a_stream_key_publishes_once_and_its_session_is_served() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let st = stream(&s, "cam").await;
        let id = st["id"].as_str().unwrap();
        let key = st["streamKey"].as_str().unwrap();
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.1.1.1", "publish")).await,
            200
        );
        let live = get(&s, &format!("/api/stream/{id}")).await;
        assert_eq!(live["isActive"], true);
        // api.video sees the same stream broadcasting.
        let list: Value = s
            .http
            .get(s.url("/live-streams"))
            .basic_auth(s.secret(), Some(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["data"][0]["broadcasting"], true);
        // A second simultaneous publish of the same key is refused.
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.1.1.2", "publish")).await,
            403
        );
        let sessions = get(&s, &format!("/api/stream/{id}/sessions")).await;
        assert_eq!(sessions.as_array().unwrap().len(), 1);
        assert_eq!(sessions[0]["isActive"], true);
        assert_eq!(
            nginx(
                &s,
                "done",
                form("live", key, "", "10.1.1.1", "publish_done")
            )
            .await,
            200
        );
        assert_eq!(
            get(&s, &format!("/api/stream/{id}")).await["isActive"],
            false
        );
        let sessions = get(&s, &format!("/api/stream/{id}/sessions")).await;
        assert_eq!(sessions[0]["isActive"], false, "closed");
        // Publish again after the first ended: fine.
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.1.1.1", "publish")).await,
            200
        );
        nginx(
            &s,
            "done",
            form("live", key, "", "10.1.1.1", "publish_done"),
        )
        .await;

        // Wrong, suspended and deleted keys are refused.
        assert_eq!(
            nginx(
                &s,
                "publish",
                form("live", "abcd-efgh-ijkl-mnop", "", "10.2.0.1", "publish")
            )
            .await,
            403
        );
        s.http
            .patch(s.url(&format!("/api/stream/{id}")))
            .bearer_auth(s.secret())
            .json(&json!({"suspended": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.2.0.2", "publish")).await,
            403
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
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.2.0.3", "publish")).await,
            403
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
            "already_publishing",
            "stream_suspended",
            "stream_deleted",
            "unknown_stream",
        ] {
            assert!(outcomes.contains(&o), "{o}: {outcomes:?}");
        }
        assert!(
            !format!("{audit:?}").contains(key),
            "the stream key is not in the audit log"
        );
    }
}

#[tokio::test]
async fn edgecast_paths_and_keys_and_rtmp_credentials() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret();
    let ec = format!("/v2/mcc/customers/{}/httpstreaming/dcp", s.account.number);
    for (dir, key) in [("inst/cam7", "edgeKey42"), ("wild/cam*", "wildKey9")] {
        let r = s
            .http
            .post(s.url(&format!("{ec}/streamkeys")))
            .header("authorization", format!("TOK:{k}"))
            .json(&json!({"DirPath": dir, "Key": key}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The seed's body: the key arrives as a bare trailing field.
    let seed = "app=inst&flashver=FMLE%2F3.0&tcurl=rtmp://127.0.0.1:1935/inst&pageurl=&addr=127.0.0.1&clientid=1&call=publish&name=cam7&type=live&edgeKey42";
    assert_eq!(nginx(&s, "publish", seed.into()).await, 200);
    assert_eq!(
        nginx(
            &s,
            "publish",
            form("inst", "cam7", "edgeKey43", "10.3.0.1", "publish")
        )
        .await,
        403
    );
    assert_eq!(
        nginx(
            &s,
            "publish",
            form("inst", "cam8", "edgeKey42", "10.3.0.2", "publish")
        )
        .await,
        403,
        "another stream"
    );
    assert_eq!(
        nginx(
            &s,
            "publish",
            form("wild", "cam123", "wildKey9", "10.3.0.3", "publish")
        )
        .await,
        200,
        "* prefix"
    );
    assert_eq!(
        nginx(
            &s,
            "publish",
            form("wild", "cam", "wildKey9", "10.3.0.4", "publish")
        )
        .await,
        403,
        "* is one or more characters"
    );
    // The account's global key opens its DirPaths.
    s.http
        .put(s.url(&format!("{ec}/globalkey")))
        .header("authorization", format!("TOK:{k}"))
        .json(&json!({"Key": "globalKey7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        nginx(
            &s,
            "publish",
            form("inst", "cam7", "globalKey7", "10.3.0.5", "publish")
        )
        .await,
        200
    );
    // A Brightcove rtmp credential of the account, as user/pass in the query.
    s.http.post(s.url("/v1/credentials")).header("x-api-key", k).json(&json!({"credential_label": "enc", "credential_type": "rtmp", "credential_public": "encoder1", "credential_private": "p4ssw0rd"})).send().await.unwrap();
    assert_eq!(
        nginx(
            &s,
            "publish",
            form(
                "inst",
                "cam7",
                "user=encoder1&pass=p4ssw0rd",
                "10.3.0.6",
                "publish"
            )
        )
        .await,
        200
    );
    assert_eq!(
        nginx(
            &s,
            "publish",
            form(
                "inst",
                "cam7",
                "user=encoder1&pass=p4ssw0rX",
                "10.3.0.7",
                "publish"
            )
        )
        .await,
        403
    );
}

#[tokio::test]
async fn srs_and_mediamtx_speak_their_own_protocols() {
    let s = setup(Backend::Sqlite).await;
    let st = stream(&s, "cam").await;
    let key = st["streamKey"].as_str().unwrap();
    let srs_url = s.server.ingest_url("/ingest/srs").await;
    let mtx_url = s.server.ingest_url("/ingest/mediamtx").await;
    let srs = |action: &str, stream: &str| {
        s.http.post(&srs_url).json(&json!({"action": action, "client_id": "x1", "ip": "10.4.0.1", "vhost": "__defaultVhost__", "app": "live", "stream": stream, "param": ""})).send()
    };
    let r = srs("on_publish", key).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "0");
    let r = srs("on_publish", "nope-nope-nope-nope").await.unwrap();
    assert_ne!(r.status(), 200);
    assert_ne!(r.text().await.unwrap(), "0");
    assert_eq!(
        srs("on_unpublish", key)
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "0"
    );
    assert_eq!(
        get(&s, &format!("/api/stream/{}", st["id"].as_str().unwrap())).await["isActive"],
        false
    );

    let mtx = |action: &str, path: &str| {
        s.http.post(&mtx_url).json(&json!({"user": "", "password": "", "token": "", "ip": "10.5.0.1", "action": action, "path": path, "protocol": "rtmp", "id": null, "query": ""})).send()
    };
    assert_eq!(
        mtx("publish", &format!("live/{key}"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(mtx("publish", "live/nope").await.unwrap().status(), 401);
    let playback = st["playbackId"].as_str().unwrap();
    assert_eq!(
        mtx("read", &format!("live/{playback}"))
            .await
            .unwrap()
            .status(),
        200,
        "public playback"
    );
    assert_eq!(mtx("read", "live/unknown").await.unwrap().status(), 401);
    assert_eq!(mtx("api", "").await.unwrap().status(), 401);
    let bad = s.http.post(&mtx_url).body("{nope").send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn repeated_refusals_from_one_address_are_throttled() {
    let s = setup(Backend::Sqlite).await;
    let st = stream(&s, "cam").await;
    let key = st["streamKey"].as_str().unwrap();
    for i in 0..10 {
        let r = nginx(
            &s,
            "publish",
            form("live", &format!("guess-{i}"), "", "10.9.9.9", "publish"),
        )
        .await;
        assert_eq!(r, 403);
    }
    // Now even the right key from that address is turned away without a lookup...
    assert_eq!(
        nginx(&s, "publish", form("live", key, "", "10.9.9.9", "publish")).await,
        429
    );
    // More attempts are refused too, counted, but audited only once per window.
    for _ in 0..3 {
        assert_eq!(
            nginx(&s, "publish", form("live", key, "", "10.9.9.9", "publish")).await,
            429
        );
    }
    // ...while other addresses are unaffected.
    assert_eq!(
        nginx(&s, "publish", form("live", key, "", "10.9.9.10", "publish")).await,
        200
    );
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains(
            "streamgate_ingest_decisions_total{server=\"nginx-rtmp\",outcome=\"throttled\"} 4"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"refused\"} 10"));
    // Audited in aggregate: one row for the ten refusals, one for the four throttled attempts.
    s.server.svc().flush_ingest_refusals().await;
    let audit = s
        .server
        .store()
        .query_audit(None, None, 0, 100)
        .await
        .unwrap();
    let rows = |outcome: &str| -> Vec<u64> {
        audit
            .iter()
            .filter(|e| e.outcome == outcome && e.actor.contains("10.9.9.9"))
            .map(|e| {
                serde_json::from_str::<Value>(&e.detail).unwrap()["count"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(rows("throttled"), [4]);
    assert_eq!(rows("unknown_stream"), [10]);
}

/// MediaMTX's JWT mode: the token verifies with the JWKS key and carries exactly one publish
/// permission; it is no API credential.
#[tokio::test]
async fn publish_tokens_for_mediamtx_verify_with_the_jwks() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    let s = setup(Backend::Sqlite).await;
    let st = stream(&s, "cam").await;
    let res = s
        .http
        .post(s.url(&format!(
            "/sg/v1/streams/{}/publish-token",
            st["id"].as_str().unwrap()
        )))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    let token = t["token"].as_str().unwrap();
    assert_eq!(
        t["path"],
        format!("live/{}", st["playbackId"].as_str().unwrap())
    );
    assert_eq!(t["expiresIn"], 300);

    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let jwks: Value = s
        .http
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid in the JWKS");
    let x: [u8; 32] = B64
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sig: [u8; 64] = B64.decode(parts[2]).unwrap().try_into().unwrap();
    VerifyingKey::from_bytes(&x)
        .unwrap()
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &Signature::from_bytes(&sig),
        )
        .expect("signature verifies with the JWKS key");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(
        claims["mediamtx_permissions"],
        json!([{"action": "publish", "path": t["path"]}])
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(claims["sub"], st["id"]);
    // Not an API credential.
    let me = s
        .http
        .get(s.url("/sg/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    // Another account's stream: 404.
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "o", None)
        .await
        .unwrap();
    let theirs = common::new_key(&s.server, other.id, "t", |_| {}).await;
    let r = s
        .http
        .post(s.url(&format!(
            "/sg/v1/streams/{}/publish-token",
            st["id"].as_str().unwrap()
        )))
        .bearer_auth(theirs.secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Many encoders going live at once: every publish is decided (no "database is locked"), every
/// stream is active with one open session, and every decision is in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_publishes_of_many_streams_all_land() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = std::sync::Arc::new(setup(backend).await);
        let mut keys = vec![];
        for i in 0..24 {
            keys.push(
                stream(&s, &format!("cam {i}")).await["streamKey"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let mut tasks = vec![];
        for (i, key) in keys.iter().enumerate() {
            let (s, key) = (s.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                nginx(
                    &s,
                    "publish",
                    form("live", &key, "", &format!("10.1.0.{i}"), "publish"),
                )
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        let actor = s.server.svc().authenticate(s.secret(), None).await.unwrap();
        let live = s
            .server
            .svc()
            .list_streams(&actor, None, 100)
            .await
            .unwrap()
            .items;
        assert_eq!(live.iter().filter(|x| x.is_active).count(), 24);
        let audit = s
            .server
            .store()
            .query_audit(None, None, 0, 1000)
            .await
            .unwrap();
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "ingest.publish" && e.outcome == "stream_key")
                .count(),
            24
        );
    }
}

/// The hooks' lookups are cached (a repeated unknown key or instance does not reach the store
/// again), and changes made by another instance on the same store reach the cache through the
/// change log within a second: suspension, resumption and deletion of a stream, and creation,
/// change and deletion of an Edgecast stream key. A suspension not yet followed is refused anyway
/// (the publish transaction re-checks), with the right reason.
async fn hook_caches_follow_changes_made_elsewhere(backend: Backend) {
    use std::time::Duration;
    let a = setup(backend).await;
    let b = TestServer::start_on(a.server.db.clone()).await;
    // Each call from its own address: the waits below retry, and must not be throttled.
    let calls = std::sync::atomic::AtomicU32::new(0);
    let on_a = |name: &str, query: &str, call: &str| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = form(
            if query.is_empty() { "live" } else { "inst" },
            name,
            query,
            &format!("10.7.{}.{}", n / 250, n % 250),
            call,
        );
        let (a, call) = (&a, call.to_string());
        async move { nginx(a, &call, body).await }
    };
    let last_outcome = || async {
        a.server.svc().flush_ingest_refusals().await;
        a.server
            .store()
            .query_audit(None, None, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "ingest.publish")
            .map(|e| (e.outcome, e.account_id))
            .unwrap()
    };
    let lookups = || a.server.svc().verifier.store_lookups();
    // A has applied every change in the log (B's start, this test's own writes): a batch applied
    // while a lookup runs keeps its answer out of the cache, and would be counted as a miss.
    let caught_up = || async {
        let latest = a.server.store().latest_change().await.unwrap();
        let verifier = &a.server.svc().verifier;
        let done = common::eventually(Duration::from_secs(5), || async {
            verifier.applied_seq() >= latest
        })
        .await;
        assert!(done.is_some(), "A did not follow the change log");
    };

    // Unknown key and instance: asked once, then answered from the cache.
    caught_up().await;
    assert_eq!(on_a("nope-nope-nope-nope", "", "publish").await, 403);
    let asked = lookups();
    assert_eq!(on_a("nope-nope-nope-nope", "", "publish").await, 403);
    assert_eq!(
        lookups(),
        asked,
        "a repeated unknown key is not looked up again"
    );

    // A stream made on B publishes on A; a known key is not looked up again either.
    let made = stream_at(&a, &b, "elsewhere").await;
    let (id, key) = (
        made["id"].as_str().unwrap().to_string(),
        made["streamKey"].as_str().unwrap().to_string(),
    );
    caught_up().await;
    assert_eq!(on_a(&key, "", "publish").await, 200);
    assert_eq!(on_a(&key, "", "publish_done").await, 200);
    let asked = lookups();
    assert_eq!(on_a(&key, "", "publish").await, 200);
    assert_eq!(on_a(&key, "", "publish_done").await, 200);
    assert_eq!(
        lookups(),
        asked,
        "a known stream key is served from the cache"
    );

    let patch = |suspended: bool| {
        a.http
            .patch(b.url(&format!("/api/stream/{id}")))
            .bearer_auth(a.secret())
            .json(&json!({"suspended": suspended}))
            .send()
    };
    assert_eq!(patch(true).await.unwrap().status(), 204);
    // Whether or not A has followed the change yet, the publish is refused, for the right reason.
    // (Refusals are audited in aggregate: the older ones are written first, out of the way.)
    a.server.svc().flush_ingest_refusals().await;
    assert_eq!(on_a(&key, "", "publish").await, 403);
    // Refusals of a known stream are its account's to see.
    assert_eq!(
        last_outcome().await,
        ("stream_suspended".into(), Some(a.account.id))
    );
    // Once A has followed the suspension it holds the suspended stream: resuming must reach it too.
    let latest = a.server.store().latest_change().await.unwrap();
    let followed = common::eventually(Duration::from_secs(1), || async {
        a.server.svc().verifier.applied_seq() >= latest
    })
    .await;
    assert!(followed.is_some(), "A did not follow the change log");
    assert_eq!(on_a(&key, "", "publish").await, 403);
    assert_eq!(patch(false).await.unwrap().status(), 204);
    let resumed = common::eventually(Duration::from_secs(1), || async {
        on_a(&key, "", "publish").await == 200
    })
    .await;
    assert!(
        resumed.is_some(),
        "A still refuses a stream resumed on B after 1 s"
    );
    assert_eq!(on_a(&key, "", "publish_done").await, 200);
    a.http
        .delete(b.url(&format!("/api/stream/{id}")))
        .bearer_auth(a.secret())
        .send()
        .await
        .unwrap();
    a.server.svc().flush_ingest_refusals().await;
    assert_eq!(on_a(&key, "", "publish").await, 403);
    // Refusals of a known stream are its account's to see.
    assert_eq!(
        last_outcome().await,
        ("stream_deleted".into(), Some(a.account.id))
    );

    // Edgecast: A has seen instance `inst` without keys; a key made on B works on A within 1 s,
    // and stops working when B changes or deletes it.
    assert_eq!(on_a("cam", "edgeKey42", "publish").await, 403);
    let edgecast = |method: reqwest::Method, path: String, body: Option<&'static str>| {
        let mut req = a
            .http
            .request(
                method,
                b.url(&format!(
                    "/v2/mcc/customers/{}/httpstreaming/dcp{path}",
                    a.account.number
                )),
            )
            .header("authorization", format!("TOK:{}", a.secret()));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        req.send()
    };
    let made: Value = edgecast(
        reqwest::Method::POST,
        "/streamkeys".into(),
        Some(r#"{"DirPath":"inst/cam","Key":"edgeKey42"}"#),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sk = made["Id"].as_i64().unwrap();
    let within = |name: &'static str, query: &'static str, want: u16| {
        let on_a = &on_a;
        async move {
            common::eventually(Duration::from_secs(1), || async {
                on_a(name, query, "publish").await == want
            })
            .await
            .is_some()
        }
    };
    assert!(
        within("cam", "edgeKey42", 200).await,
        "a DirPath made on B is unknown on A after 1 s"
    );
    let res = edgecast(
        reqwest::Method::PUT,
        format!("/streamkeys/{sk}"),
        Some(r#"{"DirPath":"inst/cam","Key":"otherKey77"}"#),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        within("cam", "edgeKey42", 403).await,
        "A still takes a key B replaced after 1 s"
    );
    assert_eq!(on_a("cam", "otherKey77", "publish").await, 200);
    let res = edgecast(reqwest::Method::DELETE, format!("/streamkeys/{sk}"), None)
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert!(
        within("cam", "otherKey77", 403).await,
        "A still takes a key B deleted after 1 s"
    );
    b.stop().await;
}

#[tokio::test]
async fn hook_caches_follow_changes_made_elsewhere_on_sqlite() {
    hook_caches_follow_changes_made_elsewhere(Backend::Sqlite).await;
}

#[tokio::test]
async fn hook_caches_follow_changes_made_elsewhere_on_postgres() {
    hook_caches_follow_changes_made_elsewhere(Backend::Postgres).await;
}
