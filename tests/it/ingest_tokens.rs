//! Ingest hooks are authenticated (issue 18): a media server presents an ingest token on the hook
//! URL (`?token=`) or as `Authorization: Bearer`; without a valid one the answer is 401 and
//! nothing is written. Refusals are throttled per (token, client address), bounded per token, and
//! audited in aggregate, so a flood of refused hooks cannot fill the disk; every reported field is
//! capped. And the CLI contract of `streamgate ingest-token`.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, setup, Setup};
use serde_json::{json, Value};
use streamgate::domain::AuditEvent;
use streamgate::store::Scope;
use streamgate::testkit::{operator, Backend, TestDb, TestServer};

const HOOK: &str = "/ingest/nginx-rtmp/publish";
const DONE: &str = "/ingest/nginx-rtmp/publish-done";

/// nginx-rtmp's form for a publish of `name` under `app` from `addr`, plus `extra` query args.
fn form(app: &str, name: &str, addr: &str, extra: &str) -> String {
    let mut f = format!(
        "app={app}&flashver=FMLE%2F3.0&tcurl=rtmp://127.0.0.1/{app}&addr={addr}&clientid=1&call=publish&name={name}&type=live"
    );
    if !extra.is_empty() {
        f.push('&');
        f.push_str(extra);
    }
    f
}

async fn post(http: &reqwest::Client, url: &str, bearer: Option<&str>, body: String) -> u16 {
    let mut req = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    crate::common::hook_status(&req.send().await.unwrap())
}

async fn new_stream_key(s: &Setup, server: &TestServer) -> (String, String) {
    let st: Value = s
        .http
        .post(server.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "cam"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        st["id"].as_str().unwrap().to_string(),
        st["streamKey"].as_str().unwrap().to_string(),
    )
}

async fn audit(server: &TestServer) -> Vec<AuditEvent> {
    server
        .store()
        .query_audit(None, None, 0, 100_000)
        .await
        .unwrap()
}

