//! Rate limits and credits hold across instances on one PostgreSQL store (two, then three),
//! within their documented bounds: counts are exchanged through the store about twice a second
//! (rate limits), spent credits are written back in batches and every instance rereads what is
//! left (credits). The tests wait for an actual exchange (`RateSync::next_round`) or for the
//! change log to be followed, never for a guessed time.

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
    // Instance A's count reaches the store at its next exchange…
    exchanged(&s.server).await;
    let id = key.key.id;
    let window_start = now - now.rem_euclid(3_600_000);
    assert_eq!(
        stored_by_others(&s.server, id, window_start).await,
        6,
        "instance A's count did not reach the store"
    );
    // …and instance B learns it at its first exchange after its first request for the key.
    assert_eq!(me(b.url("/sg/v1/me"), secret).await, 200, "7th");
    exchanged(&b).await;
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
    // first exchange; here B exchanged before the rest of its requests).
    assert_eq!(6 + admitted_by_b, 10, "B admitted {admitted_by_b}");
    // B's count reaches the store at its next exchange. A, quiet since its sixth request, learns
    // it at its first exchange after its next request (that one request may pass on A's stale
    // view: the documented bound), and refuses after it.
    exchanged(&b).await;
    let _ = me(s.url("/sg/v1/me"), secret).await;
    exchanged(&s.server).await;
    assert_eq!(me(s.url("/sg/v1/me"), secret).await, 429);
}

/// Waits for a whole rate-limit exchange of `server` after this call: what it counted before is
/// in the store and it has read the others' counts. Not a timing assertion: the timeout only
/// keeps a broken sync from hanging the test.
async fn exchanged(server: &TestServer) {
    tokio::time::timeout(Duration::from_secs(30), server.svc().rate_sync.next_round())
        .await
        .expect("the rate-limit sync completed no round in 30 s");
}

