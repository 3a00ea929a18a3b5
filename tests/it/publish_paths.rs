//! A publish path belongs to one account: an Edgecast DirPath instance is owned by the account (and
//! environment) that used it first; another's DirPath there, exact or wildcard, is refused with 409
//! in Edgecast's error format, on create and on update; ingest considers only the owner's
//! DirPaths; the application stream keys publish to cannot be claimed at all; ownership ends with
//! the owner's last DirPath there; two concurrent first claims end with one owner. The store-level
//! parts run on SQLite and PostgreSQL.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{new_key, setup, setup_with, Setup};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use streamgate::domain::{Account, AccountNumber, Environment};
use streamgate::service::CreatedKey;
use streamgate::store::{Scope, StoreError, StreamKeyRecord};
use streamgate::testkit::{Backend, TestDb, TestServer};
use streamgate::Config;
use uuid::Uuid;

/// A second account on `s`'s server, with a production key.
async fn other_account(s: &Setup, name: &str) -> (Account, CreatedKey) {
    let account = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), name, None)
        .await
        .unwrap();
    let key = new_key(&s.server, account.id, "k", |_| {}).await;
    (account, key)
}

async fn sandbox_key(s: &Setup) -> CreatedKey {
    new_key(&s.server, s.account.id, "sandbox", |k| {
        k.environment = Environment::Sandbox
    })
    .await
}

