//! One store test suite, run unchanged against SQLite and PostgreSQL.

use streamgate::domain::webhook::Flavor;
use streamgate::domain::{
    Account, AccountNumber, After, ApiKey, AuditEvent, Cors, Environment, Lockout, Role, Session,
    User,
};
use streamgate::store::{
    GroupWrite, RefreshRecord, RefreshUse, Scope, SessionRecord, SigningKeyRecord, Store,
    StoreError, StreamRecord, TargetRecord, UsageCount,
};
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
        policy: Default::default(),
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
    let listed = store.list_api_keys(a.id, None).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    // …and, when asked, to one environment (the SQL filters, not the caller).
    let (mut prod, hp) = key(a.id, "prod");
    prod.environment = Environment::Production;
    store.insert_api_key(&prod, &hp).await.unwrap();
    let names = |keys: Vec<ApiKey>| keys.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .list_api_keys(a.id, Some(Environment::Sandbox))
                .await
                .unwrap()
        ),
        vec!["one", "two"]
    );
    assert_eq!(
        names(
            store
                .list_api_keys(a.id, Some(Environment::Production))
                .await
                .unwrap()
        ),
        vec!["prod"]
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
    assert_eq!(store.list_api_keys(a.id, None).await.unwrap().len(), 2_500);
    assert_eq!(
        store
            .api_key_by_hash(&keys[2_499].1)
            .await
            .unwrap()
            .map(|k| k.name),
        Some("bulk2499".into())
    );
}

fn stream_record(a: &Account, env: Environment, name: &str, at: i64) -> StreamRecord {
    let id = Uuid::now_v7();
    StreamRecord {
        id,
        account_id: a.id,
        environment: env,
        name: name.into(),
        key_hash: streamgate::crypto::sha256(name.as_bytes()).to_vec(),
        key_sealed: format!("v1.1.sealed-{name}"),
        playback_id: format!("pb{}", id.simple()),
        record: false,
        suspended: false,
        is_active: false,
        settings: "{}".into(),
        created_by: Some("k".into()),
        created_at: at,
        updated_at: at,
        last_seen_at: None,
        deleted_at: None,
    }
}

