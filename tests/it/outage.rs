//! Store outages, on a database of the test's own: a PostgreSQL instance it initialises, starts
//! and stops (`pg_ctl stop -m immediate`) under load, and an SQLite file on a small tmpfs it fills
//! up and makes immutable. Through it all: every request answers (within a second once the store
//! is gone) with 2xx or the store's error in its dialect's own format, never 500 and never a hang;
//! a revoked key is never answered 2xx; `/healthz` and `/readyz` report the outage; every
//! acknowledged create is there afterwards; service resumes by itself once the store is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use streamgate::testkit::{operator, TestDb, TestServer};
use streamgate::Config;

use crate::common::{eventually, new_key};

/// Once the store is gone, every request answers within this.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// Service resumes within this of the store coming back.
const RESUME_WITHIN: Duration = Duration::from_secs(5);
/// Past this after the store went away, the verifier's cache is stale (`STALE_AFTER`, 2 s) and
/// every request needs the store: it must be refused.
const SURELY_STALE: Duration = Duration::from_millis(2500);

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn unique(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}{}", uuid::Uuid::new_v4().simple()))
}

/// A PostgreSQL instance of this test's own (never the shared one on 5432).
struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    root: bool,
}

impl Postgres {
    /// The newest installed version's binaries, as scripts/test.sh picks the version.
    fn bin_dir() -> PathBuf {
        let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL under /usr/lib/postgresql")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        versions.sort_unstable();
        let v = versions.last().expect("a PostgreSQL version");
        PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))
    }

    /// Runs one of its tools (as `postgres` when we are root: PostgreSQL refuses root).
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn init() -> Self {
        let dir = unique("streamgate-outage-pg-");
        std::fs::create_dir_all(&dir).expect("pg dir");
        let root = is_root();
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(ok.success());
        }
        // A free port: bind port 0, read it, let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = Self {
            dir,
            bin: Self::bin_dir(),
            port,
            root,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.start();
        pg
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=60",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &opts,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if self.root {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dialect {
    Livepeer,
    ApiVideo,
    Sg,
    Edgecast,
}

const DIALECTS: [Dialect; 4] = [
    Dialect::Livepeer,
    Dialect::ApiVideo,
    Dialect::Sg,
    Dialect::Edgecast,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Read,
    /// A request with the revoked key.
    Revoked,
}

#[derive(Debug, Clone)]
struct Outcome {
    dialect: Dialect,
    kind: Kind,
    started: Instant,
    elapsed: Duration,
    /// 0: no answer (timed out, connection dropped).
    status: u16,
    /// The id a 2xx create returned.
    created: Option<String>,
    /// An error body that is not the dialect's format.
    bad_format: Option<String>,
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    account_number: String,
}

impl Client {
    fn edgecast(&self) -> String {
        format!(
            "/v2/mcc/customers/{}/httpstreaming/dcp/streamkeys",
            self.account_number
        )
    }

    fn create(&self, d: Dialect, n: u64) -> (String, Value) {
        let tag = format!("{}{n}", uuid::Uuid::new_v4().simple());
        match d {
            Dialect::Livepeer => ("/api/stream".into(), json!({"name": format!("lp {n}")})),
            Dialect::ApiVideo => ("/live-streams".into(), json!({"name": format!("av {n}")})),
            Dialect::Sg => ("/sg/v1/keys".into(), json!({"name": format!("sg {n}")})),
            Dialect::Edgecast => (
                self.edgecast(),
                json!({"DirPath": format!("inst/{tag}"), "Key": format!("k{}", &tag[..20])}),
            ),
        }
    }

    fn created_id(d: Dialect, body: &Value) -> Option<String> {
        match d {
            Dialect::Livepeer | Dialect::Sg => body["id"].as_str().map(str::to_string),
            Dialect::ApiVideo => body["liveStreamId"].as_str().map(str::to_string),
            Dialect::Edgecast => body["Id"].as_i64().map(|i| i.to_string()),
        }
    }

    fn get_path(&self, d: Dialect, id: &str) -> String {
        match d {
            Dialect::Livepeer => format!("/api/stream/{id}"),
            Dialect::ApiVideo => format!("/live-streams/{id}"),
            Dialect::Sg => format!("/sg/v1/keys/{id}"),
            Dialect::Edgecast => format!("{}/{id}", self.edgecast()),
        }
    }

