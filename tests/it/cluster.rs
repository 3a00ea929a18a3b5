//! A change made through any instance of a cluster is honoured by every other within the
//! documented bound, a second: each instance follows the store's change log (PostgreSQL
//! LISTEN/NOTIFY plus a catch-up query) and drops what it cached. Three in-process instances
//! share one PostgreSQL schema; every kind of change is made through each instance in turn, and
//! the other two must honour it before the deadline (the one that made it, at once).
//!
//! Before each change every instance is shown the object and shown not to honour the change
//! yet, so each holds the object in its caches: what is checked is the cached copy being
//! dropped, not a cold read. The checks wait up to the bound and assert nothing shorter.
//!
//! Table-driven: each kind of change is one entry of `kinds()`, a `Change` that knows how to
//! `prepare` its object, make the `change` through an instance, and tell whether an instance
//! has `honoured` it. A new kind of change is one more entry.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use streamgate::testkit::{Backend, TestServer};
use streamgate::Config;

use crate::common::{eventually, setup_with, Setup};

/// The documented bound: a change made anywhere is honoured everywhere within a second.
const BOUND: Duration = Duration::from_secs(1);

/// Three instances on one PostgreSQL schema, and the account's full-access key to manage it.
struct Cluster {
    s: Setup,
    others: [TestServer; 2],
    /// Numbers each hook call's reported client address, so no wait is ever throttled.
    calls: AtomicU32,
    /// Numbers the objects each case makes (names, DirPath instances).
    objects: AtomicU32,
}

impl Cluster {
    async fn start() -> Self {
        // The instances poll one stream key at the same time: a publish in flight on one must
        // not refuse another's as a second simultaneous publish.
        let mut config = Config::default();
        config.service.ingest_allow_concurrent = true;
        let s = setup_with(Backend::Postgres, config.clone()).await;
        let others = [
            TestServer::start_on_with(s.server.db.clone(), config.clone()).await,
            TestServer::start_on_with(s.server.db.clone(), config).await,
        ];
        let c = Self {
            s,
            others,
            calls: AtomicU32::new(0),
            objects: AtomicU32::new(0),
        };
        // Each instance's media-server token, made now rather than during a wait.
        for i in 0..3 {
            c.node(i).ingest_token().await;
        }
        c.settled().await;
        c
    }

    fn node(&self, i: usize) -> &TestServer {
        match i {
            0 => &self.s.server,
            i => &self.others[i - 1],
        }
    }

    /// A fresh number for this test's objects.
    fn next(&self) -> u32 {
        self.objects.fetch_add(1, Ordering::Relaxed)
    }

    /// A request to instance `on` with `secret` as a Bearer key: the status and the JSON body.
    async fn call(
        &self,
        on: usize,
        secret: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .s
            .http
            .request(method, self.node(on).url(path))
            .bearer_auth(secret);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The same with the account's full-access key (the operator's side of each change).
    async fn admin(
        &self,
        on: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call(on, self.s.secret(), method, path, body).await
    }