async fn streams_are_scoped_paged_and_soft_deleted(store: &dyn Store) {
    let a = account("0001");
    let b = account("0002");
    store.insert_account(&a).await.unwrap();
    store.insert_account(&b).await.unwrap();
    let prod = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    let mut ids = vec![];
    for i in 0..5 {
        let r = stream_record(&a, Environment::Production, &format!("s{i}"), 1_000 + i / 2);
        store.insert_stream(&r).await.unwrap();
        ids.push(r.id);
    }
    let sandbox = stream_record(&a, Environment::Sandbox, "sb", 1_000);
    store.insert_stream(&sandbox).await.unwrap();
    let other = stream_record(&b, Environment::Production, "other", 1_000);
    store.insert_stream(&other).await.unwrap();
    // The same key hash cannot name two streams.
    let mut dup = stream_record(&a, Environment::Production, "s0", 5);
    dup.playback_id = "unique-pb".into();
    assert!(matches!(
        store.insert_stream(&dup).await,
        Err(StoreError::Conflict(_))
    ));

    // Scope: another account's or environment's stream is invisible.
    assert!(store.stream(prod, other.id).await.unwrap().is_none());
    assert!(store.stream(prod, sandbox.id).await.unwrap().is_none());
    let got = store.stream(prod, ids[0]).await.unwrap().unwrap();
    assert_eq!(got.key_sealed, "v1.1.sealed-s0");

    // Keyset paging, oldest first, ties broken by id, no item twice.
    let mut seen = vec![];
    let mut after: Option<After> = None;
    loop {
        let page = store.list_streams(prod, after.as_ref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(After {
            created_at: last.created_at,
            id: last.id,
        });
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen, ids);

    // Update with a change entry; soft delete hides it from lookups but not from the key index.
    let before = store.latest_change().await.unwrap();
    let suspend = |mut r: StreamRecord| {
        r.suspended = true;
        r.name = "renamed".into();
        // What publishing changes is not the update's to write.
        r.is_active = true;
        Ok((r, Some("stream.suspended")))
    };
    let r = store
        .update_stream(prod, got.id, &suspend)
        .await
        .unwrap()
        .unwrap();
    assert!(r.suspended);
    assert_eq!(r.name, "renamed");
    assert!(!r.is_active);
    let changes = store.changes_since(before, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, "stream.suspended");
    assert_eq!(changes[0].key_hash.as_deref(), Some(&got.key_hash[..]));
    // Another scope's stream is not found, and a refusal writes nothing.
    let b_scope = Scope {
        account_id: b.id,
        environment: Environment::Production,
    };
    assert!(store
        .update_stream(b_scope, got.id, &suspend)
        .await
        .unwrap()
        .is_none());
    let refuse = |_: StreamRecord| Err(streamgate::domain::Error::Invalid("no".into()));
    assert!(matches!(
        store.update_stream(prod, got.id, &refuse).await,
        Err(StoreError::Refused(_))
    ));
    assert!(!store.delete_stream(b_scope, got.id, 9_999).await.unwrap());
    assert!(store.delete_stream(prod, got.id, 9_999).await.unwrap());
    let changes = store.changes_since(before, 10).await.unwrap();
    assert_eq!(changes.last().unwrap().kind, "stream.deleted");
    assert!(store.stream(prod, r.id).await.unwrap().is_none());
    assert!(
        store
            .update_stream(prod, r.id, &suspend)
            .await
            .unwrap()
            .is_none(),
        "a deleted stream stays deleted"
    );
    assert!(!store.delete_stream(prod, r.id, 10_000).await.unwrap());
    let by_hash = store
        .stream_by_key_hash(&got.key_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.deleted_at, Some(9_999));
    assert!(by_hash.suspended);
    assert_eq!(store.list_streams(prod, None, 100).await.unwrap().len(), 4);
}

async fn sessions_and_targets(store: &dyn Store) {
    let a = account("0001");
    let b = account("0002");
    store.insert_account(&a).await.unwrap();
    store.insert_account(&b).await.unwrap();
    let scope_a = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    let scope_b = Scope {
        account_id: b.id,
        environment: Environment::Production,
    };
    let s = stream_record(&a, Environment::Production, "cam", 1_000);
    store.insert_stream(&s).await.unwrap();
    for (i, ended) in [(0, Some(1_500)), (1, None)] {
        store
            .insert_session(&Session {
                id: Uuid::now_v7(),
                stream_id: s.id,
                account_id: a.id,
                environment: Environment::Production,
                ingest: "nginx-rtmp".into(),
                client_addr: Some("127.0.0.1".into()),
                started_at: 1_000 + i,
                ended_at: ended,
                record: i == 1,
            })
            .await
            .unwrap();
    }
    let sessions = store.list_sessions(scope_a, s.id, None).await.unwrap();
    assert_eq!(sessions.len(), 2);
    // By whether they were recorded.
    let recorded = store
        .list_sessions(scope_a, s.id, Some(true))
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].record && recorded[0].started_at == 1_001);
    let plain = store
        .list_sessions(scope_a, s.id, Some(false))
        .await
        .unwrap();
    assert_eq!(plain.len(), 1);
    assert!(!plain[0].record);
    // The scope's sessions a page at a time, newest first, after a keyset cursor.
    let first = store.sessions_page(scope_a, None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].started_at, 1_001);
    let after = streamgate::domain::After {
        created_at: first[0].started_at,
        id: first[0].id,
    };
    let second = store
        .sessions_page(scope_a, Some(&after), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].started_at, 1_000);
    assert!(store
        .sessions_page(scope_b, None, 10)
        .await
        .unwrap()
        .is_empty());
    let recent = store.recent_sessions(scope_a, 0, 1).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].started_at, 1_001, "the newest across the scope");
    assert!(store
        .recent_sessions(scope_b, 0, 10)
        .await
        .unwrap()
        .is_empty());
    // Since a time: the open session, and one that ended at or after it.
    assert_eq!(
        store
            .recent_sessions(scope_a, 1_500, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let open = store.recent_sessions(scope_a, 1_501, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].ended_at.is_none());
    assert!(
        sessions[0].started_at > sessions[1].started_at,
        "newest first"
    );
    assert_eq!(
        store
            .session(scope_a, sessions[0].id)
            .await
            .unwrap()
            .as_ref(),
        Some(&sessions[0])
    );
    assert!(store
        .session(scope_b, sessions[0].id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .list_sessions(scope_b, s.id, None)
        .await
        .unwrap()
        .is_empty());

    let t = TargetRecord {
        id: Uuid::now_v7(),
        account_id: a.id,
        environment: Environment::Production,
        name: "yt".into(),
        url_sealed: "v1.1.sealed-url".into(),
        disabled: false,
        created_at: 1_000,
    };
    store.insert_target(&t).await.unwrap();
    assert!(store.target(scope_b, t.id).await.unwrap().is_none());
    let edit = |mut t2: TargetRecord| {
        t2.disabled = true;
        t2.name = "yt2".into();
        Ok(t2)
    };
    let t2 = store
        .update_target(scope_a, t.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert!(t2.disabled);
    assert!(
        store
            .update_target(scope_b, t.id, &edit)
            .await
            .unwrap()
            .is_none(),
        "scope is part of the update"
    );
    assert_eq!(store.list_targets(scope_a).await.unwrap()[0].name, "yt2");
    assert!(!store.delete_target(scope_b, t.id, 2_000).await.unwrap());
    assert!(store.delete_target(scope_a, t.id, 2_000).await.unwrap());
    assert!(store.target(scope_a, t.id).await.unwrap().is_none());
    assert!(store.list_targets(scope_a).await.unwrap().is_empty());
}

async fn refresh_tokens_are_single_use(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    let (k, h) = key(a.id, "k");
    store.insert_api_key(&k, &h).await.unwrap();
    let family = Uuid::now_v7();
    let rec = |hash: &[u8], fam: Uuid| RefreshRecord {
        id: Uuid::now_v7(),
        family_id: fam,
        api_key_id: k.id,
        token_hash: hash.to_vec(),
        issued_at: 1_000,
        expires_at: 9_000,
        used_at: None,
        revoked_at: None,
    };
    store.insert_refresh(&rec(b"t1", family)).await.unwrap();
    store.insert_refresh(&rec(b"t2", family)).await.unwrap();
    store
        .insert_refresh(&rec(b"other", Uuid::now_v7()))
        .await
        .unwrap();
    assert!(
        matches!(store.use_refresh(b"t1", 2_000).await.unwrap(), RefreshUse::Used(r) if r.used_at == Some(2_000))
    );
    assert!(matches!(
        store.use_refresh(b"t1", 2_001).await.unwrap(),
        RefreshUse::Replayed(_)
    ));
    // The replay revoked the rest of the family, not other families.
    assert!(matches!(
        store.use_refresh(b"t2", 2_002).await.unwrap(),
        RefreshUse::Replayed(_)
    ));
    assert_eq!(
        store.use_refresh(b"nope", 2_003).await.unwrap(),
        RefreshUse::Unknown
    );
    assert_eq!(
        store.revoke_refresh_for_key(k.id, 3_000).await.unwrap(),
        1,
        "only `other` was live"
    );
    assert!(matches!(
        store.use_refresh(b"other", 3_001).await.unwrap(),
        RefreshUse::Replayed(_)
    ));

    let sk = |kid: &str, at: i64| SigningKeyRecord {
        kid: kid.into(),
        public_key: vec![1; 32],
        private_sealed: "v1.1.x".into(),
        created_at: at,
        retired_at: None,
    };
    store.insert_signing_key(&sk("a", 1)).await.unwrap();
    store.insert_signing_key(&sk("b", 2)).await.unwrap();
    assert_eq!(store.retire_signing_keys_except("b", 5).await.unwrap(), 1);
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.kid.as_str(), k.retired_at))
            .collect::<Vec<_>>(),
        [("b", None), ("a", Some(5))]
    );

    let ev = AuditEvent {
        id: Uuid::now_v7(),
        account_id: Some(a.id),
        actor: "key:x".into(),
        action: "refresh_token.reuse".into(),
        object: "token_family:y".into(),
        outcome: "family_revoked".into(),
        detail: "d".into(),
        at: 7,
        environment: None,
    };
    store.insert_audit(&ev).await.unwrap();
    assert_eq!(store.list_audit(a.id, 10).await.unwrap(), vec![ev]);
}