/// An Edgecast DCP call for `account` with `key`.
async fn ec(
    s: &Setup,
    account: &Account,
    key: &CreatedKey,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = s
        .http
        .request(
            method,
            s.url(&format!(
                "/v2/mcc/customers/{}/httpstreaming/dcp{path}",
                account.number
            )),
        )
        .header("authorization", format!("TOK:{}", key.secret.expose()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Creates a DirPath; returns the status and the body.
async fn create(
    s: &Setup,
    account: &Account,
    key: &CreatedKey,
    dir: &str,
    secret: &str,
) -> (StatusCode, Value) {
    let r = ec(
        s,
        account,
        key,
        Method::POST,
        "/streamkeys",
        Some(json!({"DirPath": dir, "Key": secret})),
    )
    .await;
    (r.status(), r.json().await.unwrap())
}

/// The refusal for an instance owned elsewhere: 409 with Edgecast's `{"Message"}` and nothing else.
fn assert_owned_elsewhere((status, body): (StatusCode, Value), what: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{what}: {body}");
    let obj = body.as_object().expect("a JSON object");
    assert_eq!(obj.len(), 1, "{what}: only Message: {body}");
    let msg = obj["Message"].as_str().expect("Message");
    assert!(!msg.is_empty(), "{what}");
}

/// Every hook call goes through here (the place to add an ingest token).
async fn publish(s: &Setup, app: &str, name: &str, query: &str) -> u16 {
    static ADDR: AtomicU32 = AtomicU32::new(1);
    // Each call from its own address, so refusals never add up to a throttle.
    let n = ADDR.fetch_add(1, Ordering::Relaxed);
    let addr = format!("10.77.{}.{}", n / 250, n % 250 + 1);
    let mut form = format!(
        "app={app}&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp://127.0.0.1:1935/{app}&pageurl=&addr={addr}&clientid=7&call=publish&name={name}&type=live"
    );
    if !query.is_empty() {
        form.push('&');
        form.push_str(query);
    }
    s.http
        .post(s.server.ingest_url("/ingest/nginx-rtmp/publish").await)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map(|r| common::hook_status(&r))
        .unwrap()
}

async fn delete(s: &Setup, account: &Account, key: &CreatedKey, id: i64) -> StatusCode {
    ec(
        s,
        account,
        key,
        Method::DELETE,
        &format!("/streamkeys/{id}"),
        None,
    )
    .await
    .status()
}

/// `s`'s account, with its key.
fn own(s: &Setup) -> (Account, CreatedKey) {
    (
        s.account.clone(),
        CreatedKey {
            key: s.key.key.clone(),
            secret: s.key.secret.clone(),
        },
    )
}

async fn refused_both_ways(backend: Backend) {
    let s = setup(backend).await;
    let (a, ka) = own(&s);
    let (b, kb) = other_account(&s, "b").await;

    // A first: B's exact, wildcard and differently-cased DirPaths in A's instance are refused.
    assert_eq!(create(&s, &a, &ka, "instX/cam1", "aKey1").await.0, 200);
    assert_eq!(
        create(&s, &a, &ka, "instX/cam2", "aKey2").await.0,
        200,
        "the owner adds more"
    );
    for dir in [
        "instX/cam1",
        "instX/cam3",
        "instX/*",
        "instX/cam*",
        "INSTX/cam1",
    ] {
        assert_owned_elsewhere(create(&s, &b, &kb, dir, "bKey1").await, dir);
    }
    // B first, in another instance: A is refused the same way.
    assert_eq!(create(&s, &b, &kb, "instY/*", "bKey2").await.0, 200);
    for dir in ["instY/cam1", "instY/x*", "insty/cam1"] {
        assert_owned_elsewhere(create(&s, &a, &ka, dir, "aKey3").await, dir);
    }
    // On update too: B cannot move its DirPath into A's instance, nor A into B's.
    let (_, made) = create(&s, &b, &kb, "instZ/cam1", "bKey3").await;
    let bid = made["Id"].as_i64().unwrap();
    let moved = ec(
        &s,
        &b,
        &kb,
        Method::PUT,
        &format!("/streamkeys/{bid}"),
        Some(json!({"DirPath": "instX/*", "Key": "bKey3"})),
    )
    .await;
    assert_owned_elsewhere((moved.status(), moved.json().await.unwrap()), "update");
    let (_, made) = create(&s, &a, &ka, "instW/cam1", "aKey4").await;
    let aid = made["Id"].as_i64().unwrap();
    let moved = ec(
        &s,
        &a,
        &ka,
        Method::PUT,
        &format!("/streamkeys/{aid}"),
        Some(json!({"DirPath": "instY/cam9", "Key": "aKey4"})),
    )
    .await;
    assert_owned_elsewhere((moved.status(), moved.json().await.unwrap()), "update");
    // The refused update changed nothing: B's DirPath is where it was, and still publishes.
    let got: Value = ec(
        &s,
        &b,
        &kb,
        Method::GET,
        &format!("/streamkeys/{bid}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(got["DirPath"], "instZ/cam1");
    assert_eq!(publish(&s, "instZ", "cam1", "bKey3").await, 200);
    // A duplicate DirPath within one account is still the platform's 400.
    assert_eq!(create(&s, &a, &ka, "instX/cam1", "aKey9").await.0, 400);
}

#[tokio::test]
async fn another_accounts_dirpath_in_an_owned_instance_is_409_both_ways_on_sqlite() {
    refused_both_ways(Backend::Sqlite).await;
}

#[tokio::test]
async fn another_accounts_dirpath_in_an_owned_instance_is_409_both_ways_on_postgres() {
    refused_both_ways(Backend::Postgres).await;
}

#[tokio::test]
async fn one_accounts_key_cannot_publish_into_anothers_path() {
    let s = setup(Backend::Sqlite).await;
    let (a, ka) = own(&s);
    let (b, kb) = other_account(&s, "b").await;
    assert_eq!(create(&s, &b, &kb, "instBp/cam1", "bSecret1").await.0, 200);
    // The attack: A's wildcard over B's instance, from production and from a sandbox key.
    assert_owned_elsewhere(
        create(&s, &a, &ka, "instBp/*", "aSecret1").await,
        "wildcard",
    );
    let sandbox = sandbox_key(&s).await;
    assert_owned_elsewhere(
        create(&s, &a, &sandbox, "instBp/*", "aSecret1").await,
        "sandbox wildcard",
    );
    // A's key and A's global key open nothing of B's; B's key does.
    ec(
        &s,
        &a,
        &ka,
        Method::PUT,
        "/globalkey",
        Some(json!({"Key": "aGlobal1"})),
    )
    .await;
    assert_eq!(publish(&s, "instBp", "cam1", "aSecret1").await, 403);
    assert_eq!(publish(&s, "instBp", "cam1", "aGlobal1").await, 403);
    assert_eq!(publish(&s, "instBp", "cam2", "aSecret1").await, 403);
    assert_eq!(publish(&s, "instBp", "cam1", "bSecret1").await, 200);
}

#[tokio::test]
async fn the_stream_key_application_cannot_be_claimed() {
    let mut config = Config::default();
    config.http.rtmp_url = None;
    let s = setup_with(Backend::Sqlite, config).await;
    let (a, ka) = own(&s);
    for dir in ["live/*", "live/cam1", "LIVE/x*", "Live/cam"] {
        assert_owned_elsewhere(create(&s, &a, &ka, dir, "liveKey1").await, dir);
    }
    // Not on update either.
    let (_, made) = create(&s, &a, &ka, "mine/cam1", "mineKey1").await;
    let id = made["Id"].as_i64().unwrap();
    let moved = ec(
        &s,
        &a,
        &ka,
        Method::PUT,
        &format!("/streamkeys/{id}"),
        Some(json!({"DirPath": "live/*", "Key": "mineKey1"})),
    )
    .await;
    assert_owned_elsewhere((moved.status(), moved.json().await.unwrap()), "update");
    // A stream key still publishes there.
    let st: Value = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&json!({"name": "cam"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = st["streamKey"].as_str().unwrap();
    assert_eq!(publish(&s, "live", key, "").await, 200);
}

#[tokio::test]
async fn the_configured_rtmp_application_cannot_be_claimed_either() {
    let flags = vec![(
        "STREAMGATE_RTMP_URL",
        "rtmp://media.example:1935/ingest".to_string(),
    )];
    let config = Config::load(|_| None, &flags).unwrap();
    assert!(config
        .service
        .stream_key_apps
        .contains(&"ingest".to_string()));
    let s = setup_with(Backend::Sqlite, config).await;
    let (a, ka) = own(&s);
    for dir in ["ingest/*", "Ingest/cam1", "live/*"] {
        assert_owned_elsewhere(create(&s, &a, &ka, dir, "k1").await, dir);
    }
    assert_eq!(create(&s, &a, &ka, "ingest2/cam1", "k1").await.0, 200);
}

async fn sandbox_and_production(backend: Backend) {
    let s = setup(backend).await;
    let (a, ka) = own(&s);
    let sandbox = sandbox_key(&s).await;
    // Production first: the sandbox cannot publish into production's paths…
    assert_eq!(create(&s, &a, &ka, "instP/cam1", "prodKey1").await.0, 200);
    let (status, body) = create(&s, &a, &sandbox, "instP/*", "sandKey1").await;
    assert_owned_elsewhere((status, body.clone()), "sandbox into production");
    assert!(
        body["Message"].as_str().unwrap().contains("production"),
        "{body}"
    );
    assert_eq!(publish(&s, "instP", "cam1", "sandKey1").await, 403);
    // …nor production into the sandbox's.
    assert_eq!(
        create(&s, &a, &sandbox, "instS/cam1", "sandKey2").await.0,
        200
    );
    assert_owned_elsewhere(
        create(&s, &a, &ka, "instS/cam*", "prodKey2").await,
        "production into sandbox",
    );
    assert_eq!(publish(&s, "instS", "cam1", "sandKey2").await, 200);
    assert_eq!(publish(&s, "instS", "cam1", "prodKey2").await, 403);
}

#[tokio::test]
async fn sandbox_and_production_own_instances_separately_on_sqlite() {
    sandbox_and_production(Backend::Sqlite).await;
}

#[tokio::test]
async fn sandbox_and_production_own_instances_separately_on_postgres() {
    sandbox_and_production(Backend::Postgres).await;
}

async fn release(backend: Backend) {
    let s = setup(backend).await;
    let (a, ka) = own(&s);
    let (b, kb) = other_account(&s, "b").await;
    let (_, one) = create(&s, &a, &ka, "instR/cam1", "aKey1").await;
    let (_, two) = create(&s, &a, &ka, "instr/cam*", "aKey2").await;
    assert_eq!(delete(&s, &a, &ka, one["Id"].as_i64().unwrap()).await, 200);
    assert_owned_elsewhere(
        create(&s, &b, &kb, "instR/cam1", "bKey1").await,
        "A still has a DirPath there",
    );
    assert_eq!(delete(&s, &a, &ka, two["Id"].as_i64().unwrap()).await, 200);
    // A's last DirPath went: B may claim the instance, and from then on A may not.
    assert_eq!(create(&s, &b, &kb, "instR/cam1", "bKey1").await.0, 200);
    assert_owned_elsewhere(
        create(&s, &a, &ka, "instR/cam2", "aKey3").await,
        "B owns it now",
    );
    assert_eq!(publish(&s, "instR", "cam1", "bKey1").await, 200);
    assert_eq!(publish(&s, "instR", "cam1", "aKey1").await, 403);

    // Moving a DirPath to another instance releases the one it left.
    let (_, m) = create(&s, &a, &ka, "instM/cam1", "aKey4").await;
    let res = ec(
        &s,
        &a,
        &ka,
        Method::PUT,
        &format!("/streamkeys/{}", m["Id"].as_i64().unwrap()),
        Some(json!({"DirPath": "instN/cam1", "Key": "aKey4"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(create(&s, &b, &kb, "instM/*", "bKey2").await.0, 200);
    assert_owned_elsewhere(
        create(&s, &b, &kb, "instN/x", "bKey3").await,
        "A moved there",
    );
    let store = s.server.store();
    assert_eq!(
        store
            .instance_owner("instM")
            .await
            .unwrap()
            .map(|o| o.account_id),
        Some(b.id)
    );
    assert_eq!(
        store
            .instance_owner("INSTN")
            .await
            .unwrap()
            .map(|o| o.account_id),
        Some(a.id)
    );
}

#[tokio::test]
async fn ownership_ends_with_the_owners_last_dirpath_on_sqlite() {
    release(Backend::Sqlite).await;
}

#[tokio::test]
async fn ownership_ends_with_the_owners_last_dirpath_on_postgres() {
    release(Backend::Postgres).await;
}

async fn concurrent_claims(backend: Backend) {
    let s = Arc::new(setup(backend).await);
    let (b, kb) = other_account(&s, "b").await;
    let (a, ka) = own(&s);
    let (a, ka, b, kb) = (Arc::new(a), Arc::new(ka), Arc::new(b), Arc::new(kb));
    for round in 0..20 {
        let dir_a = format!("race{round}/cam1");
        let dir_b = format!("race{round}/*");
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let (s, a, ka) = (s.clone(), a.clone(), ka.clone());
                async move { create(&s, &a, &ka, &dir_a, "aKey1").await.0 }
            }),
            tokio::spawn({
                let (s, b, kb) = (s.clone(), b.clone(), kb.clone());
                async move { create(&s, &b, &kb, &dir_b, "bKey1").await.0 }
            }),
        );
        let got = (ra.unwrap().as_u16(), rb.unwrap().as_u16());
        assert!(
            matches!(got, (200, 409) | (409, 200)),
            "round {round}: exactly one account wins: {got:?}"
        );
        // The winner's key publishes there; the loser's does not.
        let (winner_key, loser_key) = if got.0 == 200 {
            ("aKey1", "bKey1")
        } else {
            ("bKey1", "aKey1")
        };
        assert_eq!(
            publish(&s, &format!("race{round}"), "cam1", winner_key).await,
            200,
            "round {round}"
        );
        assert_eq!(
            publish(&s, &format!("race{round}"), "cam1", loser_key).await,
            403,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn concurrent_first_claims_have_one_winner_on_sqlite() {
    concurrent_claims(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_first_claims_have_one_winner_on_postgres() {
    concurrent_claims(Backend::Postgres).await;
}

/// Ownership changes made on one instance reach another's ingest cache within a second.
#[tokio::test]
async fn ownership_changes_reach_every_instances_cache() {
    let s = setup(Backend::Postgres).await;
    let other = TestServer::start_on(s.server.db.clone()).await;
    let hook = other.ingest_url("/ingest/nginx-rtmp/publish").await;
    let on_other = |app: &'static str, name: &'static str, query: &'static str| {
        let http = s.http.clone();
        let url = hook.clone();
        async move {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "app={app}&tcurl=rtmp://127.0.0.1:1935/{app}&addr=10.9.9.9&call=publish&name={name}&type=live&{query}"
                ))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (a, ka) = own(&s);
    let (b, kb) = other_account(&s, "b").await;
    let (_, made) = create(&s, &a, &ka, "instC/cam1", "aKey1").await;
    // The other instance has cached A's DirPaths of instC.
    assert!(common::eventually(Duration::from_secs(1), || async {
        on_other("instC", "cam1", "aKey1").await == 200
    })
    .await
    .is_some());
    ec(
        &s,
        &a,
        &ka,
        Method::DELETE,
        &format!("/streamkeys/{}", made["Id"].as_i64().unwrap()),
        None,
    )
    .await;
    assert_eq!(create(&s, &b, &kb, "instC/*", "bKey1").await.0, 200);
    assert!(
        common::eventually(Duration::from_secs(1), || async {
            on_other("instC", "cam1", "bKey1").await == 200
        })
        .await
        .is_some(),
        "the new owner's DirPath is unknown to the other instance after 1 s"
    );
    assert_eq!(on_other("instC", "cam1", "aKey1").await, 403);
    other.stop().await;
}

// ---- The store, on both backends ----------------------------------------------------------------

fn account(number: &str) -> Account {
    Account {
        id: Uuid::now_v7(),
        name: format!("acct {number}"),
        number: AccountNumber::parse(number).unwrap(),
        created_at: 1_000,
    }
}

fn dir_key(id: i64, scope: Scope, dir_path: &str, at: i64) -> StreamKeyRecord {
    StreamKeyRecord {
        id,
        account_id: scope.account_id,
        environment: scope.environment,
        dir_path: dir_path.into(),
        key_sealed: "sealed".into(),
        created_at: at,
        updated_at: at,
    }
}

fn prod(a: &Account) -> Scope {
    Scope {
        account_id: a.id,
        environment: Environment::Production,
    }
}

async fn found(store: &dyn streamgate::store::Store, instance: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .stream_keys_for_instance(instance)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.dir_path)
        .collect();
    v.sort();
    v
}

async fn store_claims_and_releases(db: &TestDb) {
    let store = db.store().await;
    let (a, b) = (account("0a01"), account("0b01"));
    store.insert_account(&a).await.unwrap();
    store.insert_account(&b).await.unwrap();
    let sandbox_a = Scope {
        account_id: a.id,
        environment: Environment::Sandbox,
    };
    store
        .insert_stream_key(&dir_key(1, prod(&a), "inst/cam1", 1))
        .await
        .unwrap();
    for (id, scope, dir) in [
        (2, prod(&b), "inst/cam2"),
        (3, prod(&b), "Inst/*"),
        (4, sandbox_a, "inst/cam3"),
    ] {
        let refused = store.insert_stream_key(&dir_key(id, scope, dir, 2)).await;
        assert!(
            matches!(refused, Err(StoreError::Owned(_))),
            "{dir}: {refused:?}"
        );
    }
    assert_eq!(found(store.as_ref(), "inst").await, ["inst/cam1"]);
    assert_eq!(store.instance_owner("INST").await.unwrap(), Some(prod(&a)));
    // An update into an owned instance is refused and changes nothing.
    store
        .insert_stream_key(&dir_key(5, prod(&b), "elsewhere/cam1", 3))
        .await
        .unwrap();
    let refused = store
        .update_stream_key(&dir_key(5, prod(&b), "inst/cam9", 4))
        .await;
    assert!(matches!(refused, Err(StoreError::Owned(_))), "{refused:?}");
    assert_eq!(found(store.as_ref(), "elsewhere").await, ["elsewhere/cam1"]);
    // Release with the last DirPath, on delete and on a move.
    assert!(store.delete_stream_key(prod(&a), 1, 5).await.unwrap());
    assert_eq!(store.instance_owner("inst").await.unwrap(), None);
    assert!(store
        .update_stream_key(&dir_key(5, prod(&b), "inst/cam9", 6))
        .await
        .unwrap());
    assert_eq!(store.instance_owner("inst").await.unwrap(), Some(prod(&b)));
    assert_eq!(store.instance_owner("elsewhere").await.unwrap(), None);
    // A refused or missing write releases nothing.
    assert!(!store.delete_stream_key(prod(&a), 5, 7).await.unwrap());
    assert_eq!(store.instance_owner("inst").await.unwrap(), Some(prod(&b)));
}

async fn store_concurrent_claims(db: &TestDb) {
    let store = db.store().await;
    let accounts: Vec<Account> = (0..4).map(|i| account(&format!("0c0{i}"))).collect();
    for a in &accounts {
        store.insert_account(a).await.unwrap();
    }
    let mut id = 100;
    for round in 0..15 {
        let mut tasks = vec![];
        for a in &accounts {
            id += 1;
            let (store, rec) = (
                store.clone(),
                dir_key(id, prod(a), &format!("race{round}/cam"), 1),
            );
            tasks.push(tokio::spawn(
                async move { store.insert_stream_key(&rec).await },
            ));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => won += 1,
                Err(StoreError::Owned(_)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one claim wins");
        assert_eq!(
            found(store.as_ref(), &format!("race{round}")).await.len(),
            1
        );
    }
}

/// The migration's rule for data from before ownership: each instance goes to its
/// earliest-created DirPath's account; the others' DirPaths stay but ingest ignores them.
async fn migration_gives_the_earliest(db: &TestDb) {
    let store = db.store().await;
    let (a, b) = (account("0d01"), account("0d02"));
    store.insert_account(&a).await.unwrap();
    store.insert_account(&b).await.unwrap();
    // Two accounts' DirPaths in one instance, as they could be stored before: written around
    // the ownership rule, which is then rebuilt by the migration's own statement.
    for (id, scope, dir, at) in [
        (1, prod(&a), "old/cam1", 20),
        (2, prod(&b), "OLD/*", 10),
        (3, prod(&a), "solo/cam1", 30),
    ] {
        store
            .insert_stream_key(&dir_key(id, scope, &format!("tmp{id}/x"), at))
            .await
            .unwrap();
        raw(
            db,
            &format!("UPDATE edgecast_stream_keys SET dir_path = '{dir}' WHERE id = {id}"),
        )
        .await;
    }
    raw(db, "DELETE FROM edgecast_instances").await;
    let migration = match db.backend {
        Backend::Sqlite => {
            include_str!("../../crates/store/migrations/sqlite/0016_instance_owners.sql")
        }
        Backend::Postgres => {
            include_str!("../../crates/store/migrations/postgres/0016_instance_owners.sql")
        }
    };
    let insert = &migration[migration.find("INSERT INTO edgecast_instances").unwrap()..];
    raw(db, insert).await;
    assert_eq!(store.instance_owner("old").await.unwrap(), Some(prod(&b)));
    assert_eq!(store.instance_owner("solo").await.unwrap(), Some(prod(&a)));
    assert_eq!(found(store.as_ref(), "OLD").await, ["OLD/*"]);
    assert!(
        found(store.as_ref(), "old").await.is_empty(),
        "A's is ignored"
    );
    // A may delete its ignored DirPath (B keeps the instance), not move it within the instance.
    let refused = store
        .update_stream_key(&dir_key(1, prod(&a), "old/cam2", 40))
        .await;
    assert!(matches!(refused, Err(StoreError::Owned(_))), "{refused:?}");
    assert!(store.delete_stream_key(prod(&a), 1, 41).await.unwrap());
    assert_eq!(store.instance_owner("old").await.unwrap(), Some(prod(&b)));
}

async fn raw(db: &TestDb, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod store_sqlite {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                super::$name(&TestDb::new(Backend::Sqlite).await).await;
            })*
        }
        mod store_postgres {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                super::$name(&TestDb::new(Backend::Postgres).await).await;
            })*
        }
    };
}

store_suite!(
    store_claims_and_releases,
    store_concurrent_claims,
    migration_gives_the_earliest
);