    fn list_path(&self, d: Dialect) -> String {
        match d {
            Dialect::Livepeer => "/api/stream".into(),
            Dialect::ApiVideo => "/live-streams".into(),
            Dialect::Sg => "/sg/v1/keys".into(),
            Dialect::Edgecast => self.edgecast(),
        }
    }

    /// One request; (status, body, how long it took, whether an error body is the dialect's).
    async fn call(
        &self,
        d: Dialect,
        secret: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, Duration, Option<String>) {
        let auth = match d {
            Dialect::Edgecast => format!("TOK:{secret}"),
            _ => format!("Bearer {secret}"),
        };
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", auth)
            .header("accept", "application/json")
            // Far above the bound the test asserts: a hang shows as status 0, not a stuck test.
            .timeout(Duration::from_secs(10));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let start = Instant::now();
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => return (0, json!(e.to_string()), start.elapsed(), None),
        };
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = res.text().await.unwrap_or_default();
        let elapsed = start.elapsed();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let bad = (status >= 400)
            .then(|| error_format(d, status, &ct, &value).err())
            .flatten()
            .map(|why| format!("{d:?} {status} {ct} {text}: {why}"));
        (status, value, elapsed, bad)
    }
}

/// Is this error body the dialect's own format?
fn error_format(d: Dialect, status: u16, ct: &str, v: &Value) -> Result<(), &'static str> {
    let obj = v.as_object().ok_or("not a JSON object")?;
    match d {
        Dialect::Livepeer => {
            let errors = v["errors"].as_array().ok_or("no errors array")?;
            (obj.len() == 1 && !errors.is_empty() && errors.iter().all(|e| e.is_string()))
                .then_some(())
                .ok_or("not {\"errors\": [string…]}")
        }
        Dialect::ApiVideo => {
            if !ct.starts_with("application/problem+json") {
                return Err("not application/problem+json");
            }
            (v["status"].as_u64() == Some(u64::from(status))
                && v["title"].as_str().is_some_and(|t| !t.is_empty())
                && v["type"].as_str().is_some()
                && v["name"].as_str().is_some())
            .then_some(())
            .ok_or("not a problem with type, title, status, name")
        }
        Dialect::Sg => (obj.len() == 1
            && v["error"]["code"].as_str().is_some()
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()))
        .then_some(())
        .ok_or("not {\"error\": {code, message}}"),
        Dialect::Edgecast => (obj.len() == 1
            && v["Message"].as_str().is_some_and(|m| !m.is_empty()))
        .then_some(())
        .ok_or("not {\"Message\": string}"),
    }
}

