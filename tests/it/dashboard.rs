//! The dashboard over plain HTTP on both backends: sign-in and its CSRF cookie, sessions,
//! lockout, CSRF on every form, roles and account scoping, usage counts (`/sg/v1/usage`), and
//! that no secret is ever echoed into a page.

use crate::common;

use crate::common::setup;
use reqwest::redirect::Policy;
use reqwest::Response;
use serde_json::Value;
use streamgate::crypto::SecretString;
use streamgate::domain::Role;
use streamgate::testkit::Backend;

struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.into(),
            cookies: vec![],
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, res: &Response) {
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !val.is_empty() {
                self.cookies.push((k.into(), val.into()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> Response {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let html = self.get(path).await.text().await.unwrap();
        let i = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        html[i..i + 32].to_string()
    }

    async fn sign_in(&mut self, user: &str, password: &str) -> Response {
        let csrf = self.csrf("/dashboard/login").await;
        self.post(
            "/dashboard/login",
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
        .await
    }
}

#[tokio::test]
async fn sign_in_sessions_csrf_roles_and_usage() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let svc = s.server.svc().clone();
        let pw = SecretString::new("admin password 0001".into());
        svc.create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "ada",
            &pw,
            Role::Admin,
        )
        .await
        .unwrap();
        let other = svc
            .create_account(&streamgate::testkit::operator(), "globex", None)
            .await
            .unwrap();
        let member_pw = SecretString::new("member password 0002".into());
        svc.create_user(
            &streamgate::testkit::operator(),
            other.id,
            "max",
            &member_pw,
            Role::Member,
        )
        .await
        .unwrap();

        let mut b = Browser::new(&s.server.base_url);
        // Signed out: every page sends the browser to sign in.
        let res = b.get("/dashboard/streams").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/dashboard/login");

        // The login form needs its CSRF cookie and field to match.
        let res = b
            .post(
                "/dashboard/login",
                &[
                    ("csrf", "x"),
                    ("username", "ada"),
                    ("password", pw.expose()),
                ],
            )
            .await;
        assert_eq!(res.status(), 403);

        // Wrong password: 401, the same words for an unknown user.
        let res = b.sign_in("ada", "wrong password").await;
        assert_eq!(res.status(), 401);
        let wrong = res.text().await.unwrap();
        assert!(wrong.contains("Wrong user name or password."));
        assert!(
            !wrong.contains("wrong password"),
            "the password is not echoed"
        );
        let res = b.sign_in("nobody", "wrong password").await;
        assert_eq!(res.status(), 401);

        let res = b.sign_in("ada", pw.expose()).await;
        assert_eq!(res.status(), 303);
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("sg_session="))
            .expect("a session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"), "plain HTTP: not Secure");
        assert_eq!(b.get("/dashboard/keys").await.status(), 200);

        // A key made on the keys page, expiring in 30 days.
        let kcsrf = b.csrf("/dashboard/keys").await;
        let res = b
            .post(
                "/dashboard/keys",
                &[
                    ("csrf", &kcsrf),
                    ("name", "expiring"),
                    ("environment", "sandbox"),
                    ("expires", "30d"),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("sg_sandbox_"), "the secret is shown once");
        let made = svc
            .list_keys(
                &streamgate::testkit::operator().in_account(s.account.id),
                true,
            )
            .await
            .unwrap();
        let k = made.iter().find(|k| k.name == "expiring").unwrap();
        assert_eq!(k.expires_at, Some(k.created_at + 30 * 86_400_000));
        assert!(k.cors.allowed_origins.is_empty(), "no CORS unless ticked");

        // Forms without the session's CSRF token change nothing.
        let res = b.post("/dashboard/streams", &[("name", "forged")]).await;
        assert_eq!(res.status(), 403);
        let csrf = b.csrf("/dashboard/streams").await;
        let res = b
            .post(
                "/dashboard/streams",
                &[("name", "Studio A"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status(), 303);
        let stream_page = res.headers()["location"].to_str().unwrap().to_string();
        let html = b.get("/dashboard/streams").await.text().await.unwrap();
        assert!(html.contains("Studio A") && !html.contains("forged"));

        // The stream key is only in the page once asked for, with CSRF.
        let html = b.get(&stream_page).await.text().await.unwrap();
        let id = stream_page
            .trim_start_matches("/dashboard/streams/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let actor = svc.authenticate(s.secret(), None).await.unwrap();
        let key = svc
            .get_stream(&actor, id.parse().unwrap())
            .await
            .unwrap()
            .stream_key;
        assert!(!html.contains(key.expose()));
        let reveal = format!("/dashboard/streams/{id}/reveal");
        assert_eq!(b.post(&reveal, &[]).await.status(), 403);
        let html = b
            .post(&reveal, &[("csrf", &csrf)])
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(key.expose()));

        // Usage: requests with a key are counted per key, and failures of a revoked key too.
        for _ in 0..3 {
            assert_eq!(s.me(s.secret()).await.status(), 200);
        }
        let doomed = s.new_key("doomed", |_| {}).await;
        svc.revoke_key(&streamgate::testkit::operator(), doomed.key.id)
            .await
            .unwrap();
        assert_eq!(s.me(doomed.secret.expose()).await.status(), 401);
        let u: Value = s.get_json_as("/sg/v1/usage?period=hour", s.secret()).await;
        assert_eq!(u["period"], "hour");
        assert_eq!(u["buckets"], 60);
        let of = |name: &str| {
            u["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["name"] == name)
                .cloned()
                .unwrap()
        };
        // The three calls, the test's own `authenticate` above, and this usage call itself.
        assert_eq!(of("test")["totalRequests"], 5);
        assert_eq!(of("doomed")["totalAuthFailures"], 1);
        assert_eq!(of("doomed")["totalRequests"], 0);
        // Another account's key sees only its own keys.
        let outsider = s
            .server
            .svc()
            .create_account(&streamgate::testkit::operator(), "outsider", None)
            .await
            .unwrap();
        let okey = common::new_key(&s.server, outsider.id, "outsider key", |_| {}).await;
        let theirs: Value = s.get_json_as("/sg/v1/usage", okey.secret.expose()).await;
        let names: Vec<&str> = theirs["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["outsider key"]);
        let bad = s
            .http
            .get(s.url("/sg/v1/usage?period=year"))
            .bearer_auth(s.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let v: Value = bad.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_request");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hour, day or month"));
        let html = b
            .get("/dashboard/usage?period=hour")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("<svg"));
        assert!(html.contains(&format!("data-key=\"{}\"", s.key.key.id)));

        // Environment switch: the sandbox shows none of production's streams.
        let res = b
            .post(
                "/dashboard/environment",
                &[("environment", "sandbox"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status(), 303);
        let html = b.get("/dashboard/streams").await.text().await.unwrap();
        assert!(!html.contains("Studio A"));

        // Sign out ends the session for good.
        assert_eq!(
            b.post("/dashboard/logout", &[("csrf", &csrf)])
                .await
                .status(),
            303
        );
        assert_eq!(b.get("/dashboard/keys").await.status(), 303);

        // A member sees only its own account and manages no users.
        let mut m = Browser::new(&s.server.base_url);
        assert_eq!(m.sign_in("max", member_pw.expose()).await.status(), 303);
        assert_eq!(m.get(&stream_page).await.status(), 404);
        let mcsrf = m.csrf("/dashboard/keys").await;
        let res = m
            .post(
                &format!("/dashboard/keys/{}/revoke", s.key.key.id),
                &[("csrf", &mcsrf)],
            )
            .await;
        assert_eq!(res.status(), 404);
        assert_eq!(s.me(s.secret()).await.status(), 200, "not revoked");
        assert_eq!(m.get("/dashboard/users").await.status(), 403);
        let html = m.get("/dashboard/keys").await.text().await.unwrap();
        assert!(!html.contains(&s.key.key.prefix));

        // An admin removes the member: its session ends at once.
        let mut a = Browser::new(&s.server.base_url);
        assert_eq!(a.sign_in("ada", pw.expose()).await.status(), 303);
        let acsrf = a.csrf("/dashboard/users").await;
        let max = s
            .server
            .store()
            .user_by_username("max")
            .await
            .unwrap()
            .unwrap();
        let path = format!("/dashboard/users/{}/delete", max.id);
        assert_eq!(
            m.post(&path, &[("csrf", &mcsrf)]).await.status(),
            403,
            "members cannot"
        );
        assert_eq!(a.post(&path, &[("csrf", &acsrf)]).await.status(), 303);
        assert_eq!(m.get("/dashboard/keys").await.status(), 303, "signed out");
        let ada = s
            .server
            .store()
            .user_by_username("ada")
            .await
            .unwrap()
            .unwrap();
        let own = format!("/dashboard/users/{}/delete", ada.id);
        assert_eq!(a.post(&own, &[("csrf", &acsrf)]).await.status(), 400);
        svc.create_user(
            &streamgate::testkit::operator(),
            other.id,
            "max",
            &member_pw,
            Role::Member,
        )
        .await
        .unwrap();

        // Changing one's password needs the current one and signs out every other session.
        let mut a2 = Browser::new(&s.server.base_url);
        assert_eq!(a2.sign_in("ada", pw.expose()).await.status(), 303);
        let acsrf = a.csrf("/dashboard/account").await;
        for (current, new, repeat) in [
            (
                "wrong current pw",
                "brand new password 9",
                "brand new password 9",
            ),
            (
                "admin password 0001",
                "brand new password 9",
                "brand new passw0rd 9",
            ),
            ("admin password 0001", "short", "short"),
        ] {
            let form = [
                ("current", current),
                ("new", new),
                ("repeat", repeat),
                ("csrf", acsrf.as_str()),
            ];
            assert_eq!(
                a.post("/dashboard/account/password", &form).await.status(),
                400
            );
        }
        let good = [
            ("current", "admin password 0001"),
            ("new", "brand new password 9"),
            ("repeat", "brand new password 9"),
        ];
        assert_eq!(
            a.post("/dashboard/account/password", &good).await.status(),
            403,
            "CSRF"
        );
        let mut with_csrf = good.to_vec();
        with_csrf.push(("csrf", acsrf.as_str()));
        assert_eq!(
            a.post("/dashboard/account/password", &with_csrf)
                .await
                .status(),
            303
        );
        assert_eq!(
            a.get("/dashboard/keys").await.status(),
            200,
            "this session stays"
        );
        assert_eq!(
            a2.get("/dashboard/keys").await.status(),
            303,
            "the other one ends"
        );
        let mut fresh = Browser::new(&s.server.base_url);
        assert_eq!(fresh.sign_in("ada", pw.expose()).await.status(), 401);
        assert_eq!(
            fresh.sign_in("ada", "brand new password 9").await.status(),
            303
        );

        // Lockout: the fifth failure locks the name for this address, even for the right
        // password (more in tests/it/dashboard_lockout.rs).
        let mut l = Browser::new(&s.server.base_url);
        for _ in 0..4 {
            assert_eq!(l.sign_in("max", "not it at all").await.status(), 401);
        }
        assert_eq!(l.sign_in("max", "not it at all").await.status(), 429);
        let res = l.sign_in("max", member_pw.expose()).await;
        assert_eq!(res.status(), 429);
        assert!(res.text().await.unwrap().contains("locked"));
        // It lifts after a second (then grows with each further failure).
        s.server.clock.advance_ms(1_000);
        assert_eq!(l.sign_in("max", member_pw.expose()).await.status(), 303);
    }
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let s = setup(Backend::Sqlite).await;
    let pw = SecretString::new("admin password 0001".into());
    s.server
        .svc()
        .create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "ada",
            &pw,
            Role::Admin,
        )
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let res = http
        .get(s.url("/dashboard/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let c = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(c.contains("; Secure"), "{c}");
}

#[tokio::test]
async fn keys_are_edited_and_rerolled_on_the_dashboard() {
    let s = setup(Backend::Sqlite).await;
    let pw = SecretString::new("admin password 0001".into());
    s.server
        .svc()
        .create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "ada",
            &pw,
            Role::Admin,
        )
        .await
        .unwrap();
    let mut b = Browser::new(&s.server.base_url);
    assert_eq!(b.sign_in("ada", pw.expose()).await.status(), 303);
    let page = b.get("/dashboard/keys").await.text().await.unwrap();
    assert!(
        page.contains("default rate") && page.contains("unlimited"),
        "limits shown"
    );
    let id = s.key.key.id;
    let csrf = b.csrf("/dashboard/keys").await;
    let res = b
        .post(
            &format!("/dashboard/keys/{id}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "narrowed"),
                ("permissions", "streams:read streams:list"),
                ("limit", "5"),
                ("per", "60"),
                ("credits", "100"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let k = s.server.store().api_key_by_id(id).await.unwrap().unwrap();
    assert_eq!(k.name, "narrowed");
    assert_eq!(
        k.policy.effective(&k.cors).to_strings(),
        ["streams:read", "streams:list"]
    );
    assert_eq!(k.policy.ratelimit.unwrap().limit, 5);
    assert_eq!(k.policy.credits.unwrap().remaining, 100);
    let page = b.get("/dashboard/keys").await.text().await.unwrap();
    assert!(
        page.contains("5 / 60 s") && page.contains("100 credits"),
        "the new limits are shown"
    );
    // Refused in every dialect now: it may not create streams.
    let res = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(s.secret())
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A bad permission is a clear error, not a 500.
    let res = b
        .post(
            &format!("/dashboard/keys/{id}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "n"),
                ("permissions", "streams:fly"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    // Reroll with no grace: the new secret is shown once, the old one is refused at once.
    let res = b
        .post(
            &format!("/dashboard/keys/{id}/reroll"),
            &[("csrf", &csrf), ("grace", "0")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("shown only this once"));
    let start = page.find("sg_production_").unwrap();
    let secret: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(s.me(&secret).await.status(), 200);
    assert_eq!(s.me(s.secret()).await.status(), 401);
}

/// The text of the element with `id` (`<code id="…">text</code>`).
fn element_text(html: &str, id: &str) -> String {
    let open = format!("id=\"{id}\">");
    let start = html.find(&open).expect("the element") + open.len();
    let len = html[start..].find('<').unwrap();
    html[start..start + len].to_string()
}

#[tokio::test]
async fn signing_keys_and_stream_playback_on_the_dashboard() {
    let s = setup(Backend::Sqlite).await;
    let svc = s.server.svc().clone();
    let pw = SecretString::new("admin password 0001".into());
    svc.create_user(
        &streamgate::testkit::operator(),
        s.account.id,
        "ada",
        &pw,
        Role::Admin,
    )
    .await
    .unwrap();
    let actor = svc.authenticate(s.secret(), None).await.unwrap();
    let mut b = Browser::new(&s.server.base_url);
    assert_eq!(b.sign_in("ada", pw.expose()).await.status(), 303);
    let page = b.get("/dashboard/signing-keys").await.text().await.unwrap();
    assert!(
        page.contains("href=\"/dashboard/signing-keys\""),
        "in the navigation"
    );
    assert!(page.contains("No signing keys yet."));

    // Made by the form: the private key is on the answer, once, and never again.
    let csrf = b.csrf("/dashboard/signing-keys").await;
    let res = b
        .post("/dashboard/signing-keys", &[("name", "forged")])
        .await;
    assert_eq!(res.status(), 403, "CSRF");
    let res = b
        .post(
            "/dashboard/signing-keys",
            &[("csrf", &csrf), ("name", "player tokens")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("cannot be shown again"));
    let private = element_text(&html, "new-private-key");
    assert!(private.len() > 100, "a base64 PEM: {private}");
    assert_eq!(
        html.matches(private.as_str()).count(),
        1,
        "shown exactly once"
    );
    let keys = svc.list_playback_keys(&actor).await.unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k.name, "player tokens");
    assert!(!k.disabled);
    let fp = streamgate::service::playback_keys::fingerprint(&k.public_key);
    let list = b.get("/dashboard/signing-keys").await.text().await.unwrap();
    assert!(!list.contains(&private), "not on the list page");
    assert!(list.contains("player tokens") && list.contains(&k.id.to_string()));
    assert!(list.contains(&fp) && list.contains("Enabled"));

    // Disabled, enabled, disabled: the list and the service agree.
    let disable = format!("/dashboard/signing-keys/{}/disable", k.id);
    assert_eq!(b.post(&disable, &[]).await.status(), 403, "CSRF");
    assert!(!svc.list_playback_keys(&actor).await.unwrap()[0].disabled);
    let res = b.post(&disable, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let list = b
        .get(res.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Disabled player tokens"), "the notice");
    assert!(list.contains("badge bad\">Disabled"));
    assert!(list.contains(&format!("/dashboard/signing-keys/{}/enable", k.id)));
    assert!(svc.list_playback_keys(&actor).await.unwrap()[0].disabled);
    let enable = format!("/dashboard/signing-keys/{}/enable", k.id);
    assert_eq!(b.post(&enable, &[("csrf", &csrf)]).await.status(), 303);
    assert!(!svc.list_playback_keys(&actor).await.unwrap()[0].disabled);
    assert_eq!(b.post(&disable, &[("csrf", &csrf)]).await.status(), 303);
    assert!(svc.list_playback_keys(&actor).await.unwrap()[0].disabled);

    // Another account's user cannot touch it.
    let other = svc
        .create_account(&streamgate::testkit::operator(), "globex", None)
        .await
        .unwrap();
    let mpw = SecretString::new("member password 0002".into());
    svc.create_user(
        &streamgate::testkit::operator(),
        other.id,
        "max",
        &mpw,
        Role::Member,
    )
    .await
    .unwrap();
    let mut m = Browser::new(&s.server.base_url);
    assert_eq!(m.sign_in("max", mpw.expose()).await.status(), 303);
    let mcsrf = m.csrf("/dashboard/signing-keys").await;
    let theirs = m.get("/dashboard/signing-keys").await.text().await.unwrap();
    assert!(!theirs.contains(&k.id.to_string()));
    let delete = format!("/dashboard/signing-keys/{}/delete", k.id);
    assert_eq!(m.post(&delete, &[("csrf", &mcsrf)]).await.status(), 404);
    assert_eq!(m.post(&enable, &[("csrf", &mcsrf)]).await.status(), 404);

    // Deleted.
    assert_eq!(b.post(&delete, &[]).await.status(), 403, "CSRF");
    assert_eq!(b.post(&delete, &[("csrf", &csrf)]).await.status(), 303);
    assert!(svc.list_playback_keys(&actor).await.unwrap().is_empty());
    let list = b.get("/dashboard/signing-keys").await.text().await.unwrap();
    assert!(list.contains("No signing keys yet."));
    assert_eq!(b.post(&delete, &[("csrf", &csrf)]).await.status(), 404);

    // A stream's page: its policy, and a playback URL with its playback id, never its key.
    let settings = serde_json::json!({
        "playbackPolicy": {"type": "jwt", "allowedOrigins": ["https://player.example"]}
    });
    let jwt = svc
        .create_stream(
            &actor,
            streamgate::service::streams::NewStream {
                name: "members only".into(),
                record: false,
                restreams: vec![],
                settings: settings.as_object().unwrap().clone(),
            },
        )
        .await
        .unwrap();
    let html = b
        .get(&format!("/dashboard/streams/{}", jwt.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<code>jwt</code>") && html.contains("https://player.example"));
    let url = element_text(&html, "playback-url");
    assert!(
        url.ends_with(&format!("/{}/index.m3u8", jwt.playback_id)),
        "{url}"
    );
    assert!(!url.contains("token="), "not private: {url}");
    assert!(!html.contains(jwt.stream_key.expose()), "no stream key");

    // A private (api.video `public: false`) stream: its token, still not its key.
    let private_stream = svc
        .create_stream(
            &actor,
            streamgate::service::streams::NewStream {
                name: "private".into(),
                record: false,
                restreams: vec![],
                settings: serde_json::json!({"public": false})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
        )
        .await
        .unwrap();
    let html = b
        .get(&format!("/dashboard/streams/{}", private_stream.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<code>public</code>"), "the default policy");
    let url = element_text(&html, "playback-url");
    let token = streamgate::service::playback::private_token(&private_stream);
    assert!(
        url.contains(&private_stream.playback_id) && url.ends_with(&format!("?token={token}")),
        "{url}"
    );
    assert!(
        !html.contains(private_stream.stream_key.expose()),
        "no stream key"
    );
}

/// Live jobs on the dashboard: their state as the hooks moved it, never their stream name, and
/// a cancel button that cancels (with the CSRF token, and only the environment's own jobs).
#[tokio::test]
async fn live_jobs_are_shown_and_cancelled_on_the_dashboard() {
    let s = setup(Backend::Sqlite).await;
    let pw = SecretString::new("admin password 0002".into());
    s.server
        .svc()
        .create_user(
            &streamgate::testkit::operator(),
            s.account.id,
            "grace",
            &pw,
            Role::Admin,
        )
        .await
        .unwrap();
    let (status, job) = crate::live_jobs::bc(
        &s,
        reqwest::Method::POST,
        "/v1/jobs",
        Some(serde_json::json!({"region": "eu-west-1"})),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let name = job["stream_name"].as_str().unwrap().to_string();
    assert_eq!(
        crate::live_jobs::hook(&s.server, "publish", &name, "").await,
        200
    );
    let mut b = Browser::new(&s.server.base_url);
    assert_eq!(b.sign_in("grace", pw.expose()).await.status(), 303);
    let page = b.get("/dashboard/jobs").await.text().await.unwrap();
    assert!(
        page.contains(&id) && page.contains("processing") && page.contains("eu-west-1"),
        "{page}"
    );
    assert!(
        !page.contains(&name),
        "the stream name is the encoder's secret"
    );
    let cancel = format!("/dashboard/jobs/{id}/cancel");
    assert_eq!(b.post(&cancel, &[("csrf", "x")]).await.status(), 403);
    let csrf = b.csrf("/dashboard/jobs").await;
    assert_eq!(b.post(&cancel, &[("csrf", &csrf)]).await.status(), 303);
    let page = b.get("/dashboard/jobs").await.text().await.unwrap();
    assert!(
        page.contains("cancelled") && !page.contains(&cancel),
        "{page}"
    );
    assert_eq!(
        crate::live_jobs::hook(&s.server, "publish", &name, "").await,
        403
    );
}
