//! One store test suite, run unchanged against SQLite and PostgreSQL.

use streamgate::domain::{Account, AccountNumber, ApiKey, Cors, Environment, Role, User};
use streamgate::store::{Store, StoreError};
use streamgate::testkit::{Backend, TestDb};
use uuid::Uuid;

fn account(number: &str) -> Account {
    Account {
        id: Uuid::now_v7(),
        name: format!("acct {number}"),
        number: AccountNumber::parse(number).unwrap(),
        created_at: 1_000,
    }
}

fn key(account_id: Uuid, name: &str) -> (ApiKey, [u8; 32]) {
    let id = Uuid::now_v7();
    let k = ApiKey {
        id,
        account_id,
        name: name.into(),
        environment: Environment::Sandbox,
        prefix: "sg_sandbox_abcdefgh".into(),
        cors: Cors::new(vec!["https://a.example".into(), "*".into()], true).unwrap(),
        created_at: 2_000,
        last_used_at: None,
        expires_at: Some(9_000),
        revoked_at: None,
    };
    (k, streamgate::crypto::sha256(id.as_bytes()))
}

async fn accounts(store: &dyn Store) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let a = account("00a1");
    store.insert_account(&a).await.unwrap();
    assert_eq!(store.account_by_id(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.account_by_number("00A1").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.account_by_number("00A2").await.unwrap(), None);
    let dup = store.insert_account(&account("00A1")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    store.insert_account(&account("0002")).await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 2);
    let numbers: Vec<String> = store
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.number.to_string())
        .collect();
    assert_eq!(numbers, vec!["0002", "00A1"]);
}

async fn users(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    let u = User {
        id: Uuid::now_v7(),
        account_id: a.id,
        username: "ops".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Member,
        created_at: 5,
    };
    store.insert_user(&u).await.unwrap();
    assert_eq!(
        store.user_by_username("ops").await.unwrap(),
        Some(u.clone())
    );
    assert!(matches!(
        store
            .insert_user(&User {
                id: Uuid::now_v7(),
                ..u
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);
}

async fn api_keys(store: &dyn Store) {
    let a = account("0001");
    let b = account("0002");
    store.insert_account(&a).await.unwrap();
    store.insert_account(&b).await.unwrap();
    let (k1, h1) = key(a.id, "one");
    let (k2, h2) = key(a.id, "two");
    let (kb, hb) = key(b.id, "other");
    for (k, h) in [(&k1, &h1), (&k2, &h2), (&kb, &hb)] {
        store.insert_api_key(k, h).await.unwrap();
    }
    assert_eq!(store.api_key_by_hash(&h1).await.unwrap(), Some(k1.clone()));
    assert_eq!(store.api_key_by_hash(&[7; 32]).await.unwrap(), None);
    assert_eq!(store.api_key_by_id(k2.id).await.unwrap(), Some(k2.clone()));
    // Listing is scoped to the account.
    let listed = store.list_api_keys(a.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    // The same hash twice is refused.
    let (mut again, _) = key(a.id, "dup");
    again.id = Uuid::now_v7();
    assert!(matches!(
        store.insert_api_key(&again, &h1).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn revocation_is_logged_once(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    let (k, h) = key(a.id, "k");
    store.insert_api_key(&k, &h).await.unwrap();
    let after_create = store.latest_change().await.unwrap();
    assert!(after_create > 0);
    let revoked = store.revoke_api_key(k.id, 3_000).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(3_000));
    // Revoking again keeps the first time and logs nothing new.
    let again = store.revoke_api_key(k.id, 4_000).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(3_000));
    let changes = store.changes_since(after_create, 100).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, "api_key.revoked");
    assert_eq!(changes[0].key_hash.as_deref(), Some(&h[..]));
    assert_eq!(store.revoke_api_key(Uuid::now_v7(), 1).await.unwrap(), None);
}

async fn changes_are_ordered_and_paged(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    for i in 0..5 {
        let (k, h) = key(a.id, &format!("k{i}"));
        store.insert_api_key(&k, &h).await.unwrap();
    }
    let all = store.changes_since(0, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let page = store.changes_since(all[1].seq, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![all[2].seq, all[3].seq]
    );
    assert_eq!(store.latest_change().await.unwrap(), all[4].seq);
}

async fn old_changes_are_pruned_but_never_the_newest(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    for (i, at) in [100, 200, 300].into_iter().enumerate() {
        let (mut k, h) = key(a.id, &format!("k{i}"));
        k.created_at = at;
        store.insert_api_key(&k, &h).await.unwrap();
    }
    let newest = store.latest_change().await.unwrap();
    assert_eq!(store.prune_changes(250).await.unwrap(), 2);
    assert_eq!(store.changes_since(0, 10).await.unwrap().len(), 1);
    // Even when everything is old, the newest entry stays, so followers know where the log is.
    assert_eq!(store.prune_changes(10_000).await.unwrap(), 0);
    assert_eq!(store.latest_change().await.unwrap(), newest);
}

async fn last_used_never_moves_back(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    let (k, h) = key(a.id, "k");
    store.insert_api_key(&k, &h).await.unwrap();
    store.touch_api_keys(&[(k.id, 50_000)]).await.unwrap();
    store
        .touch_api_keys(&[(k.id, 40_000), (Uuid::now_v7(), 1)])
        .await
        .unwrap();
    assert_eq!(
        store
            .api_key_by_id(k.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(50_000)
    );
    store.touch_api_keys(&[]).await.unwrap();
}

async fn bulk_insert(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    let keys: Vec<_> = (0..2_500).map(|i| key(a.id, &format!("bulk{i}"))).collect();
    store.insert_api_keys_bulk(&keys).await.unwrap();
    assert_eq!(store.list_api_keys(a.id).await.unwrap().len(), 2_500);
    assert_eq!(
        store
            .api_key_by_hash(&keys[2_499].1)
            .await
            .unwrap()
            .map(|k| k.name),
        Some("bulk2499".into())
    );
}

async fn survives_reopening(db: &TestDb) {
    let a = account("0001");
    {
        let store = db.store().await;
        store.insert_account(&a).await.unwrap();
    }
    let reopened = db.store().await;
    assert_eq!(reopened.account_by_id(a.id).await.unwrap(), Some(a));
    // Migrating twice is harmless.
    reopened.migrate().await.unwrap();
    reopened.ping().await.unwrap();
}

macro_rules! suite {
    ($backend:ident, $($name:ident),* $(,)?) => {
        #[allow(non_snake_case)]
        mod $backend {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let db = TestDb::new(Backend::$backend).await;
                    let store = db.store().await;
                    super::$name(store.as_ref()).await;
                }
            )*

            #[tokio::test]
            async fn survives_reopening() {
                let db = TestDb::new(Backend::$backend).await;
                super::survives_reopening(&db).await;
            }
        }
    };
}

macro_rules! suites {
    ($($name:ident),* $(,)?) => {
        suite!(Sqlite, $($name),*);
        suite!(Postgres, $($name),*);
    };
}

suites!(
    accounts,
    users,
    api_keys,
    revocation_is_logged_once,
    changes_are_ordered_and_paged,
    old_changes_are_pruned_but_never_the_newest,
    last_used_never_moves_back,
    bulk_insert
);