    /// An Edgecast request to instance `on` (`Authorization: TOK:<key>`, the account's number).
    async fn edgecast(&self, on: usize, method: Method, path: &str, body: Value) -> (u16, Value) {
        let url = self.node(on).url(&format!(
            "/v2/mcc/customers/{}/httpstreaming/dcp{path}",
            self.s.account.number
        ));
        let res = self
            .s
            .http
            .request(method, url)
            .header("authorization", format!("TOK:{}", self.s.secret()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Asks instance `on`'s nginx-rtmp hook whether `rtmp://…/{app}/{name}?{query}` may publish,
    /// as a media server does; an allowed publish is ended at once (a stream key publishes once
    /// at a time). Each call from its own client address: refusals while waiting are expected and
    /// must not be throttled.
    async fn publish(&self, on: usize, app: &str, name: &str, query: &str) -> u16 {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let addr = format!("10.9.{}.{}", n / 250 % 250, n % 250);
        let status = self.hook(on, "publish", app, name, query, &addr).await;
        if status == 200 {
            let done = self.hook(on, "publish_done", app, name, query, &addr).await;
            assert_eq!(done, 200, "publish-done on instance {on}");
        }
        status
    }

    async fn hook(
        &self,
        on: usize,
        call: &str,
        app: &str,
        name: &str,
        query: &str,
        addr: &str,
    ) -> u16 {
        let path = if call == "publish" {
            "/ingest/nginx-rtmp/publish"
        } else {
            "/ingest/nginx-rtmp/publish-done"
        };
        let mut form = format!("app={app}&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp://127.0.0.1:1935/{app}&pageurl=&addr={addr}&clientid=7&call={call}&name={name}&type=live");
        if !query.is_empty() {
            form.push('&');
            form.push_str(query);
        }
        self.s
            .http
            .post(self.node(on).ingest_url(path).await)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map(|r| crate::common::hook_status(&r))
            .unwrap()
    }

    /// Asks instance `on`'s nginx `auth_request` hook whether a viewer may fetch `uri`, from its
    /// own client address (refused credentials while waiting must not be throttled).
    async fn read(&self, on: usize, uri: &str) -> u16 {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let addr = format!("10.8.{}.{}", n / 250 % 250, n % 250);
        self.s
            .http
            .get(self.node(on).ingest_url("/ingest/nginx/auth-request").await)
            .header("x-original-uri", uri)
            .header("x-real-ip", addr)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Waits until every instance has applied the change log up to its latest entry, so what
    /// a case prepared is what each instance will cache. Not a timing assertion: the deadline
    /// only keeps a broken follower from hanging the test.
    async fn settled(&self) {
        let latest = self.s.server.store().latest_change().await.unwrap();
        for i in 0..3 {
            let done = eventually(Duration::from_secs(30), || async {
                self.node(i).svc().verifier.applied_seq() >= latest
            })
            .await;
            assert!(
                done.is_some(),
                "instance {i} does not follow the change log"
            );
        }
    }
}

/// One kind of change that every instance must honour once any instance made it.
#[async_trait]
trait Change: Send + Sync {
    fn name(&self) -> &'static str;
    /// Makes the object the change will touch (through instance 0) and shows it to every
    /// instance while it is unchanged.
    async fn prepare(&mut self, c: &Cluster);
    /// Makes the change through instance `via`.
    async fn change(&mut self, c: &Cluster, via: usize);
    /// Does instance `on` honour the change?
    async fn honoured(&self, c: &Cluster, on: usize) -> bool;
}

/// Every kind of change, one entry each (fresh state for each run).
fn kinds() -> Vec<Box<dyn Change>> {
    vec![
        Box::new(Revoke::default()),
        Box::new(PermissionRemoved::default()),
        Box::new(Reroll::default()),
        Box::new(Suspend::default()),
        Box::new(Resume::default()),
        Box::new(DirPathMoved::default()),
        Box::new(SigningKeyChanged::disable()),
        Box::new(SigningKeyChanged::delete()),
        Box::new(MadePrivate::default()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_made_through_one_instance_is_honoured_by_the_others_within_a_second() {
    let c = Cluster::start().await;
    let mut late = Vec::new();
    for via in 0..3 {
        for mut kind in kinds() {
            let name = kind.name();
            kind.prepare(&c).await;
            c.settled().await;
            // Every instance now caches the object as it is before the change.
            for on in 0..3 {
                assert!(
                    !kind.honoured(&c, on).await,
                    "{name}: instance {on} honours it before it was made"
                );
            }
            kind.change(&c, via).await;
            // The instance that made it honours it at once; the other two, from the same start,
            // each within the whole bound.
            let kind = &*kind;
            let wait = |on: usize| {
                let c = &c;
                async move {
                    let ok = eventually(BOUND, || kind.honoured(c, on)).await;
                    (on, ok.is_some())
                }
            };
            let others: Vec<usize> = (0..3).filter(|&o| o != via).collect();
            let (here, x, y) =
                tokio::join!(kind.honoured(&c, via), wait(others[0]), wait(others[1]));
            assert!(
                here,
                "{name}: not honoured at once by instance {via}, which made it"
            );
            for (on, ok) in [x, y] {
                if !ok {
                    late.push(format!(
                        "{name} made through instance {via}: not honoured by instance {on} within {BOUND:?}"
                    ));
                }
            }
        }
    }
    assert!(late.is_empty(), "{late:#?}");
}

/// A key made through instance 0 with these permissions: its id and secret.
async fn make_key(c: &Cluster, permissions: Value) -> (String, String) {
    let (status, k) = c
        .admin(
            0,
            Method::POST,
            "/sg/v1/keys",
            Some(json!({"name": format!("cluster{}", c.next()), "permissions": permissions})),
        )
        .await;
    assert_eq!(status, 201, "{k}");
    (
        k["id"].as_str().unwrap().to_string(),
        k["key"].as_str().unwrap().to_string(),
    )
}

/// `GET /sg/v1/me` on instance `on` with `secret`.
async fn me(c: &Cluster, on: usize, secret: &str) -> u16 {
    c.call(on, secret, Method::GET, "/sg/v1/me", None).await.0
}

/// A revoked key is refused.
#[derive(Default)]
struct Revoke {
    id: String,
    secret: String,
}

#[async_trait]
impl Change for Revoke {
    fn name(&self) -> &'static str {
        "key revocation"
    }
    async fn prepare(&mut self, c: &Cluster) {
        (self.id, self.secret) = make_key(c, json!(["*"])).await;
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let (status, _) = c
            .admin(
                via,
                Method::DELETE,
                &format!("/sg/v1/keys/{}", self.id),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        me(c, on, &self.secret).await == 401
    }
}

/// A key that loses a permission is refused what needed it (403), while still a valid key.
#[derive(Default)]
struct PermissionRemoved {
    id: String,
    secret: String,
}

#[async_trait]
impl Change for PermissionRemoved {
    fn name(&self) -> &'static str {
        "key permission removed"
    }
    async fn prepare(&mut self, c: &Cluster) {
        (self.id, self.secret) = make_key(c, json!(["keys:read", "streams:read"])).await;
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let (status, k) = c
            .admin(
                via,
                Method::PATCH,
                &format!("/sg/v1/keys/{}", self.id),
                Some(json!({"permissions": ["streams:read"]})),
            )
            .await;
        assert_eq!(status, 200, "{k}");
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        let path = format!("/sg/v1/keys/{}", self.id);
        let (status, _) = c.call(on, &self.secret, Method::GET, &path, None).await;
        status == 403 && me(c, on, &self.secret).await == 200
    }
}

/// A key rerolled without a grace period: the old secret is refused, the new one accepted.
#[derive(Default)]
struct Reroll {
    id: String,
    old: String,
    new: Option<String>,
}

#[async_trait]
impl Change for Reroll {
    fn name(&self) -> &'static str {
        "key reroll"
    }
    async fn prepare(&mut self, c: &Cluster) {
        (self.id, self.old) = make_key(c, json!(["*"])).await;
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let (status, k) = c
            .admin(
                via,
                Method::POST,
                &format!("/sg/v1/keys/{}/reroll", self.id),
                Some(json!({"gracePeriodSeconds": 0})),
            )
            .await;
        assert_eq!(status, 201, "{k}");
        self.new = Some(k["key"].as_str().unwrap().to_string());
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        let Some(new) = &self.new else {
            // Not rerolled yet: the old key still works (and is now cached).
            assert_eq!(me(c, on, &self.old).await, 200);
            return false;
        };
        me(c, on, &self.old).await == 401 && me(c, on, new).await == 200
    }
}

/// A stream made through instance 0 (Livepeer's API): its id and stream key.
async fn make_stream(c: &Cluster) -> (String, String) {
    let (status, st) = c
        .admin(
            0,
            Method::POST,
            "/api/stream",
            Some(json!({"name": format!("cam{}", c.next())})),
        )
        .await;
    assert_eq!(status, 201, "{st}");
    (
        st["id"].as_str().unwrap().to_string(),
        st["streamKey"].as_str().unwrap().to_string(),
    )
}

async fn set_suspended(c: &Cluster, via: usize, id: &str, suspended: bool) {
    let (status, body) = c
        .admin(
            via,
            Method::PATCH,
            &format!("/api/stream/{id}"),
            Some(json!({ "suspended": suspended })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

/// A suspended stream's key may not publish (the ingest hook refuses it).
#[derive(Default)]
struct Suspend {
    id: String,
    key: String,
}

#[async_trait]
impl Change for Suspend {
    fn name(&self) -> &'static str {
        "stream suspension"
    }
    async fn prepare(&mut self, c: &Cluster) {
        (self.id, self.key) = make_stream(c).await;
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        set_suspended(c, via, &self.id, true).await;
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        c.publish(on, "live", &self.key, "").await == 403
    }
}

/// A resumed stream's key may publish again (every instance had cached it suspended).
#[derive(Default)]
struct Resume {
    id: String,
    key: String,
}

#[async_trait]
impl Change for Resume {
    fn name(&self) -> &'static str {
        "stream resumption"
    }
    async fn prepare(&mut self, c: &Cluster) {
        (self.id, self.key) = make_stream(c).await;
        set_suspended(c, 0, &self.id, true).await;
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        set_suspended(c, via, &self.id, false).await;
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        c.publish(on, "live", &self.key, "").await == 200
    }
}

/// An Edgecast stream key whose DirPath moves: the key publishes to the new path and no longer
/// to the old one.
#[derive(Default)]
struct DirPathMoved {
    instance: String,
    key: String,
    id: i64,
}

#[async_trait]
impl Change for DirPathMoved {
    fn name(&self) -> &'static str {
        "Edgecast DirPath change"
    }
    async fn prepare(&mut self, c: &Cluster) {
        let n = c.next();
        self.instance = format!("inst{n}");
        self.key = format!("edgeKey{n}");
        let (status, k) = c
            .edgecast(
                0,
                Method::POST,
                "/streamkeys",
                json!({"DirPath": format!("{}/cam", self.instance), "Key": self.key}),
            )
            .await;
        assert_eq!(status, 200, "{k}");
        self.id = k["Id"].as_i64().unwrap();
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let (status, k) = c
            .edgecast(
                via,
                Method::PUT,
                &format!("/streamkeys/{}", self.id),
                json!({"DirPath": format!("{}/cam2", self.instance), "Key": self.key}),
            )
            .await;
        assert_eq!(status, 200, "{k}");
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        let new = c.publish(on, &self.instance, "cam2", &self.key).await;
        let old = c.publish(on, &self.instance, "cam", &self.key).await;
        new == 200 && old == 403
    }
}

/// A playback signing key disabled (or deleted): the JWTs it signed, verified and remembered by
/// every instance, are refused.
struct SigningKeyChanged {
    delete: bool,
    id: String,
    uri: String,
}

impl SigningKeyChanged {
    fn disable() -> Self {
        Self {
            delete: false,
            id: String::new(),
            uri: String::new(),
        }
    }

    fn delete() -> Self {
        Self {
            delete: true,
            ..Self::disable()
        }
    }
}

#[async_trait]
impl Change for SigningKeyChanged {
    fn name(&self) -> &'static str {
        if self.delete {
            "playback signing key deleted"
        } else {
            "playback signing key disabled"
        }
    }
    async fn prepare(&mut self, c: &Cluster) {
        let (status, st) = c
            .admin(
                0,
                Method::POST,
                "/api/stream",
                Some(
                    json!({"name": format!("jwt{}", c.next()), "playbackPolicy": {"type": "jwt"}}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{st}");
        let (status, k) = c
            .admin(0, Method::POST, "/api/access-control/signing-key", None)
            .await;
        assert_eq!(status, 201, "{k}");
        self.id = k["id"].as_str().unwrap().to_string();
        let pb = st["playbackId"].as_str().unwrap();
        let now = c.s.server.clock.now_ms_for_tests() / 1000;
        let jwt = streamgate::crypto::playback_jwt::sign(
            k["privateKey"].as_str().unwrap(),
            &json!({"sub": pb, "action": "pull", "pub": k["publicKey"], "exp": now + 3600}),
        )
        .unwrap();
        self.uri = format!("/hls/{pb}/index.m3u8?jwt={jwt}");
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let path = format!("/api/access-control/signing-key/{}", self.id);
        let (status, body) = if self.delete {
            c.admin(via, Method::DELETE, &path, None).await
        } else {
            c.admin(via, Method::PATCH, &path, Some(json!({"disabled": true})))
                .await
        };
        assert_eq!(status, 204, "{body}");
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        c.read(on, &self.uri).await == 403
    }
}

/// An api.video live stream made private: every instance asks viewers for its private token.
#[derive(Default)]
struct MadePrivate {
    id: String,
    uri: String,
}

#[async_trait]
impl Change for MadePrivate {
    fn name(&self) -> &'static str {
        "live stream made private"
    }
    async fn prepare(&mut self, c: &Cluster) {
        let (status, st) = c
            .admin(
                0,
                Method::POST,
                "/live-streams",
                Some(json!({"name": format!("av{}", c.next()), "public": true})),
            )
            .await;
        assert!(status == 200 || status == 201, "{st}");
        self.id = st["liveStreamId"].as_str().unwrap().to_string();
        let hls = st["assets"]["hls"].as_str().unwrap();
        let path = hls.split("://").nth(1).unwrap();
        self.uri = path[path.find('/').unwrap()..].to_string();
    }
    async fn change(&mut self, c: &Cluster, via: usize) {
        let (status, body) = c
            .admin(
                via,
                Method::PATCH,
                &format!("/live-streams/{}", self.id),
                Some(json!({"public": false})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    async fn honoured(&self, c: &Cluster, on: usize) -> bool {
        c.read(on, &self.uri).await == 401
    }
}