async fn usage_counts_add_up_bucket_and_prune(store: &dyn Store) {
    let a = account("0c01");
    store.insert_account(&a).await.unwrap();
    let (k1, k2) = (Uuid::now_v7(), Uuid::now_v7());
    let c = |key_id, kind, bucket, count| UsageCount {
        account_id: a.id,
        key_id,
        kind,
        bucket,
        count,
    };
    // Two flushes of the same minute add up.
    store
        .add_usage(&[c(k1, "request", 60_000, 3), c(k2, "request", 120_000, 1)])
        .await
        .unwrap();
    store
        .add_usage(&[
            c(k1, "request", 60_000, 2),
            c(k1, "auth_failure", 180_000, 4),
        ])
        .await
        .unwrap();
    let minutes = store.usage_series(a.id, 0, 60_000).await.unwrap();
    assert!(minutes.contains(&(k1, "request".into(), 60_000, 5)));
    assert!(minutes.contains(&(k2, "request".into(), 120_000, 1)));
    assert!(minutes.contains(&(k1, "auth_failure".into(), 180_000, 4)));
    // Summed into wider buckets, and only from `since`.
    let hours = store.usage_series(a.id, 0, 3_600_000).await.unwrap();
    assert!(hours.contains(&(k1, "request".into(), 0, 5)));
    assert_eq!(
        store
            .usage_series(a.id, 120_000, 60_000)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store
        .usage_series(Uuid::now_v7(), 0, 60_000)
        .await
        .unwrap()
        .is_empty());
    // Pruning drops what is older than the cut.
    assert_eq!(store.prune_usage(120_000).await.unwrap(), 1);
    assert_eq!(store.usage_series(a.id, 0, 60_000).await.unwrap().len(), 2);
}