/// What the store holds of key `id`'s counts in the window starting at `window_start`, summed
/// over every instance (read as a made-up instance that counted nothing).
async fn stored_by_others(server: &TestServer, id: uuid::Uuid, window_start: i64) -> i64 {
    server
        .store()
        .sync_rate_counts(
            "probe",
            &[streamgate::store::WindowCount {
                key_id: id,
                window_start,
                count: 0,
            }],
        )
        .await
        .unwrap()[0]
        .count
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

/// Three instances on one store, their clocks in the same hour-long window.
async fn three_instances(s: &crate::common::Setup) -> [TestServer; 2] {
    let b = TestServer::start_on(s.server.db.clone()).await;
    let c = TestServer::start_on(s.server.db.clone()).await;
    let now = streamgate::clock::Clock::now_ms(&*s.server.clock);
    b.clock.set_ms(now);
    c.clock.set_ms(now);
    [b, c]
}

/// How many of `n` requests to `server` with `secret` were admitted.
async fn admitted(server: &TestServer, secret: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if me(server.url("/sg/v1/me"), secret).await == 200 {
            ok += 1;
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_holds_across_three_instances_once_their_counts_are_exchanged() {
    let s = setup(Backend::Postgres).await;
    let [b, c] = three_instances(&s).await;
    let a = &s.server;
    let key = s
        .new_key("shared3", |r| {
            r.policy = KeyPolicy {
                ratelimit: Some(RateLimit::new(12, 3600).unwrap()),
                ..Default::default()
            }
        })
        .await;
    let secret = key.secret.expose();
    // A takes 4; its count reaches the store at its next exchange.
    assert_eq!(admitted(a, secret, 4).await, 4);
    exchanged(a).await;
    // B's first request passes on what it knew (nothing); after its exchange it knows A's 4.
    assert_eq!(admitted(&b, secret, 1).await, 1);
    exchanged(&b).await;
    assert_eq!(admitted(&b, secret, 3).await, 3, "B within the limit");
    exchanged(&b).await;
    // C learns both others' counts at its first exchange and admits only the rest of the limit.
    assert_eq!(admitted(&c, secret, 1).await, 1);
    exchanged(&c).await;
    let by_c = 1 + admitted(&c, secret, 10).await;
    assert_eq!(4 + 4 + by_c, 12, "C admitted {by_c}");
    exchanged(&c).await;
    // A and B were quiet meanwhile: each learns the others' counts at its first exchange after
    // its next request (that one may pass on its stale view: the documented bound, at most what
    // an instance admits before the others' counts reach it), and refuses after it.
    let _ = me(a.url("/sg/v1/me"), secret).await;
    let _ = me(b.url("/sg/v1/me"), secret).await;
    tokio::join!(exchanged(a), exchanged(&b));
    for (name, server) in [("A", a), ("B", &b), ("C", &c)] {
        assert_eq!(
            me(server.url("/sg/v1/me"), secret).await,
            429,
            "{name} admitted past the limit after exchanging counts"
        );
    }
}

/// Waits until every instance has applied the change log up to its latest entry (the spends a
/// usage batch wrote). Not a timing assertion: the deadline only keeps the test from hanging.
async fn followed(servers: &[&TestServer]) {
    let latest = servers[0].store().latest_change().await.unwrap();
    for (i, server) in servers.iter().enumerate() {
        let done = eventually(Duration::from_secs(30), || async {
            server.svc().verifier.applied_seq() >= latest
        })
        .await;
        assert!(done.is_some(), "instance {i} did not follow the change log");
    }
}

async fn credits_key(
    s: &crate::common::Setup,
    name: &str,
    remaining: i64,
) -> streamgate::service::CreatedKey {
    s.new_key(name, |r| {
        r.policy = KeyPolicy {
            credits: Some(Credits {
                remaining,
                refill: None,
            }),
            ..Default::default()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn credits_hold_across_three_instances_batch_by_batch() {
    let s = setup(Backend::Postgres).await;
    let [b, c] = three_instances(&s).await;
    let a = &s.server;
    let all = [a, &b, &c];
    let key = credits_key(&s, "metered3", 9).await;
    let secret = key.secret.expose();
    let remaining = || async {
        a.store()
            .api_key_by_id(key.key.id)
            .await
            .unwrap()
            .and_then(|k| k.policy.credits)
            .map(|c| c.remaining)
    };
    // Every instance holds the key (each spends one), then each writes its spend back and all
    // three reread what is left through the change log.
    for server in all {
        assert_eq!(admitted(server, secret, 1).await, 1);
    }
    for server in all {
        server.svc().usage.flush().await;
    }
    followed(&all).await;
    assert_eq!(remaining().await, Some(6));
    // A spends 2 and B spends 2, each batch read back by all three before the next instance
    // spends: C is left exactly what the store says.
    for (server, left) in [(a, 4), (&b, 2)] {
        assert_eq!(admitted(server, secret, 2).await, 2);
        server.svc().usage.flush().await;
        followed(&all).await;
        assert_eq!(remaining().await, Some(left));
    }
    assert_eq!(admitted(&c, secret, 5).await, 2, "C with 2 credits left");
    c.svc().usage.flush().await;
    followed(&all).await;
    assert_eq!(remaining().await, Some(0));
    for (name, server) in [("A", a), ("B", &b), ("C", &c)] {
        assert_eq!(
            me(server.url("/sg/v1/me"), secret).await,
            429,
            "{name} admitted a request with no credits left"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_overspend_credits_by_at_most_what_each_admits_between_batches() {
    let s = setup(Backend::Postgres).await;
    let [b, c] = three_instances(&s).await;
    let a = &s.server;
    let all = [a, &b, &c];
    let key = credits_key(&s, "burst3", 6).await;
    let secret = key.secret.expose();
    for server in all {
        assert_eq!(admitted(server, secret, 1).await, 1);
    }
    for server in all {
        server.svc().usage.flush().await;
    }
    followed(&all).await;
    // All three know 3 are left. Spending at once, before any of them writes a batch back, each
    // can admit at most what it knows is left: the documented bound (N instances overspend by at
    // most what they admit between two batches). A background batch meanwhile only lowers it.
    let (x, y, z) = tokio::join!(
        admitted(a, secret, 5),
        admitted(&b, secret, 5),
        admitted(&c, secret, 5)
    );
    for (name, n) in [("A", x), ("B", y), ("C", z)] {
        assert!(n <= 3, "{name} admitted {n} with 3 credits left");
    }
    assert!(x + y + z >= 3, "the 3 credits left were not all spendable");
    // Once the spends are written back and read by all three, nothing more is admitted anywhere.
    for server in all {
        server.svc().usage.flush().await;
    }
    followed(&all).await;
    for (name, server) in [("A", a), ("B", &b), ("C", &c)] {
        assert_eq!(
            me(server.url("/sg/v1/me"), secret).await,
            429,
            "{name} admitted a request after the overspent batch was written"
        );
    }
}
