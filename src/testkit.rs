//! Boots the real server on an ephemeral port against a temporary SQLite file or a fresh
//! PostgreSQL schema. Used by the integration tests and the store suite on both backends.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::Config;
use crate::http::AppState;
use crate::service::Services;
use crate::store::{self, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL used by tests: `STREAMGATE_TEST_PG_URL`, default the local `test` database.
pub fn postgres_url() -> String {
    std::env::var("STREAMGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database for one test: removed (SQLite dir) when dropped; PostgreSQL schemas are named
/// `sgtest_*` and dropped by the test script before a run.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// The vault master key (base64) every process on this database must share: pass it to a
    /// CLI child as `STREAMGATE_MASTER_KEY`.
    pub master_key: String,
    dir: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn random_master_key() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("streamgate-test-"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = crate::config::sqlite_url(&dir.join("streamgate.db"));
                Self {
                    url,
                    backend,
                    master_key: random_master_key(),
                    dir: Some(dir),
                }
            }
            Backend::Postgres => Self::postgres_on(&postgres_url()).await,
        }
    }

    /// A fresh `sgtest_*` schema on the PostgreSQL server `base` names (a test's own instance,
    /// say), not the shared one.
    pub async fn postgres_on(base: &str) -> Self {
        use sqlx::Connection;
        let schema = unique("sgtest_");
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for this test: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Self {
            url,
            backend: Backend::Postgres,
            master_key: random_master_key(),
            dir: None,
        }
    }

    /// An SQLite database in `dir`, which the caller owns (a file system the test mounted, say):
    /// left in place when dropped.
    pub fn sqlite_in(dir: &std::path::Path) -> Self {
        Self {
            url: crate::config::sqlite_url(&dir.join("streamgate.db")),
            backend: Backend::Sqlite,
            master_key: random_master_key(),
            dir: None,
        }
    }

    /// A vault on this database's master key.
    pub fn vault(&self) -> crate::crypto::Vault {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&self.master_key)
            .expect("test master key");
        crate::crypto::Vault::from_master_key(&raw).expect("32-byte key")
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        let s = store::connect(&self.url).await.expect("connect store");
        s.migrate().await.expect("migrate");
        s
    }
}

/// A running streamgate on 127.0.0.1:<ephemeral>.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    /// The store the server runs on, for tests that look behind the API.
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    pub db: Arc<TestDb>,
    /// An ingest token made on first use (`ingest_token`).
    ingest_token: tokio::sync::OnceCell<String>,
    /// The uploaded files' directory the testkit made (removed when dropped).
    objects_dir: Option<std::path::PathBuf>,
}

impl TestServer {
    /// A server with the default configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Config::default()).await
    }

    /// A server with this configuration (tests build the value; nothing reads the environment).
    pub async fn start_with(backend: Backend, config: Config) -> Self {
        let db = Arc::new(TestDb::new(backend).await);
        Self::start_on_with(db, config).await
    }

    /// Another instance on the same database (as several servers share one PostgreSQL).
    pub async fn start_on(db: Arc<TestDb>) -> Self {
        Self::start_on_with(db, Config::default()).await
    }

    pub async fn start_on_with(db: Arc<TestDb>, mut config: Config) -> Self {
        // Uploaded files go to a directory of this server's own, removed when it is dropped.
        let objects_dir = (config.service.objects == Default::default()).then(|| {
            let dir = std::env::temp_dir().join(unique("streamgate-objects-"));
            config.service.objects = crate::service::objects::ObjectsSetting::Local(dir.clone());
            dir
        });
        let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
        let store = db.store().await;
        let svc = Services::new(
            store.clone(),
            clock.clone() as Arc<dyn Clock>,
            Arc::new(db.vault()),
            &config.service,
        )
        .expect("services");
        svc.init_vault().await.expect("vault");
        let state = AppState::new(svc, config.http);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(crate::server::run(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Self {
            addr,
            base_url: format!("http://{addr}"),
            state,
            clock,
            store,
            stop: Some(tx),
            handle: Some(handle),
            db,
            ingest_token: tokio::sync::OnceCell::new(),
            objects_dir,
        }
    }

    /// A valid ingest token of this server's store (made by the operator on first use, then
    /// the same one), for calling the ingest hooks as a media server does.
    pub async fn ingest_token(&self) -> String {
        self.ingest_token
            .get_or_init(|| async {
                self.svc()
                    .create_ingest_token(&operator(), "testkit")
                    .await
                    .expect("create ingest token")
                    .secret
                    .expose()
                    .to_string()
            })
            .await
            .clone()
    }

    /// The URL of an ingest hook with this server's ingest token in its query, as a media server
    /// is configured: `/ingest/srs` → `http://127.0.0.1:PORT/ingest/srs?token=sgi_…`.
    pub async fn ingest_url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{path}{sep}token={}",
            self.base_url,
            self.ingest_token().await
        )
    }

    pub fn svc(&self) -> &Arc<Services> {
        &self.state.svc
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Graceful stop: batched writes are flushed before this returns.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(d) = &self.objects_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Everything the process logs (all levels), for tests that assert no secret is ever logged.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs a process-wide TRACE subscriber writing into the capture (once per process).
    pub fn install() -> Self {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let cap = LogCapture::default();
                let writer = cap.clone();
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(tracing_subscriber::EnvFilter::new(
                        "trace,sqlx=trace,hyper=info,h2=info",
                    ))
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .try_init();
                cap
            })
            .clone()
    }

    pub fn contents(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The operator, as the CLI acts: tests that set up accounts and users act through it.
pub fn operator() -> crate::domain::Actor {
    crate::domain::Actor::operator(uuid::Uuid::nil(), crate::domain::Environment::Production)
}
