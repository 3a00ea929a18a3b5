//! Audit retention: events older than `audit_retention` are pruned by a background task (at start,
//! then hourly), newer ones are kept, and `0` days keeps everything. On SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, setup_with};
use streamgate::clock::Clock;
use streamgate::domain::AuditEvent;
use streamgate::store::GroupWrite;
use streamgate::testkit::{operator, Backend, TestServer};
use streamgate::Config;
use uuid::Uuid;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn event(account: Uuid, at: i64, what: &str) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        account_id: Some(account),
        actor: "operator".into(),
        action: what.into(),
        object: "test:1".into(),
        outcome: "ok".into(),
        detail: String::new(),
        at,
        environment: None,
    }
}

async fn actions(server: &TestServer, account: Uuid) -> Vec<String> {
    server
        .svc()
        .query_audit(&operator(), Some(account), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn events_past_the_retention_are_pruned(backend: Backend) {
    let s = setup_with(backend, Config::default()).await;
    let now = s.server.clock.now_ms();
    let store = s.server.store();
    // More than one pruning batch of old events, and some inside the retention.
    for chunk in 0..12 {
        let writes: Vec<GroupWrite> = (0..1000)
            .map(|i| {
                let at = now - 100 * DAY_MS + chunk * 1000 + i;
                GroupWrite::Audit(event(s.account.id, at, "old.event"))
            })
            .collect();
        store.write_group(&writes).await.unwrap();
    }
    store
        .insert_audit(&event(s.account.id, now - 89 * DAY_MS, "recent.event"))
        .await
        .unwrap();
    // The background task (at start, then hourly) may have pruned some of them already.
    let removed = s.server.svc().prune_audit().await.unwrap();
    assert!(removed <= 12_000, "{removed}");
    let left = actions(&s.server, s.account.id).await;
    assert!(left.iter().all(|a| a != "old.event"), "{left:?}");
    assert!(left.iter().any(|a| a == "recent.event"));
    assert!(left.iter().any(|a| a == "account.create"), "{left:?}");
    // A day later than that, the 89-day-old one is still within 90 days; at 91 it goes.
    s.server.clock.advance_ms(2 * DAY_MS);
    s.server.svc().prune_audit().await.unwrap();
    let left = actions(&s.server, s.account.id).await;
    assert!(left.iter().all(|a| a != "recent.event"), "{left:?}");
}

#[tokio::test]
async fn events_past_the_retention_are_pruned_sqlite() {
    events_past_the_retention_are_pruned(Backend::Sqlite).await;
}

#[tokio::test]
async fn events_past_the_retention_are_pruned_postgres() {
    events_past_the_retention_are_pruned(Backend::Postgres).await;
}

#[tokio::test]
async fn the_server_prunes_in_the_background_at_start() {
    let s = setup_with(Backend::Sqlite, Config::default()).await;
    let now = s.server.clock.now_ms();
    s.server
        .store()
        .insert_audit(&event(s.account.id, now - 365 * DAY_MS, "ancient.event"))
        .await
        .unwrap();
    assert!(actions(&s.server, s.account.id)
        .await
        .contains(&"ancient.event".to_string()));
    // A second instance on the same database prunes as it starts, with no one asking.
    let other = TestServer::start_on(Arc::clone(&s.server.db)).await;
    let gone = eventually(Duration::from_secs(10), || async {
        !actions(&other, s.account.id)
            .await
            .contains(&"ancient.event".to_string())
    })
    .await;
    assert!(gone.is_some(), "the background pruner did not run at start");
}

#[tokio::test]
async fn zero_days_keeps_everything() {
    let mut config = Config::default();
    config.service.audit_retention = None;
    let s = setup_with(Backend::Sqlite, config).await;
    let now = s.server.clock.now_ms();
    s.server
        .store()
        .insert_audit(&event(s.account.id, now - 3650 * DAY_MS, "ancient.event"))
        .await
        .unwrap();
    assert_eq!(s.server.svc().prune_audit().await.unwrap(), 0);
    assert!(actions(&s.server, s.account.id)
        .await
        .contains(&"ancient.event".to_string()));
}

#[test]
fn the_setting_parses_days_and_zero() {
    let days = |v: &'static str| {
        let env =
            move |name: &str| (name == "STREAMGATE_AUDIT_RETENTION_DAYS").then(|| v.to_string());
        streamgate::config::Config::from_sources(None, env, &vec![])
            .map(|c| c.service.audit_retention)
    };
    assert_eq!(days("7"), Ok(Some(Duration::from_secs(7 * 24 * 3600))));
    assert_eq!(days("0"), Ok(None));
    assert!(days("-1")
        .unwrap_err()
        .contains("STREAMGATE_AUDIT_RETENTION_DAYS"));
    assert_eq!(
        Config::default().service.audit_retention,
        Some(Duration::from_secs(90 * 24 * 3600))
    );
}
