#![allow(dead_code)]

pub mod external;
pub mod nginx;

use std::time::{Duration, Instant};

use streamgate::domain::{Account, Environment};
use streamgate::service::{CreatedKey, NewKey};
use streamgate::testkit::{Backend, TestServer};
use streamgate::Config;

pub struct Setup {
    pub server: TestServer,
    pub account: Account,
    pub key: CreatedKey,
    pub http: reqwest::Client,
}

impl Setup {
    pub fn secret(&self) -> &str {
        self.key.secret.expose()
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub async fn me(&self, secret: &str) -> reqwest::Response {
        self.http
            .get(self.url("/sg/v1/me"))
            .bearer_auth(secret)
            .send()
            .await
            .expect("request")
    }

    /// GET with one extra header.
    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header(header, value)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json body")
    }

    /// The JSON body of a GET authenticated with `secret` as a Bearer key.
    pub async fn get_json_as(&self, path: &str, secret: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .bearer_auth(secret)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json body")
    }

    /// The text of an unauthenticated GET (`/metrics`, say).
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text body")
    }

    pub async fn new_key(&self, name: &str, f: impl FnOnce(&mut NewKey)) -> CreatedKey {
        new_key(&self.server, self.account.id, name, f).await
    }
}

pub async fn new_key(
    server: &TestServer,
    account_id: uuid::Uuid,
    name: &str,
    f: impl FnOnce(&mut NewKey),
) -> CreatedKey {
    let mut req = NewKey {
        name: name.into(),
        environment: Environment::Production,
        allowed_origins: vec![],
        full_access: false,
        expires_in_ms: None,
        policy: Default::default(),
    };
    f(&mut req);
    let operator = streamgate::testkit::operator().in_account(account_id);
    server
        .svc()
        .create_key(&operator, req)
        .await
        .expect("create key")
}

pub async fn setup(backend: Backend) -> Setup {
    setup_with(backend, Config::default()).await
}

/// A lab's configuration: webhooks may target this machine's test receivers.
pub fn lab() -> Config {
    let mut c = Config::default();
    c.service.webhook_allow_private = true;
    c
}

pub async fn setup_with(backend: Backend, config: Config) -> Setup {
    let server = TestServer::start_with(backend, config).await;
    let account = server
        .svc()
        .create_account(&streamgate::testkit::operator(), "acme", None)
        .await
        .expect("account");
    let key = new_key(&server, account.id, "test", |_| {}).await;
    Setup {
        server,
        account,
        key,
        http: client(),
    }
}

/// A client that does not follow redirects: the hooks' 3xx answers are what a media server sees.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A publish hook's status as the hook tests count it: an allowed publish by stream key answers
/// nginx-rtmp's 302 to the stream's playback id (it renames the stream: `ingest.rs`
/// `a_publish_by_key_is_renamed_to_its_playback_id` checks the redirect itself), counted here as
/// the allowance it is.
pub fn hook_status(res: &reqwest::Response) -> u16 {
    let status = res.status().as_u16();
    if status == 302 {
        let to = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            !to.is_empty() && to.bytes().all(|b| b.is_ascii_alphanumeric()),
            "a publish redirected to {to:?}, not to a playback id"
        );
        return 200;
    }
    status
}

/// The four ways the platforms present a key, each carrying `secret`.
pub fn header_styles(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{secret}:"));
    vec![
        ("authorization", format!("Bearer {secret}")),
        ("authorization", format!("Basic {basic}")),
        ("x-api-key", secret.to_string()),
        ("authorization", format!("TOK:{secret}")),
    ]
}

/// Polls `f` until it returns true or `limit` passes; returns how long it took.
pub async fn eventually<F, Fut>(limit: Duration, mut f: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts an error body in streamgate's own format and returns its code.
pub async fn sg_error(res: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let v: serde_json::Value = res.json().await.expect("json error body");
    let code = v["error"]["code"].as_str().expect("error.code").to_string();
    let message = v["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_string();
    assert!(!message.is_empty());
    (code, message)
}
