//! Dashboard sign-in under attack, on both backends: concurrent wrong passwords cannot outrun the
//! lock (each attempt is counted atomically before its password is checked, and a locked attempt
//! costs no password check); the lock holds for one (user name, client address) pair, so a
//! stranger cannot lock the real admin out from elsewhere; the lock grows 1 s, 2 s, 4 s …; and a
//! flood of sign-ins is refused with 503 at once rather than queued without bound.
//!
//! Client addresses are the TCP peer: a client bound to 127.0.0.2 or 127.0.0.3 (all of 127/8 is
//! this machine on Linux) is another address to the server.

use std::net::IpAddr;

use crate::common::{setup_with, Setup};
use reqwest::redirect::Policy;
use streamgate::crypto::SecretString;
use streamgate::domain::Role;
use streamgate::testkit::Backend;
use streamgate::Config;

const PASSWORD: &str = "the admin's own password";

/// A browser at `from`: the login page's CSRF token and cookie, then posts.
struct Browser {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Browser {
    async fn new(s: &Setup, from: &str) -> Self {
        let from: IpAddr = from.parse().unwrap();
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .local_address(from)
            .build()
            .unwrap();
        let base = s.server.base_url.clone();
        let html = http
            .get(format!("{base}/dashboard/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let i = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        let csrf = html[i..i + 32].to_string();
        Self { http, base, csrf }
    }

    async fn sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/dashboard/login", self.base))
            .header("cookie", format!("sg_login_csrf={}", self.csrf))
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }
}

async fn with_admin(backend: Backend, config: Config) -> Setup {
    let s = setup_with(backend, config).await;
    s.server
        .svc()
        .create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "admin",
            &SecretString::new(PASSWORD.into()),
            Role::Admin,
        )
        .await
        .unwrap();
    s
}

fn retry_after(res: &reqwest::Response) -> Option<u64> {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn concurrent_guesses_lock_their_address_and_not_the_admin() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut config = Config::default();
        // Room for all 40 in the hashing queue: this test is about the lock, not the queue.
        config.service.password_hash_queue = 64;
        let s = with_admin(backend, config).await;
        let svc = s.server.svc().clone();
        let hashes_before = svc.passwords.stats().total;

        // 40 wrong passwords at once from one address.
        let attacker = std::sync::Arc::new(Browser::new(&s, "127.0.0.1").await);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..40 {
            let attacker = attacker.clone();
            set.spawn(async move {
                attacker
                    .sign_in("admin", &format!("guess number {i}"))
                    .await
                    .status()
                    .as_u16()
            });
        }
        let statuses = set.join_all().await;
        let wrong = statuses.iter().filter(|s| **s == 401).count();
        let locked = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(wrong + locked, 40, "{backend:?}: {statuses:?}");
        // Only the attempts before the lock were checked: the fifth locks the pair.
        assert_eq!(wrong, 4, "{backend:?}: {statuses:?}");
        assert_eq!(
            svc.passwords.stats().total - hashes_before,
            5,
            "{backend:?}: locked attempts cost no password check"
        );

        // The right password from that address is refused while the lock holds.
        let res = attacker.sign_in("admin", PASSWORD).await;
        assert_eq!(res.status(), 429, "{backend:?}");
        assert!(retry_after(&res).is_some());
        assert!(res.text().await.unwrap().contains("locked"));

        // The real admin, elsewhere, signs in; a wrong guess there is just wrong.
        let admin = Browser::new(&s, "127.0.0.2").await;
        assert_eq!(admin.sign_in("admin", "a typo in it").await.status(), 401);
        let res = admin.sign_in("admin", PASSWORD).await;
        assert_eq!(
            res.status(),
            303,
            "{backend:?}: another address is not locked"
        );
        assert_eq!(
            res.headers().get("location").unwrap(),
            "/dashboard/keys",
            "{backend:?}"
        );

        // Once the lock ends, the attacker's address may try again (and the admin's success
        // there clears it).
        s.server.clock.advance_ms(1_001);
        assert_eq!(attacker.sign_in("admin", PASSWORD).await.status(), 303);
        assert_eq!(
            attacker.sign_in("admin", "wrong again").await.status(),
            401,
            "{backend:?}: the count started again"
        );
    }
}

#[tokio::test]
async fn the_lock_grows_with_each_attempt() {
    let s = with_admin(Backend::Sqlite, Config::default()).await;
    let b = Browser::new(&s, "127.0.0.3").await;
    for _ in 0..4 {
        assert_eq!(b.sign_in("admin", "not the password").await.status(), 401);
    }
    let mut waits = Vec::new();
    for _ in 0..4 {
        let res = b.sign_in("admin", "not the password").await;
        assert_eq!(res.status(), 429);
        let wait = retry_after(&res).unwrap();
        waits.push(wait);
        // Still locked a moment before it ends; free again when it does.
        s.server.clock.advance_ms(wait as i64 * 1_000 - 1);
        assert_eq!(b.sign_in("admin", PASSWORD).await.status(), 429);
        s.server.clock.advance_ms(1);
    }
    assert_eq!(waits, [1, 2, 4, 8]);
    // An unknown user name locks the same way (the answers never tell names apart).
    for _ in 0..4 {
        assert_eq!(b.sign_in("nobody", "whatever").await.status(), 401);
    }
    assert_eq!(b.sign_in("nobody", "whatever").await.status(), 429);
}

#[tokio::test]
async fn a_flood_of_sign_ins_is_refused_at_once_not_queued() {
    let mut config = Config::default();
    config.service.password_hash_concurrency = 2;
    config.service.password_hash_queue = 4;
    let s = with_admin(Backend::Sqlite, config).await;
    let b = std::sync::Arc::new(Browser::new(&s, "127.0.0.1").await);
    // Different user names, so that no lock stops them before the hashing queue does.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..120 {
        let b = b.clone();
        set.spawn(async move {
            let res = b.sign_in(&format!("user{i}"), "some password").await;
            (res.status().as_u16(), retry_after(&res))
        });
    }
    let answers = set.join_all().await;
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert!(!busy.is_empty(), "some were refused: {answers:?}");
    assert!(
        busy.iter().all(|(_, retry)| *retry == Some(1)),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(s, _)| *s == 401 || *s == 503),
        "wrong or busy, never another error: {answers:?}"
    );
    let stats = s.server.svc().passwords.stats();
    assert!(
        stats.peak <= 2,
        "never more than 2 hashes at once: {stats:?}"
    );
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.refused, busy.len() as u64);
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains("streamgate_password_hash_concurrency 2\n"),
        "{metrics}"
    );
    let peak: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("streamgate_password_hashes_peak "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((1.0..=2.0).contains(&peak), "{metrics}");
    // A busy answer counted nothing against the pair: the admin still signs in.
    assert_eq!(b.sign_in("admin", PASSWORD).await.status(), 303);
}