/// The SQLite database and its WAL, in bytes.
fn store_bytes(db: &TestDb) -> u64 {
    let path = db.url.strip_prefix("sqlite://").unwrap();
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            std::fs::metadata(format!("{path}{suffix}"))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

/// Writes out what the server batches (key usage, rate-limit counts, refusals), so that what
/// the store holds afterwards is what the hooks that follow caused.
async fn settle(server: &TestServer) {
    let svc = server.svc();
    svc.usage.flush().await;
    svc.rate_sync.sync(server.store().as_ref()).await;
    svc.flush_ingest_refusals().await;
}

fn count_of(e: &AuditEvent) -> u64 {
    serde_json::from_str::<Value>(&e.detail).unwrap()["count"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_token_on_the_hook_url_or_as_bearer_is_accepted_and_no_other_way() {
    let s = setup(Backend::Sqlite).await;
    let (_, key) = new_stream_key(&s, &s.server).await;
    let token = s.server.ingest_token().await;
    let publish = form("live", &key, "10.0.0.1", "");
    let done = publish.replace("call=publish", "call=publish_done");

    // On the hook URL's query, and as a Bearer header.
    let with_query = s.server.ingest_url(HOOK).await;
    assert_eq!(post(&s.http, &with_query, None, publish.clone()).await, 200);
    assert_eq!(
        post(
            &s.http,
            &s.server.ingest_url(DONE).await,
            None,
            done.clone()
        )
        .await,
        200
    );
    assert_eq!(
        post(&s.http, &s.url(HOOK), Some(&token), publish.clone()).await,
        200
    );
    assert_eq!(
        post(&s.http, &s.url(DONE), Some(&token), done.clone()).await,
        200
    );

    // Never from the form: its fields are the encoder's publish arguments.
    let audit_before = audit(&s.server).await.len();
    assert_eq!(
        post(
            &s.http,
            &s.url(HOOK),
            None,
            form("live", &key, "10.0.0.1", &format!("token={token}"))
        )
        .await,
        401
    );
    // Nor a wrong, malformed or revoked token, nor an API key; and publish-done alike.
    let made = s
        .server
        .svc()
        .create_ingest_token(&operator(), "soon revoked")
        .await
        .unwrap();
    let doomed = made.secret.expose().to_string();
    assert_eq!(
        post(&s.http, &s.url(HOOK), Some(&doomed), publish.clone()).await,
        200
    );
    assert_eq!(
        post(&s.http, &s.url(DONE), Some(&doomed), done.clone()).await,
        200
    );
    s.server
        .svc()
        .revoke_ingest_token(&operator(), made.token.id)
        .await
        .unwrap();
    let mut wrong = token.clone().into_bytes();
    wrong[8] = if wrong[8] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    for bad in [
        doomed.as_str(),
        wrong.as_str(),
        "sgi_000000000000000000000000000000000000",
        s.secret(),
        "",
    ] {
        for path in [HOOK, DONE] {
            assert_eq!(
                post(
                    &s.http,
                    &s.url(&format!("{path}?token={bad}")),
                    None,
                    publish.clone()
                )
                .await,
                401,
                "{path} with ?token={bad}"
            );
            assert_eq!(
                post(&s.http, &s.url(path), Some(bad), publish.clone()).await,
                401,
                "{path} with Bearer {bad}"
            );
        }
    }
    // SRS and MediaMTX too, with no body in the answer.
    for (path, body) in [
        (
            "/ingest/srs",
            json!({"action": "on_publish", "ip": "10.0.0.1", "app": "live", "stream": key}),
        ),
        (
            "/ingest/mediamtx",
            json!({"action": "publish", "ip": "10.0.0.1", "path": format!("live/{key}")}),
        ),
    ] {
        let res = s.http.post(s.url(path)).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert!(res.text().await.unwrap().is_empty(), "{path}: a body");
        let res = s
            .http
            .post(s.server.ingest_url(path).await)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} with the token");
        let unpublish = match path {
            "/ingest/srs" => json!({"action": "on_unpublish", "app": "live", "stream": key}),
            _ => continue,
        };
        s.http
            .post(s.server.ingest_url(path).await)
            .json(&unpublish)
            .send()
            .await
            .unwrap();
    }
    // The revoke itself is audited (no secret); the refused calls wrote nothing.
    s.server.svc().flush_ingest_refusals().await;
    let rows = audit(&s.server).await;
    let after: Vec<_> = rows.iter().take(rows.len() - audit_before).collect();
    assert!(
        after.iter().all(|e| e.action.starts_with("ingest_token.")
            || ["stream_key", "publish_done"].contains(&e.outcome.as_str())),
        "{after:#?}"
    );
    assert!(rows.iter().any(|e| e.action == "ingest_token.revoke"
        && e.object == format!("ingest_token:{}", made.token.id)));
    let text = format!("{rows:?}");
    assert!(
        !text.contains(&token) && !text.contains(&doomed),
        "a token in the audit log"
    );
    let metrics = s.get_text("/metrics").await;
    assert!(metrics.contains("outcome=\"unauthenticated\""), "{metrics}");
}

/// 1,000 hooks without a token, with big fields: 401 each, and the store does not change at
/// all (no audit row, no session, not a byte).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_flood_writes_nothing_at_all() {
    let s = setup(Backend::Sqlite).await;
    let (_, key) = new_stream_key(&s, &s.server).await;
    settle(&s.server).await;
    let rows_before = audit(&s.server).await.len();
    let changes_before = s.server.store().latest_change().await.unwrap();
    let bytes_before = store_bytes(&s.server.db);
    let big = "x".repeat(10_000);
    let http = s.http.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (http, base, key, big) = (
            http.clone(),
            s.server.base_url.clone(),
            key.clone(),
            big.clone(),
        );
        tasks.spawn(async move {
            for i in 0..125 {
                let n = w * 125 + i;
                let addr = format!("{n}{big}");
                let (path, status) = match n % 4 {
                    0 => {
                        let body = form(&big, &key, &addr, &big);
                        (HOOK, post(&http, &format!("{base}{HOOK}"), None, body).await)
                    }
                    1 => {
                        let body = form("live", &key, &addr, "");
                        let url = format!("{base}{HOOK}?token=sgi_{n:036}");
                        (HOOK, post(&http, &url, None, body).await)
                    }
                    2 => {
                        let body = json!({"action": "on_publish", "ip": addr, "app": big, "stream": key, "param": big});
                        let res = http.post(format!("{base}/ingest/srs")).json(&body).send().await.unwrap();
                        ("/ingest/srs", res.status().as_u16())
                    }
                    _ => {
                        let body = json!({"action": "publish", "ip": addr, "path": format!("live/{key}"), "query": big});
                        let res = http
                            .post(format!("{base}/ingest/mediamtx"))
                            .bearer_auth(&big)
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        ("/ingest/mediamtx", res.status().as_u16())
                    }
                };
                assert_eq!(status, 401, "{path} #{n}");
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    assert_eq!(s.server.svc().ingest_refusals.pending(), 0);
    s.server.svc().flush_ingest_refusals().await;
    assert_eq!(
        audit(&s.server).await.len(),
        rows_before,
        "audit rows written"
    );
    assert_eq!(
        s.server.store().latest_change().await.unwrap(),
        changes_before,
        "changes logged"
    );
    // (A checkpoint may shrink the WAL; nothing may grow it.)
    let bytes_after = store_bytes(&s.server.db);
    assert!(
        bytes_after <= bytes_before,
        "the store grew from {bytes_before} to {bytes_after} bytes"
    );
    let actor = s.server.svc().authenticate(s.secret(), None).await.unwrap();
    let live = s
        .server
        .svc()
        .list_streams(&actor, None, 10)
        .await
        .unwrap()
        .items;
    assert!(live.iter().all(|x| !x.is_active), "a stream went live");
    let metrics = s.get_text("/metrics").await;
    let unauthenticated: u64 = metrics
        .lines()
        .filter(|l| l.contains("outcome=\"unauthenticated\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(unauthenticated, 1000, "{metrics}");
}

/// The measurement of issue 18: 10,000 refused hooks (with a valid token) carrying 10 KB fields
/// grow the SQLite store (database and WAL) by less than 1 MB once the refusals are written; the
/// rows hold every refusal's count and nothing long. The flood is bounded per token: past the
/// addresses the throttle tracks for that token, new addresses share one counter, while another
/// media server's clients are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_refused_hooks_grow_the_store_by_less_than_a_megabyte() {
    let s = setup(Backend::Sqlite).await;
    let (_, key) = new_stream_key(&s, &s.server).await;
    let url = s.server.ingest_url(HOOK).await;
    settle(&s.server).await;
    let rows_before = audit(&s.server).await.len();
    let bytes_before = store_bytes(&s.server.db);
    let big = "y".repeat(10_000);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8u32 {
        let (http, url, big) = (s.http.clone(), url.clone(), big.clone());
        tasks.spawn(async move {
            for i in 0..1250u32 {
                let n = w * 1250 + i;
                // A new 10 KB address each time (distinct within the first 64 bytes too).
                let addr = format!("{n:08}{big}");
                let body = if n % 2 == 0 {
                    // Every field 10 KB: refused for its length, without a lookup.
                    form(&big, &big, &addr, &format!("k={big}"))
                } else {
                    // Only the address long: decided (an unknown stream), and refused.
                    form("live", &format!("guess-{n}"), &addr, "p=short")
                };
                assert_eq!(post(&http, &url, None, body).await, 403, "#{n}");
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    assert_eq!(s.server.svc().ingest_refusals.pending(), 10_000);
    s.server.svc().flush_ingest_refusals().await;
    let grown = store_bytes(&s.server.db) - bytes_before;
    let rows = audit(&s.server).await;
    let new: Vec<_> = rows[..rows.len() - rows_before].to_vec();
    let size = format!(
        "ingest refusals: 10,000 refused hooks with 10 KB fields grew the store by {grown} bytes ({} audit rows)",
        new.len()
    );
    println!("{size}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("ingest-refusals.txt"), format!("{size}\n"));
    assert!(grown < 1_000_000, "{size}");
    assert!(
        new.len() <= streamgate::service::ingest_refusals::MAX_BUCKETS + 1,
        "{} rows",
        new.len()
    );
    assert_eq!(new.iter().map(count_of).sum::<u64>(), 10_000);
    assert!(new.iter().any(|e| e.outcome == "field_too_long"));
    assert!(new.iter().any(|e| e.actor == "ingest:overflow"));
    for e in &new {
        assert!(
            e.actor.len() <= 100 && e.object.len() <= 310 && e.detail.len() <= 200,
            "a long audit field: {e:?}"
        );
    }

    // Bounded per token: the token's table is full, so new addresses share one counter...
    let fresh = |i: u32| format!("fresh-{i}");
    for i in 0..10 {
        assert_eq!(
            post(
                &s.http,
                &url,
                None,
                form("live", "nope-nope", &fresh(i), "")
            )
            .await,
            403
        );
    }
    assert_eq!(
        post(&s.http, &url, None, form("live", &key, &fresh(99), "")).await,
        429,
        "a new address of the flooded token"
    );
    // ...while another media server's token, from the same address, is decided as ever.
    let other = s
        .server
        .svc()
        .create_ingest_token(&operator(), "other media server")
        .await
        .unwrap();
    let other_url = format!(
        "{}{HOOK}?token={}",
        s.server.base_url,
        other.secret.expose()
    );
    assert_eq!(
        post(
            &s.http,
            &other_url,
            None,
            form("live", &key, &fresh(99), "")
        )
        .await,
        200
    );
}

/// An attacker holding one media server's token who reports a real encoder's address locks out
/// only that (token, address): the encoder, behind another media server, publishes.
#[tokio::test]
async fn spoofing_an_encoders_address_under_another_token_does_not_lock_it_out() {
    let s = setup(Backend::Sqlite).await;
    let (_, key) = new_stream_key(&s, &s.server).await;
    let encoder = "203.0.113.7";
    let t1 = s.server.ingest_url(HOOK).await;
    let t2 = s
        .server
        .svc()
        .create_ingest_token(&operator(), "the encoder's media server")
        .await
        .unwrap();
    let t2 = format!("{}{HOOK}?token={}", s.server.base_url, t2.secret.expose());
    for i in 0..10 {
        assert_eq!(
            post(
                &s.http,
                &t1,
                None,
                form("live", &format!("guess-{i}"), encoder, "")
            )
            .await,
            403
        );
    }
    assert_eq!(
        post(&s.http, &t1, None, form("live", &key, encoder, "")).await,
        429,
        "throttled under the attacker's token"
    );
    assert_eq!(
        post(&s.http, &t2, None, form("live", &key, encoder, "")).await,
        200,
        "the encoder behind its own media server"
    );
    // Rotating the address under one token: each address is decided on its own (to the bound
    // the throttle's per-token table sets, see the measurement test).
    assert_eq!(
        post(
            &s.http,
            &t1,
            None,
            form("live", "guess-x", "203.0.113.8", "")
        )
        .await,
        403
    );
    // Audited in aggregate, per (token, address, reason).
    s.server.svc().flush_ingest_refusals().await;
    let rows = audit(&s.server).await;
    let of = |outcome: &str, addr: &str| -> Vec<u64> {
        rows.iter()
            .filter(|e| e.outcome == outcome && e.actor.ends_with(&format!("@{addr}")))
            .map(count_of)
            .collect()
    };
    assert_eq!(of("unknown_stream", encoder), [10]);
    assert_eq!(of("throttled", encoder), [1]);
    assert_eq!(of("unknown_stream", "203.0.113.8"), [1]);
}

/// A session keeps the reported address only up to its cap; a long stream name or too many
/// parameters are refused for their length.
#[tokio::test]
async fn reported_fields_are_capped() {
    let s = setup(Backend::Sqlite).await;
    let (id, key) = new_stream_key(&s, &s.server).await;
    let url = s.server.ingest_url(HOOK).await;
    let long_addr = format!("10.0.0.1{}", "9".repeat(10_000));
    assert_eq!(
        post(&s.http, &url, None, form("live", &key, &long_addr, "")).await,
        200
    );
    let sessions = s
        .server
        .store()
        .list_sessions(
            Scope {
                account_id: s.account.id,
                environment: streamgate::domain::Environment::Production,
            },
            id.parse().unwrap(),
            None,
        )
        .await
        .unwrap();
    let stored = sessions[0].client_addr.as_deref().unwrap();
    assert_eq!(stored.len(), 64);
    assert!(long_addr.starts_with(stored));
    let many: Vec<String> = (0..40).map(|i| format!("p{i}=1")).collect();
    for body in [
        form("live", &format!("{key}{}", "z".repeat(300)), "10.0.0.2", ""),
        form(&"a".repeat(300), "cam", "10.0.0.3", ""),
        form("live", "cam", "10.0.0.4", &many.join("&")),
        form("live", "cam", "10.0.0.5", &format!("k={}", "v".repeat(600))),
    ] {
        assert_eq!(post(&s.http, &url, None, body).await, 403);
    }
    s.server.svc().flush_ingest_refusals().await;
    let rows = audit(&s.server).await;
    assert_eq!(
        rows.iter()
            .filter(|e| e.outcome == "field_too_long")
            .count(),
        4
    );
    let opened = rows
        .iter()
        .find(|e| e.outcome == "stream_key")
        .expect("the publish is audited");
    assert!(opened.actor.len() < 100, "{}", opened.actor);
}

/// A token revoked through one instance is refused at once there and, through the change log,
/// within a second by another instance on the same database that had it cached.
async fn a_revoke_reaches_another_instance(backend: Backend) {
    let a = setup(backend).await;
    let b = TestServer::start_on(a.server.db.clone()).await;
    let (_, key) = new_stream_key(&a, &a.server).await;
    let made = a
        .server
        .svc()
        .create_ingest_token(&operator(), "shared")
        .await
        .unwrap();
    let token = made.secret.expose().to_string();
    let body = || form("live", "nope-nope-nope", "10.1.0.1", "");
    // B learns the token (and caches it): an authenticated refusal, not a 401.
    let on_b = format!("{}{HOOK}?token={token}", b.base_url);
    let on_a = format!("{}{HOOK}?token={token}", a.server.base_url);
    assert_eq!(post(&a.http, &on_b, None, body()).await, 403);
    assert_eq!(post(&a.http, &on_b, None, body()).await, 403);
    let lookups = b.svc().verifier.store_lookups();
    assert_eq!(post(&a.http, &on_b, None, body()).await, 403);
    assert_eq!(
        b.svc().verifier.store_lookups(),
        lookups,
        "a known token is verified from the cache"
    );
    a.server
        .svc()
        .revoke_ingest_token(&operator(), made.token.id)
        .await
        .unwrap();
    assert_eq!(
        post(&a.http, &on_a, None, body()).await,
        401,
        "at once on the revoking instance"
    );
    let refused = eventually(Duration::from_secs(1), || async {
        post(&a.http, &on_b, None, body()).await == 401
    })
    .await;
    assert!(
        refused.is_some(),
        "B still takes a token revoked on A after 1 s"
    );
    // And a valid one still works on B.
    let ok = b.ingest_url(HOOK).await;
    assert_eq!(
        post(&a.http, &ok, None, form("live", &key, "10.1.0.2", "")).await,
        200
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoke_reaches_another_instance_on_sqlite() {
    a_revoke_reaches_another_instance(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoke_reaches_another_instance_on_postgres() {
    a_revoke_reaches_another_instance(Backend::Postgres).await;
}

/// Only the operator manages ingest tokens.
#[tokio::test]
async fn only_the_operator_manages_ingest_tokens() {
    let s = setup(Backend::Sqlite).await;
    let actor = s.server.svc().authenticate(s.secret(), None).await.unwrap();
    let svc = s.server.svc();
    assert!(svc.create_ingest_token(&actor, "x").await.is_err());
    assert!(svc.list_ingest_tokens(&actor).await.is_err());
    let made = svc.create_ingest_token(&operator(), "x").await.unwrap();
    assert!(svc
        .revoke_ingest_token(&actor, made.token.id)
        .await
        .is_err());
    assert!(
        svc.create_ingest_token(&operator(), "").await.is_err(),
        "a name"
    );
}

// --- the CLI contract ---------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_streamgate");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn sg(db: &TestDb, args: &[&str]) -> Out {
    let data_dir = std::env::temp_dir().join("streamgate-cli-tests");
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .env("STREAMGATE_DATABASE_URL", &db.url)
        .env("STREAMGATE_DATA_DIR", &data_dir)
        .env("STREAMGATE_MASTER_KEY", &db.master_key)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run streamgate");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn parsed(out: &Out) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_creates_lists_and_revokes_ingest_tokens() {
    let server = Arc::new(TestServer::start(Backend::Sqlite).await);
    let http = reqwest::Client::new();
    let made = parsed(
        &sg(
            &server.db,
            &["ingest-token", "create", "--name", "edge-1", "--json"],
        )
        .await,
    );
    let id = made["id"].as_str().unwrap().to_string();
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sgi_"), "{made}");
    assert_eq!(made["name"], "edge-1");
    // The running server takes it (its cache learns of the new token through the change log).
    let url = format!("{}{HOOK}?token={token}", server.base_url);
    let body = || form("live", "nope-nope", "10.2.0.1", "");
    let taken = eventually(Duration::from_secs(2), || async {
        post(&http, &url, None, body()).await == 403
    })
    .await;
    assert!(taken.is_some(), "the server refuses a token the CLI made");

    // Without --json: a human line, and the token once.
    let human = sg(&server.db, &["ingest-token", "create", "--name", "edge-2"]).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("created ingest token edge-2"),
        "{}",
        human.stdout
    );
    assert_eq!(human.stdout.matches("sgi_").count(), 1, "{}", human.stdout);

    // The list: ids, names, times; never a token.
    let list = sg(&server.db, &["ingest-token", "list", "--json"]).await;
    assert!(
        !list.stdout.contains("sgi_"),
        "a token in the list: {}",
        list.stdout
    );
    let list = parsed(&list);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["name"], "edge-1");
    assert!(mine["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(mine["revokedAt"].is_null());
    assert!(mine.as_object().unwrap().contains_key("lastUsedAt"));
    assert_eq!(list.as_array().unwrap().len(), 2);
    let text = sg(&server.db, &["ingest-token", "list"]).await;
    assert!(text.stdout.contains("edge-1") && text.stdout.contains(&id));
    assert!(!text.stdout.contains("sgi_"));

    // Last use is written back with the refusal log (the server's housekeeping).
    server.svc().flush_ingest_refusals().await;
    let list = parsed(&sg(&server.db, &["ingest-token", "list", "--json"]).await);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(mine["lastUsedAt"].is_string(), "{mine}");

    // Revoke: the running server refuses it within a second.
    let revoked = sg(&server.db, &["ingest-token", "revoke", &id]).await;
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    assert!(
        revoked.stdout.contains("revoked ingest token"),
        "{}",
        revoked.stdout
    );
    let refused = eventually(Duration::from_secs(1), || async {
        post(&http, &url, None, body()).await == 401
    })
    .await;
    assert!(
        refused.is_some(),
        "the server still takes a revoked token after 1 s"
    );
    let list = parsed(&sg(&server.db, &["ingest-token", "list", "--json"]).await);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id.as_str() && t["revokedAt"].is_string()));
    let missing = sg(
        &server.db,
        &[
            "ingest-token",
            "revoke",
            "0190a0a0-0000-7000-8000-000000000000",
        ],
    )
    .await;
    assert_ne!(missing.code, 0);
    let bad = sg(&server.db, &["ingest-token", "revoke", "nope"]).await;
    assert!(
        bad.code != 0 && bad.stderr.contains("UUID"),
        "{}",
        bad.stderr
    );

    // Audited, without the secret.
    let rows = audit(&server).await;
    for action in ["ingest_token.create", "ingest_token.revoke"] {
        assert!(
            rows.iter()
                .any(|e| e.action == action && e.object == format!("ingest_token:{id}")),
            "{action}"
        );
    }
    assert!(!format!("{rows:?}").contains(&token));
}
