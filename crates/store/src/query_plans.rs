//! The query plans of the statements whose cost must not grow with what a table has held
//! (SQLite's `EXPLAIN QUERY PLAN`): lists on the index of live streams, a publish ending on the
//! index of open sessions.

use crate::group::END_SESSIONS;
use crate::streams::{list_sql, search_sql};

/// SQLite's plan for `sql` (one line per step).
async fn plan(sql: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plan.db", dir.path().display());
    let db = crate::sqlite::connect(&url).await.unwrap();
    let crate::db::Db::Sqlite { write, .. } = &db else {
        panic!("an SQLite store")
    };
    crate::sqlite::migrate(write).await.unwrap();
    let args = crate::args![
        "a",
        "production",
        None::<String>,
        None::<Vec<u8>>,
        0i64,
        "",
        10i64,
        0i64
    ];
    let rows: Vec<(i64, i64, i64, String)> = db
        .fetch_all(&format!("EXPLAIN QUERY PLAN {sql}"), args)
        .await
        .unwrap();
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
}

/// Lists walk the index of the scope's live streams in order: no deleted stream is read, no
/// sort, so a page costs the same however many streams the scope has had.
#[tokio::test]
async fn lists_use_the_index_of_live_streams() {
    let searches = domain::stream::StreamOrder::ALL.map(search_sql);
    for sql in std::iter::once(list_sql()).chain(searches) {
        let plan = plan(&sql).await;
        assert!(plan.contains("streams_live_scope"), "{sql}:\n{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }
}

/// A publish ending finds its stream's open session on the index of open sessions, not by
/// reading every session the stream ever had.
#[tokio::test]
async fn a_publish_ending_finds_the_open_session_on_its_index() {
    let plan = plan(END_SESSIONS).await;
    assert!(plan.contains("sessions_open"), "{plan}");
}