/// Concurrent clients creating and reading through every dialect, and one presenting a revoked
/// key, until stopped; every answer recorded.
struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(client: &Client, secret: &str, revoked: &str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (c, secret, stop, out) = (
                client.clone(),
                secret.to_string(),
                stop.clone(),
                outcomes.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let d = DIALECTS[(w + n as usize) % DIALECTS.len()];
                    let (path, body) = c.create(d, n);
                    let started = Instant::now();
                    let (status, v, elapsed, bad) =
                        c.call(d, &secret, Method::POST, &path, Some(body)).await;
                    let created = (200..300)
                        .contains(&status)
                        .then(|| Client::created_id(d, &v))
                        .flatten();
                    push(
                        &out,
                        d,
                        Kind::Create,
                        started,
                        elapsed,
                        status,
                        created.clone(),
                        bad,
                    );
                    if let Some(id) = created {
                        let started = Instant::now();
                        let path = c.get_path(d, &id);
                        let (status, _, elapsed, bad) =
                            c.call(d, &secret, Method::GET, &path, None).await;
                        push(&out, d, Kind::Read, started, elapsed, status, None, bad);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        let (c, revoked, stop2, out) = (
            client.clone(),
            revoked.to_string(),
            stop.clone(),
            outcomes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop2.load(Ordering::Relaxed) {
                n += 1;
                let d = DIALECTS[n % DIALECTS.len()];
                let started = Instant::now();
                let path = c.list_path(d);
                let (status, _, elapsed, bad) = c.call(d, &revoked, Method::GET, &path, None).await;
                push(&out, d, Kind::Revoked, started, elapsed, status, None, bad);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
        Self {
            stop,
            outcomes,
            tasks,
        }
    }

    async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("load task");
        }
        let out = self.outcomes.lock().unwrap().clone();
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    out: &Mutex<Vec<Outcome>>,
    dialect: Dialect,
    kind: Kind,
    started: Instant,
    elapsed: Duration,
    status: u16,
    created: Option<String>,
    bad_format: Option<String>,
) {
    out.lock().unwrap().push(Outcome {
        dialect,
        kind,
        started,
        elapsed,
        status,
        created,
        bad_format,
    });
}

/// A server on `db` with a key, a revoked key (cached while valid first, then revoked) and a
/// client for every dialect.
async fn boot(db: Arc<TestDb>) -> (TestServer, Client, String, String) {
    let mut config = Config::default();
    // The load must not be refused for its rate.
    config.service.rate_limit.limit = 1_000_000;
    let server = TestServer::start_on_with(db, config).await;
    let account = server
        .svc()
        .create_account(&operator(), "outage", None)
        .await
        .expect("account");
    let key = new_key(&server, account.id, "load", |_| {}).await;
    let gone = new_key(&server, account.id, "revoked", |_| {}).await;
    let client = Client {
        http: reqwest::Client::new(),
        base: server.base_url.clone(),
        account_number: account.number.to_string(),
    };
    let secret = key.secret.expose().to_string();
    let revoked = gone.secret.expose().to_string();
    // Cached as valid, then revoked: refused from then on.
    let (status, ..) = client
        .call(
            Dialect::Livepeer,
            &revoked,
            Method::GET,
            "/api/stream",
            None,
        )
        .await;
    assert_eq!(status, 200);
    server
        .svc()
        .revoke_key(&operator().in_account(account.id), gone.key.id)
        .await
        .expect("revoke");
    let (status, ..) = client
        .call(
            Dialect::Livepeer,
            &revoked,
            Method::GET,
            "/api/stream",
            None,
        )
        .await;
    assert_eq!(status, 401);
    (server, client, secret, revoked)
}

async fn health(c: &Client) -> (Value, u16, Value) {
    let h = c.http.get(format!("{}/healthz", c.base)).send().await;
    let h = h.expect("healthz answers");
    assert_eq!(h.status(), 200, "/healthz is 200 while the process serves");
    let h: Value = h.json().await.expect("healthz json");
    let r = c
        .http
        .get(format!("{}/readyz", c.base))
        .send()
        .await
        .expect("readyz answers");
    let status = r.status().as_u16();
    (h, status, r.json().await.expect("readyz json"))
}

async fn ready(c: &Client) -> bool {
    let (h, status, r) = health(c).await;
    status == 200 && r["status"] == "ready" && h["store_reachable"] == true
}

async fn down(c: &Client) -> bool {
    let (h, status, r) = health(c).await;
    status == 503
        && r["status"] == "not_ready"
        && r["ready"] == false
        && h["status"] == "ok"
        && h["store_reachable"] == false
        && h["ready"] == false
}

/// Every create acknowledged is there, read back through its own dialect.
async fn all_acknowledged_present(c: &Client, secret: &str, outcomes: &[Outcome]) -> usize {
    let mut checked = 0;
    for o in outcomes {
        if let Some(id) = &o.created {
            let path = c.get_path(o.dialect, id);
            let (status, v, ..) = c.call(o.dialect, secret, Method::GET, &path, None).await;
            assert_eq!(status, 200, "acknowledged {:?} {id} lost: {v}", o.dialect);
            checked += 1;
        }
    }
    checked
}

/// What holds at every moment: an answer (no hang, no dropped connection), never a 500, the
/// dialect's own error format, and never 2xx for the revoked key.
fn assert_always(outcomes: &[Outcome], allowed_errors: &[u16]) {
    for o in outcomes {
        assert_ne!(o.status, 0, "no answer: {o:?}");
        assert!(
            o.bad_format.is_none(),
            "{}",
            o.bad_format.as_deref().unwrap_or("")
        );
        match o.kind {
            Kind::Revoked => assert!(
                [401, 429].contains(&o.status) || allowed_errors.contains(&o.status),
                "revoked key answered {}: {o:?}",
                o.status
            ),
            _ => assert!(
                (200..300).contains(&o.status) || allowed_errors.contains(&o.status),
                "unexpected {}: {o:?}",
                o.status
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_answers_503_and_recovers() {
    let pg = Arc::new(tokio::task::spawn_blocking(Postgres::init).await.unwrap());
    let db = Arc::new(TestDb::postgres_on(&pg.url()).await);
    let (server, c, secret, revoked) = boot(db).await;
    assert!(
        eventually(RESUME_WITHIN, || ready(&c)).await.is_some(),
        "ready before the outage: {:?}",
        health(&c).await
    );

    let load = Load::start(&c, &secret, &revoked, 4);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.stop()).await.unwrap();
    let stopped = Instant::now();
    // The probes report it (the health task probes every 500 ms).
    assert!(
        eventually(Duration::from_secs(3), || down(&c))
            .await
            .is_some(),
        "healthz/readyz report the outage: {:?}",
        health(&c).await
    );
    // Past the cache's trust: every request needs the store. The outage is held until every
    // dialect has had a create answered in that stretch (at least 1.5 s of it, at most 10 s
    // more): how many requests fit in a fixed stretch depends on how loaded the machine is.
    let hold = SURELY_STALE + Duration::from_millis(1500);
    tokio::time::sleep(hold.saturating_sub(stopped.elapsed())).await;
    let stale_from = stopped + SURELY_STALE;
    let _ = eventually(Duration::from_secs(10), || {
        let out = load.outcomes.clone();
        async move {
            let now = Instant::now();
            let out = out.lock().unwrap();
            DIALECTS.iter().all(|d| {
                out.iter().any(|o| {
                    o.dialect == *d
                        && o.kind == Kind::Create
                        && o.started >= stale_from
                        && o.started + o.elapsed < now
                })
            })
        }
    })
    .await;
    let restarting = Instant::now();
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.start())
        .await
        .unwrap();
    let started = Instant::now();
    // Service resumes by itself: ready again and a write through a dialect succeeds.
    let resumed = eventually(RESUME_WITHIN, || async {
        let (path, body) = c.create(Dialect::Livepeer, 0);
        let (status, ..) = c
            .call(Dialect::Livepeer, &secret, Method::POST, &path, Some(body))
            .await;
        status == 201 && ready(&c).await
    })
    .await;
    assert!(
        resumed.is_some(),
        "resumed within {RESUME_WITHIN:?}: {:?}",
        health(&c).await
    );
    // Some more load once back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcomes = load.finish().await;

    assert_always(&outcomes, &[503]);
    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started >= stopped && o.started < restarting)
        .collect();
    for o in &during {
        assert!(
            o.elapsed < ANSWER_WITHIN,
            "answered within {ANSWER_WITHIN:?}: {o:?}"
        );
    }
    // Answered before the restart began: one still waiting for a connection then may get the
    // store's real answer once it is back.
    let stale: Vec<&&Outcome> = during
        .iter()
        .filter(|o| o.started >= stopped + SURELY_STALE && o.started + o.elapsed < restarting)
        .collect();
    for d in DIALECTS {
        let refused = stale
            .iter()
            .filter(|o| o.dialect == d && o.kind == Kind::Create)
            .count();
        assert!(refused > 0, "{d:?}: requests while the store was down");
        let after = outcomes
            .iter()
            .filter(|o| o.dialect == d && o.started > started && o.created.is_some())
            .count();
        assert!(after > 0, "{d:?}: creates succeed again after the outage");
    }
    for o in &stale {
        assert_eq!(o.status, 503, "refused while the store is down: {o:?}");
    }
    let checked = all_acknowledged_present(&c, &secret, &outcomes).await;
    let worst = during.iter().map(|o| o.elapsed).max().unwrap_or_default();
    eprintln!(
        "postgres outage: {} requests ({} during the outage, slowest {worst:?}), {checked} acknowledged creates all present, resumed {:?} after the restart",
        outcomes.len(),
        during.len(),
        resumed.unwrap_or_default()
    );
    server.stop().await;
}

/// A tmpfs of `size` mounted on a fresh directory (root only), unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        if !is_root() {
            return None;
        }
        let dir = unique("streamgate-outage-fs-");
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .ok()?
            .success();
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Self { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        for f in ["streamgate.db", "streamgate.db-wal", "streamgate.db-shm"] {
            let _ = Command::new("chattr")
                .arg("-i")
                .arg(self.dir.join(f))
                .output();
        }
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Fills the file system `dir` is on with `dir/filler`, to the last byte.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    let _ = f.write_all(&[0u8; 512]);
    let _ = f.sync_all();
}

fn chattr(flag: &str, dir: &Path) {
    for f in ["streamgate.db", "streamgate.db-wal"] {
        let ok = Command::new("chattr")
            .arg(flag)
            .arg(dir.join(f))
            .status()
            .expect("chattr");
        assert!(ok.success(), "chattr {flag} {f}");
    }
}

/// One write and one read through every dialect: (write statuses, read statuses).
async fn probe_all(c: &Client, secret: &str, ids: &[(Dialect, String)]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (n, d) in DIALECTS.into_iter().enumerate() {
        let (path, body) = c.create(d, 1000 + n as u64);
        let started = Instant::now();
        let (status, v, elapsed, bad) = c.call(d, secret, Method::POST, &path, Some(body)).await;
        let created = (200..300)
            .contains(&status)
            .then(|| Client::created_id(d, &v))
            .flatten();
        out.push(Outcome {
            dialect: d,
            kind: Kind::Create,
            started,
            elapsed,
            status,
            created,
            bad_format: bad,
        });
    }
    for (d, id) in ids {
        let started = Instant::now();
        let path = c.get_path(*d, id);
        let (status, _, elapsed, bad) = c.call(*d, secret, Method::GET, &path, None).await;
        out.push(Outcome {
            dialect: *d,
            kind: Kind::Read,
            started,
            elapsed,
            status,
            created: None,
            bad_format: bad,
        });
    }
    out
}

/// Rounds of `probe_all` until `done` holds of a round or `limit` passes: how long it took (None:
/// never), and every answer of every round.
async fn rounds_until(
    limit: Duration,
    c: &Client,
    secret: &str,
    ids: &[(Dialect, String)],
    done: impl Fn(&Outcome) -> bool,
) -> (Option<Duration>, Vec<Outcome>) {
    let start = Instant::now();
    let mut all = Vec::new();
    loop {
        let round = probe_all(c, secret, ids).await;
        let ok = round.iter().all(&done);
        all.extend(round);
        if ok {
            return (Some(start.elapsed()), all);
        }
        if start.elapsed() > limit {
            return (None, all);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_full_disk_refuses_writes_with_507_and_recovers() {
    let Some(fs) = Tmpfs::mount("16m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
        return;
    };
    let db = Arc::new(TestDb::sqlite_in(&fs.dir));
    let (server, c, secret, revoked) = boot(db.clone()).await;
    assert!(eventually(RESUME_WITHIN, || ready(&c)).await.is_some());

    let load = Load::start(&c, &secret, &revoked, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One object of each dialect to read through it all.
    let before = probe_all(&c, &secret, &[]).await;
    let ids: Vec<(Dialect, String)> = before
        .iter()
        .map(|o| (o.dialect, o.created.clone().expect("created before")))
        .collect();

    // The disk fills up: writes that need new space answer 507, reads keep working. SQLite
    // also writes into space its WAL already holds once that is checkpointed: such writes
    // succeed, are acknowledged and kept (`assert_always` allows 2xx and checks them after).
    // The WAL is emptied first, so the first write after the fill needs new space.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("open");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .expect("checkpoint");
    }
    fill(&fs.dir);
    let (refused, full) = rounds_until(Duration::from_secs(1), &c, &secret, &ids, |o| {
        o.kind == Kind::Read || o.status == 507
    })
    .await;
    let full_refusals = full.iter().filter(|o| o.status == 507).count();
    assert!(
        refused.is_some() || full_refusals > 0,
        "writes refused with 507 on a full disk: {full:?}"
    );
    for o in &full {
        match o.kind {
            Kind::Read => assert_eq!(o.status, 200, "reads work on a full disk: {o:?}"),
            _ => assert!([200, 201, 507].contains(&o.status), "{o:?}"),
        }
    }
    // Space returns: writes resume by themselves.
    std::fs::remove_file(fs.dir.join("filler")).expect("free space");
    let (resumed_full, after_full) = rounds_until(RESUME_WITHIN, &c, &secret, &ids, |o| {
        (200..300).contains(&o.status)
    })
    .await;
    assert!(
        resumed_full.is_some(),
        "writes resume once space returns: {after_full:?}"
    );

    let mut outcomes = load.finish().await;
    for set in [before, full, after_full] {
        outcomes.extend(set);
    }
    assert_always(&outcomes, &[503, 507]);
    let checked = all_acknowledged_present(&c, &secret, &outcomes).await;
    server.stop().await;

    // Nothing corrupted.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("open");
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let (wal,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM streams")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert!(wal > 0);
    conn.close().await.expect("close");
    eprintln!(
        "sqlite outage: {} requests, {checked} acknowledged creates all present, integrity ok",
        outcomes.len()
    );
    drop(fs);
}

/// Whether chattr can make a file on `dir`'s file system immutable here (root on ext4, say).
fn can_make_immutable(dir: &Path) -> bool {
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"x").is_err() {
        return false;
    }
    let ok = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .output()
        .is_ok_and(|o| o.status.success());
    let _ = Command::new("chattr").arg("-i").arg(&probe).output();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// The database file turns read-only under a running server: immutable (`chattr +i`, which binds
/// root too and open descriptors as well, on ext4; tmpfs ignores it for those), the WAL with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_read_only_file_refuses_writes_with_503_and_recovers() {
    let dir = unique("streamgate-outage-ro-");
    std::fs::create_dir_all(&dir).expect("dir");
    if !can_make_immutable(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!(
            "SKIPPED: chattr +i needs root (CAP_LINUX_IMMUTABLE) on a file system that has it"
        );
        return;
    }
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            chattr_quiet("-i", &self.0);
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let db = Arc::new(TestDb::sqlite_in(&dir));
    let (server, c, secret, revoked) = boot(db.clone()).await;
    assert!(eventually(RESUME_WITHIN, || ready(&c)).await.is_some());
    let load = Load::start(&c, &secret, &revoked, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = probe_all(&c, &secret, &[]).await;
    let ids: Vec<(Dialect, String)> = before
        .iter()
        .map(|o| (o.dialect, o.created.clone().expect("created before")))
        .collect();
    let fs_dir = dir.clone();
    // The file turns read-only (immutable, which binds root too): writes answer 503.
    chattr("+i", &fs_dir);
    let (refused_ro, ro) = rounds_until(Duration::from_secs(3), &c, &secret, &ids, |o| {
        o.kind == Kind::Read || o.status == 503
    })
    .await;
    chattr("-i", &fs_dir);
    assert!(
        refused_ro.is_some(),
        "writes refused with 503 on a read-only file: {ro:?}"
    );
    for o in &ro {
        match o.kind {
            Kind::Read => assert_eq!(o.status, 200, "reads work on a read-only file: {o:?}"),
            _ => assert!([200, 201, 503].contains(&o.status), "{o:?}"),
        }
    }
    let (resumed_ro, after_ro) = rounds_until(RESUME_WITHIN, &c, &secret, &ids, |o| {
        (200..300).contains(&o.status)
    })
    .await;
    assert!(
        eventually(RESUME_WITHIN, || ready(&c)).await.is_some(),
        "ready again: {:?}",
        health(&c).await
    );
    assert!(
        resumed_ro.is_some(),
        "writes resume once the file is writable: {after_ro:?}"
    );

    let mut outcomes = load.finish().await;
    for set in [before, ro, after_ro] {
        outcomes.extend(set);
    }
    assert_always(&outcomes, &[503]);
    let checked = all_acknowledged_present(&c, &secret, &outcomes).await;
    server.stop().await;
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("open");
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
    conn.close().await.expect("close");
    eprintln!(
        "sqlite read-only: {} requests, {checked} acknowledged creates all present, integrity ok",
        outcomes.len()
    );
}

fn chattr_quiet(flag: &str, dir: &Path) {
    for f in ["streamgate.db", "streamgate.db-wal"] {
        let _ = Command::new("chattr").arg(flag).arg(dir.join(f)).output();
    }
}
