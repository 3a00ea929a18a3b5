//! Rate limits and credits hold across instances on one PostgreSQL store, within their documented
//! bounds: counts are exchanged through the store about twice a second (rate limits), spent
//! credits are written back in batches and every instance rereads what is left (credits).

use std::time::Duration;

use crate::common::{eventually, setup};
use streamgate::domain::{Credits, KeyPolicy, RateLimit};
use streamgate::testkit::{Backend, TestServer};

async fn me(url: String, key: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_holds_across_instances_once_their_counts_are_exchanged() {
    let s = setup(Backend::Postgres).await;
    let b = TestServer::start_on(s.server.db.clone()).await;
    // Both instances' clocks in the same minute-long window (a window of an hour: no rollover).
    let now = streamgate::clock::Clock::now_ms(&*s.server.clock);
    b.clock.set_ms(now);
    let key = s
        .new_key("shared", |r| {
            r.policy = KeyPolicy {
                ratelimit: Some(RateLimit::new(10, 3600).unwrap()),
                ..Default::default()
            }
        })
        .await;
    let secret = key.secret.expose();
    for _ in 0..6 {
        assert_eq!(me(s.url("/sg/v1/me"), secret).await, 200);
    }
    // Instance A's count reaches the store within a sync interval…
    let id = key.key.id;
    let written = eventually(Duration::from_secs(3), || async {
        s.server
            .store()
            .sync_rate_counts(
                "probe",
                &[streamgate::store::WindowCount {
                    key_id: id,
                    window_start: now - now.rem_euclid(3_600_000),
                    count: 0,
                }],
            )
            .await
            .unwrap()[0]
            .count
            == 6
    })
    .await;
    assert!(
        written.is_some(),
        "instance A's count never reached the store"
    );
    // …and instance B learns it at its first sync after its first request for the key.
    assert_eq!(me(b.url("/sg/v1/me"), secret).await, 200, "7th");
    tokio::time::sleep(streamgate::service::ratelimits::SYNC_INTERVAL * 3).await;
    let admitted_by_b = {
        let mut n = 1;
        for _ in 0..10 {
            if me(b.url("/sg/v1/me"), secret).await == 200 {
                n += 1;
            }
        }
        n
    };
    // 10 in all: A's 6, B's 4 (the documented bound would allow what B admitted before its
    // first sync; here B synced before the rest of its requests).
    assert_eq!(6 + admitted_by_b, 10, "B admitted {admitted_by_b}");
    // A, quiet since its sixth request, learns B's count at its first sync after its next request
    // (that one request may pass on A's stale view: the documented bound), and refuses after it.
    let _ = me(s.url("/sg/v1/me"), secret).await;
    tokio::time::sleep(streamgate::service::ratelimits::SYNC_INTERVAL * 3).await;
    assert_eq!(me(s.url("/sg/v1/me"), secret).await, 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn credits_hold_across_instances_within_one_batch() {
    let s = setup(Backend::Postgres).await;
    let b = TestServer::start_on(s.server.db.clone()).await;
    let key = s
        .new_key("metered", |r| {
            r.policy = KeyPolicy {
                credits: Some(Credits {
                    remaining: 6,
                    refill: None,
                }),
                ..Default::default()
            }
        })
        .await;
    let secret = key.secret.expose();
    for _ in 0..4 {
        assert_eq!(me(s.url("/sg/v1/me"), secret).await, 200);
    }
    // A writes its spend back in its next batch; B reads what is left through the change log.
    s.server.svc().usage.flush().await;
    let seen = eventually(Duration::from_secs(3), || async {
        b.store()
            .api_key_by_id(key.key.id)
            .await
            .unwrap()
            .and_then(|k| k.policy.credits)
            .is_some_and(|c| c.remaining == 2)
    })
    .await;
    assert!(seen.is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut admitted = 0;
    for _ in 0..5 {
        if me(b.url("/sg/v1/me"), secret).await == 200 {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 2, "B admitted {admitted} with 2 credits left");
}