async fn dashboard_sessions_expire_and_end_with_their_user(store: &dyn Store) {
    let a = account("0c02");
    store.insert_account(&a).await.unwrap();
    let u = User {
        id: Uuid::now_v7(),
        account_id: a.id,
        username: "sess".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
        role: Role::Member,
        created_at: 1,
    };
    store.insert_user(&u).await.unwrap();
    let session = |n: u8, expires_at| SessionRecord {
        id_hash: [n; 32],
        user_id: u.id,
        csrf: "c".repeat(32),
        environment: Environment::Production,
        created_at: 10,
        expires_at,
    };
    store
        .insert_login_session(&session(1, 1_000))
        .await
        .unwrap();
    store
        .insert_login_session(&session(2, 5_000))
        .await
        .unwrap();
    assert_eq!(
        store.login_session(&[1; 32], 999).await.unwrap(),
        Some(session(1, 1_000))
    );
    assert_eq!(
        store.login_session(&[1; 32], 1_000).await.unwrap(),
        None,
        "expired"
    );
    store
        .set_login_session_environment(&[2; 32], Environment::Sandbox)
        .await
        .unwrap();
    assert_eq!(
        store
            .login_session(&[2; 32], 0)
            .await
            .unwrap()
            .unwrap()
            .environment,
        Environment::Sandbox
    );
    // A password change keeps one session and ends the others.
    store
        .set_password(u.id, "$argon2id$new", &[2; 32])
        .await
        .unwrap();
    assert!(store.login_session(&[1; 32], 0).await.unwrap().is_none());
    assert!(store.login_session(&[2; 32], 0).await.unwrap().is_some());
    assert_eq!(
        store.user_by_id(u.id).await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    // Sign-in attempts by (user name, client), known name or not.
    sign_in_attempts(store).await;
    // Removing the user ends its sessions in the same transaction.
    assert!(store.delete_user(u.id).await.unwrap());
    assert!(store.login_session(&[2; 32], 0).await.unwrap().is_none());
    assert!(!store.delete_user(u.id).await.unwrap());
}

/// Attempts count per (user name, client) since the last success; from the fifth, each locks
/// the pair for 1 s, 2 s, 4 s …; a locked pair's attempt is not counted; a success clears only
/// its own pair; old pairs are pruned.
async fn sign_in_attempts(store: &dyn Store) {
    let policy = Lockout::DEFAULT;
    let now = 1_000_000;
    for n in 1..=4 {
        assert_eq!(
            store
                .count_sign_in_attempt("nobody", "192.0.2.1", now, policy)
                .await
                .unwrap(),
            Some(n)
        );
        assert_eq!(
            store
                .sign_in_locked_until("nobody", "192.0.2.1", now)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.1", now, policy)
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        store
            .sign_in_locked_until("nobody", "192.0.2.1", now)
            .await
            .unwrap(),
        Some(now + 1_000)
    );
    // Locked: refused, and not counted.
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.1", now + 999, policy)
            .await
            .unwrap(),
        None
    );
    // Another client, or another name, is its own pair.
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.2", now, policy)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .count_sign_in_attempt("somebody", "192.0.2.1", now, policy)
            .await
            .unwrap(),
        Some(1)
    );
    // After the lock: one more attempt, which locks twice as long.
    let later = now + 1_000;
    assert_eq!(
        store
            .sign_in_locked_until("nobody", "192.0.2.1", later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.1", later, policy)
            .await
            .unwrap(),
        Some(6)
    );
    assert_eq!(
        store
            .sign_in_locked_until("nobody", "192.0.2.1", later)
            .await
            .unwrap(),
        Some(later + 2_000)
    );
    // Far on, the lock stops growing at 15 minutes.
    let mut t = later;
    for n in 7..=20 {
        t += 15 * 60_000;
        assert_eq!(
            store
                .count_sign_in_attempt("nobody", "192.0.2.1", t, policy)
                .await
                .unwrap(),
            Some(n)
        );
        assert_eq!(
            store
                .sign_in_locked_until("nobody", "192.0.2.1", t)
                .await
                .unwrap(),
            Some(t + policy.lock_ms(n))
        );
    }
    assert_eq!(policy.lock_ms(20), 15 * 60_000);
    // A success clears its own pair only.
    store
        .clear_sign_in_attempts("nobody", "192.0.2.1")
        .await
        .unwrap();
    assert_eq!(
        store
            .sign_in_locked_until("nobody", "192.0.2.1", t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.1", t, policy)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .count_sign_in_attempt("nobody", "192.0.2.2", t, policy)
            .await
            .unwrap(),
        Some(2)
    );
    // Pruning forgets pairs whose last attempt is older than the cut and whose lock has ended.
    assert_eq!(
        store.prune_sign_in_attempts(now + 1).await.unwrap(),
        1,
        "somebody's"
    );
    assert_eq!(
        store
            .count_sign_in_attempt("somebody", "192.0.2.1", t, policy)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(store.prune_sign_in_attempts(t + 1).await.unwrap(), 3);
}

/// Ingest finds stream keys by the DirPath's instance (its first segment): exactly that instance,
/// whatever the media server sends as the app name (`%` and `_` are not patterns).
async fn stream_keys_are_found_by_instance(store: &dyn Store) {
    let a = account("0001");
    store.insert_account(&a).await.unwrap();
    for (id, dir_path) in [
        (1, "live/one"),
        (2, "live/two*"),
        (3, "live2/x"),
        (4, "liv/x"),
        (5, "Live/x"),
        (6, "li_e/x"),
    ] {
        store
            .insert_stream_key(&streamgate::store::StreamKeyRecord {
                id,
                account_id: a.id,
                environment: Environment::Production,
                dir_path: dir_path.into(),
                key_sealed: "sealed".into(),
                created_at: 1,
                updated_at: 1,
            })
            .await
            .unwrap();
    }
    let found = |instance: &'static str| async move {
        let mut paths: Vec<String> = store
            .stream_keys_for_instance(instance)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.dir_path)
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(found("live").await, ["live/one", "live/two*"]);
    assert_eq!(found("live2").await, ["live2/x"]);
    assert_eq!(found("Live").await, ["Live/x"], "case matters");
    assert_eq!(found("li_e").await, ["li_e/x"]);
    for nothing in ["%", "_", "liv%", "l_ve", "nope", ""] {
        assert!(found(nothing).await.is_empty(), "{nothing:?}");
    }
}

/// Writes the ingest hooks' caches depend on log a change in the same transaction: a stream's
/// creation (with its key hash), and every creation, change and deletion of a stream key.
async fn stream_and_stream_key_writes_log_changes(store: &dyn Store) {
    use streamgate::store::stream_keys::STREAM_KEY_CHANGED;
    use streamgate::store::streams::STREAM_CREATED;
    let a = account("0e01");
    store.insert_account(&a).await.unwrap();
    let scope = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    let start = store.latest_change().await.unwrap();
    let s = stream_record(&a, Environment::Production, "cam", 1_000);
    store.insert_stream(&s).await.unwrap();
    let mut k = streamgate::store::StreamKeyRecord {
        id: 77,
        account_id: a.id,
        environment: Environment::Production,
        dir_path: "inst/cam".into(),
        key_sealed: "sealed".into(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_stream_key(&k).await.unwrap();
    k.dir_path = "inst/cam2".into();
    assert!(store.update_stream_key(&k).await.unwrap());
    assert!(store.delete_stream_key(scope, 77, 2).await.unwrap());
    // Nothing changed, nothing logged.
    assert!(!store.update_stream_key(&k).await.unwrap());
    assert!(!store.delete_stream_key(scope, 77, 3).await.unwrap());
    let changes = store.changes_since(start, 100).await.unwrap();
    let seen: Vec<(&str, &str, Option<&[u8]>)> = changes
        .iter()
        .map(|c| (c.kind.as_str(), c.object_id.as_str(), c.key_hash.as_deref()))
        .collect();
    let id = s.id.to_string();
    assert_eq!(
        seen,
        [
            (STREAM_CREATED, id.as_str(), Some(&s.key_hash[..])),
            (STREAM_KEY_CHANGED, "77", None),
            (STREAM_KEY_CHANGED, "77", None),
            (STREAM_KEY_CHANGED, "77", None),
        ]
    );
}

/// An event's webhooks: the scope's live ones, oldest first, never another scope's or a deleted one.
async fn scope_webhooks_are_live_and_scoped(store: &dyn Store) {
    use streamgate::domain::Webhook;
    let a = account("0f01");
    store.insert_account(&a).await.unwrap();
    let hook = |env, at| Webhook {
        id: Uuid::now_v7(),
        account_id: a.id,
        environment: env,
        url: format!("https://example.com/{at}"),
        events: vec!["live-stream.broadcast.started".into()],
        secret_sealed: "sealed".into(),
        created_at: at,
        credential_label: None,
        flavor: Flavor::ApiVideo,
        name: None,
        stream_id: None,
    };
    let (first, second, gone, sandbox) = (
        hook(Environment::Production, 2),
        hook(Environment::Production, 1),
        hook(Environment::Production, 3),
        hook(Environment::Sandbox, 4),
    );
    for w in [&first, &second, &gone, &sandbox] {
        store.insert_webhook(w).await.unwrap();
    }
    let scope = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    assert!(store
        .delete_webhook(scope, Flavor::ApiVideo, gone.id, 5)
        .await
        .unwrap());
    let ids: Vec<Uuid> = store
        .scope_webhooks(scope, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, [second.id, first.id]);
    assert_eq!(store.scope_webhooks(scope, 1).await.unwrap().len(), 1);
}

/// A webhook keeps its flavor, name and stream; a dialect's list, update and delete reach only
/// its own flavor's webhooks of the scope; deliveries queued on their own are kept.
async fn webhook_flavors_are_kept_and_scoped(store: &dyn Store) {
    use streamgate::domain::Webhook;
    use streamgate::store::DeliveryRecord;
    let a = account("0f02");
    store.insert_account(&a).await.unwrap();
    let scope = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    let stream = Uuid::now_v7();
    let hook = |flavor, events: &[&str], at| Webhook {
        id: Uuid::now_v7(),
        account_id: a.id,
        environment: Environment::Production,
        url: format!("https://example.com/{at}"),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret_sealed: "sealed".into(),
        created_at: at,
        credential_label: None,
        flavor,
        name: (flavor == Flavor::Livepeer).then(|| format!("hook {at}")),
        stream_id: (at == 3).then_some(stream),
    };
    let av = hook(Flavor::ApiVideo, &["live-stream.broadcast.started"], 1);
    let lp1 = hook(Flavor::Livepeer, &["stream.started", "stream.idle"], 2);
    let lp2 = hook(Flavor::Livepeer, &["stream.started"], 3);
    for w in [&av, &lp1, &lp2] {
        store.insert_webhook(w).await.unwrap();
    }
    let (got, total) = store
        .list_webhooks(scope, Flavor::Livepeer, None, 0, 10)
        .await
        .unwrap();
    assert_eq!((got, total), (vec![lp1.clone(), lp2.clone()], 2));
    let (got, total) = store
        .list_webhooks(scope, Flavor::Livepeer, Some("stream.idle"), 0, 10)
        .await
        .unwrap();
    assert_eq!((got, total), (vec![lp1.clone()], 1));
    let (got, total) = store
        .list_webhooks(scope, Flavor::Livepeer, None, 1, 1)
        .await
        .unwrap();
    assert_eq!((got, total), (vec![lp2.clone()], 2));
    let (got, _) = store
        .list_webhooks(scope, Flavor::ApiVideo, None, 0, 10)
        .await
        .unwrap();
    assert_eq!(got, vec![av.clone()]);
    assert_eq!(
        store.webhook(scope, lp2.id).await.unwrap(),
        Some(lp2.clone())
    );

    // An update names its flavor and scope: another's finds nothing.
    let mut changed = lp2.clone();
    changed.name = Some("renamed".into());
    changed.url = "https://example.com/new".into();
    changed.events = vec!["asset.ready".into()];
    changed.secret_sealed = "sealed again".into();
    changed.stream_id = None;
    let other_scope = Scope {
        account_id: a.id,
        environment: Environment::Sandbox,
    };
    assert!(!store.update_webhook(other_scope, &changed).await.unwrap());
    let mut wrong_flavor = changed.clone();
    wrong_flavor.flavor = Flavor::ApiVideo;
    assert!(!store.update_webhook(scope, &wrong_flavor).await.unwrap());
    assert_eq!(
        store.webhook(scope, lp2.id).await.unwrap(),
        Some(lp2.clone())
    );
    assert!(store.update_webhook(scope, &changed).await.unwrap());
    assert_eq!(
        store.webhook(scope, lp2.id).await.unwrap(),
        Some(changed.clone())
    );

    assert!(!store
        .delete_webhook(scope, Flavor::ApiVideo, lp1.id, 9)
        .await
        .unwrap());
    assert!(store
        .delete_webhook(scope, Flavor::Livepeer, lp1.id, 9)
        .await
        .unwrap());
    assert!(!store.update_webhook(scope, &lp1).await.unwrap(), "deleted");
    let (got, total) = store
        .list_webhooks(scope, Flavor::Livepeer, None, 0, 10)
        .await
        .unwrap();
    assert_eq!((got, total), (vec![changed.clone()], 1));

    let row = DeliveryRecord {
        id: Uuid::now_v7(),
        account_id: a.id,
        webhook_id: changed.id,
        event: "asset.ready".into(),
        body: r#"{"event":"asset.ready"}"#.into(),
        attempts: 0,
        next_attempt_at: 10,
        delivered_at: None,
        failed_at: None,
        last_error: None,
        created_at: 10,
    };
    store.queue_deliveries(&[]).await.unwrap();
    store
        .queue_deliveries(std::slice::from_ref(&row))
        .await
        .unwrap();
    assert_eq!(store.deliveries_for_account(a.id).await.unwrap(), vec![row]);
}

/// The delivery worker's page of due deliveries is fair — at most so many per endpoint and per
/// account, oldest first, skipping the saturated ones — and each attempt claims its row once.
async fn due_deliveries_are_fair_and_claimed_once(store: &dyn Store) {
    use streamgate::domain::Webhook;
    use streamgate::store::{DeliveryRecord, DueQuery};
    let (a, b) = (account("0e11"), account("0e12"));
    let mut hooks = Vec::new();
    for acct in [&a, &b] {
        store.insert_account(acct).await.unwrap();
    }
    for (acct, n) in [(&a, 2), (&b, 1)] {
        for i in 0..n {
            let w = Webhook {
                id: Uuid::now_v7(),
                account_id: acct.id,
                environment: Environment::Production,
                url: format!("https://example.com/{i}"),
                events: vec!["live-stream.broadcast.started".into()],
                secret_sealed: "sealed".into(),
                created_at: 1,
                credential_label: None,
                flavor: Flavor::ApiVideo,
                name: None,
                stream_id: None,
            };
            store.insert_webhook(&w).await.unwrap();
            hooks.push(w);
        }
    }
    let (wa1, wa2, wb) = (hooks[0].id, hooks[1].id, hooks[2].id);
    let delivery = |acct: &Account, hook: Uuid, due: i64| DeliveryRecord {
        id: Uuid::now_v7(),
        account_id: acct.id,
        webhook_id: hook,
        event: "live-stream.broadcast.started".into(),
        body: "{}".into(),
        attempts: 0,
        next_attempt_at: due,
        delivered_at: None,
        failed_at: None,
        last_error: None,
        created_at: due,
    };
    // A's backlog is older than B's one delivery.
    let mut a_rows: Vec<DeliveryRecord> = (0..5).map(|i| delivery(&a, wa1, 100 + i)).collect();
    a_rows.extend((0..5).map(|i| delivery(&a, wa2, 200 + i)));
    let b_row = delivery(&b, wb, 1_000);
    for (acct, rows) in [(&a, a_rows.clone()), (&b, vec![b_row.clone()])] {
        let st = stream_record(acct, Environment::Production, &acct.number.to_string(), 1);
        store.insert_stream(&st).await.unwrap();
        let done = store
            .write_group(&[GroupWrite::StartPublish {
                session: Session {
                    id: Uuid::now_v7(),
                    stream_id: st.id,
                    account_id: acct.id,
                    environment: Environment::Production,
                    ingest: "nginx-rtmp".into(),
                    client_addr: None,
                    started_at: 50,
                    ended_at: None,
                    record: false,
                },
                allow_concurrent: false,
                deliveries: rows,
                audit: AuditEvent {
                    id: Uuid::now_v7(),
                    account_id: Some(acct.id),
                    actor: "ingest:test".into(),
                    action: "ingest.publish".into(),
                    object: "app:live".into(),
                    outcome: "ok".into(),
                    detail: String::new(),
                    at: 50,
                    environment: None,
                },
            }])
            .await
            .unwrap();
        assert_eq!(done, [true]);
    }
    let q = |skip_accounts: Vec<Uuid>, skip_webhooks: Vec<Uuid>| DueQuery {
        now: 10_000,
        limit: 100,
        per_webhook: 2,
        per_account: 3,
        skip_accounts,
        skip_webhooks,
    };
    let ids = |rows: Vec<DeliveryRecord>| rows.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.due_deliveries(&q(vec![], vec![])).await.unwrap()),
        [a_rows[0].id, a_rows[1].id, a_rows[5].id, b_row.id],
        "two of one endpoint, three of one account, oldest first, and B's too"
    );
    assert_eq!(
        ids(store.due_deliveries(&q(vec![a.id], vec![])).await.unwrap()),
        [b_row.id]
    );
    assert_eq!(
        ids(store
            .due_deliveries(&q(vec![], vec![wa1, wb]))
            .await
            .unwrap()),
        [a_rows[5].id, a_rows[6].id]
    );
    let mut not_yet = q(vec![], vec![]);
    not_yet.now = 150;
    assert_eq!(
        ids(store.due_deliveries(&not_yet).await.unwrap()),
        [a_rows[0].id, a_rows[1].id]
    );

    // A claim succeeds once; the claimed row is due again only when its lease ends.
    assert!(store.claim_delivery(b_row.id, 1_000, 20_000).await.unwrap());
    assert!(!store.claim_delivery(b_row.id, 1_000, 20_000).await.unwrap());
    assert!(!ids(store.due_deliveries(&q(vec![], vec![])).await.unwrap()).contains(&b_row.id));
    let mut later = q(vec![], vec![]);
    later.now = 20_000;
    assert!(ids(store.due_deliveries(&later).await.unwrap()).contains(&b_row.id));
    store.mark_delivered(b_row.id, 20_001).await.unwrap();
    assert!(!ids(store.due_deliveries(&later).await.unwrap()).contains(&b_row.id));
    assert!(!store
        .claim_delivery(b_row.id, 20_000, 30_000)
        .await
        .unwrap());
}

/// Group writes: applied in order in one transaction, each reporting whether it took effect; a
/// failing write leaves nothing of the whole group behind.
async fn group_writes_are_ordered_and_all_or_nothing(store: &dyn Store) {
    let a = account("0d01");
    store.insert_account(&a).await.unwrap();
    let s = stream_record(&a, Environment::Production, "cam", 1_000);
    store.insert_stream(&s).await.unwrap();
    let scope = Scope {
        account_id: a.id,
        environment: Environment::Production,
    };
    let audit = |outcome: &str| AuditEvent {
        id: Uuid::now_v7(),
        account_id: Some(a.id),
        actor: "ingest:test".into(),
        action: "ingest.publish".into(),
        object: "app:live".into(),
        outcome: outcome.into(),
        detail: String::new(),
        at: 2_000,
        environment: None,
    };
    let session = |at| Session {
        id: Uuid::now_v7(),
        stream_id: s.id,
        account_id: a.id,
        environment: Environment::Production,
        ingest: "nginx-rtmp".into(),
        client_addr: Some("10.0.0.1".into()),
        started_at: at,
        ended_at: None,
        record: false,
    };
    let start = |at, outcome: &str| GroupWrite::StartPublish {
        session: session(at),
        allow_concurrent: false,
        deliveries: vec![],
        audit: audit(outcome),
    };
    let end = |at, outcome: &str| GroupWrite::EndPublish {
        stream_id: s.id,
        at,
        deliveries: vec![],
        audit: audit(outcome),
    };
    let done = store
        .write_group(&[
            start(2_000, "first"),
            start(2_001, "second"),
            GroupWrite::Audit(audit("plain")),
        ])
        .await
        .unwrap();
    assert_eq!(done, [true, false, true], "the second start sees the first");
    assert!(store.stream(scope, s.id).await.unwrap().unwrap().is_active);
    let sessions = store.list_sessions(scope, s.id, None).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].started_at, 2_000);
    let outcomes = |events: Vec<AuditEvent>| {
        let mut o: Vec<String> = events.into_iter().map(|e| e.outcome).collect();
        o.sort();
        o
    };
    assert_eq!(
        outcomes(store.list_audit(a.id, 10).await.unwrap()),
        ["first", "plain"],
        "a start that did not happen writes no audit event of its own"
    );

    let done = store
        .write_group(&[end(3_000, "done"), end(3_001, "done again")])
        .await
        .unwrap();
    assert_eq!(done, [true, false], "only the first end finds it active");
    assert!(!store.stream(scope, s.id).await.unwrap().unwrap().is_active);
    let sessions = store.list_sessions(scope, s.id, None).await.unwrap();
    assert_eq!(sessions[0].ended_at, Some(3_000));
    assert_eq!(store.list_audit(a.id, 10).await.unwrap().len(), 4);

    // A duplicate id fails the group: the start before it is not written either.
    let dup = audit("duplicate");
    let failed = store
        .write_group(&[
            start(4_000, "lost"),
            GroupWrite::Audit(dup.clone()),
            GroupWrite::Audit(dup),
        ])
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(!store.stream(scope, s.id).await.unwrap().unwrap().is_active);
    assert_eq!(
        store.list_sessions(scope, s.id, None).await.unwrap().len(),
        1
    );
    assert_eq!(store.list_audit(a.id, 10).await.unwrap().len(), 4);

    // Many events at once (written several rows per statement): every one, exactly as given.
    let many: Vec<AuditEvent> = (0..101).map(|i| audit(&format!("many {i}"))).collect();
    let writes: Vec<GroupWrite> = many.iter().cloned().map(GroupWrite::Audit).collect();
    assert_eq!(store.write_group(&writes).await.unwrap(), vec![true; 101]);
    let mut stored: Vec<AuditEvent> = store
        .list_audit(a.id, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome.starts_with("many "))
        .collect();
    stored.sort_by_key(|e| e.id);
    assert_eq!(stored, many);
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
    bulk_insert,
    streams_are_scoped_paged_and_soft_deleted,
    sessions_and_targets,
    refresh_tokens_are_single_use,
    usage_counts_add_up_bucket_and_prune,
    dashboard_sessions_expire_and_end_with_their_user,
    stream_keys_are_found_by_instance,
    group_writes_are_ordered_and_all_or_nothing,
    stream_and_stream_key_writes_log_changes,
    scope_webhooks_are_live_and_scoped,
    webhook_flavors_are_kept_and_scoped,
    due_deliveries_are_fair_and_claimed_once
);

/// Concurrent attempts of one pair cannot outrun its lock: of 40 at once, exactly the five that
/// reach the lock are counted, on both backends.
#[tokio::test]
async fn concurrent_sign_in_attempts_stop_at_the_lock() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let store = store.clone();
            set.spawn(async move {
                store
                    .count_sign_in_attempt("admin", "192.0.2.9", 5_000, Lockout::DEFAULT)
                    .await
                    .unwrap()
            });
        }
        let mut counted: Vec<i64> = set.join_all().await.into_iter().flatten().collect();
        counted.sort();
        assert_eq!(counted, vec![1, 2, 3, 4, 5], "{backend:?}");
        assert_eq!(
            store
                .sign_in_locked_until("admin", "192.0.2.9", 5_000)
                .await
                .unwrap(),
            Some(6_000)
        );
    }
}
