//! The CLI contract, run as a separate process against the same store as a running server.

use std::process::Stdio;
use std::time::Duration;

use crate::common::eventually;
use serde_json::Value;
use streamgate::testkit::{Backend, TestDb, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_streamgate");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the CLI against a test database, with the master key its servers use.
async fn sg(db: &TestDb, args: &[&str]) -> Out {
    sg_env(
        &db.url,
        &[("STREAMGATE_MASTER_KEY", db.master_key.as_str())],
        args,
    )
    .await
}

/// Runs the CLI with extra environment; its data dir (vault key file) is a temp dir, never the repo.
async fn sg_env(db_url: &str, env: &[(&str, &str)], args: &[&str]) -> Out {
    let data_dir = std::env::temp_dir().join("streamgate-cli-tests");
    let out = Command::new(BIN)
        .args(args)
        .env("STREAMGATE_DATABASE_URL", db_url)
        .env("STREAMGATE_DATA_DIR", &data_dir)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run streamgate");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(out: &Out) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

async fn cli_revoke_reaches_a_running_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let url = server.db.url.clone();
    let acct = json(
        &sg(
            &server.db,
            &[
                "account", "create", "--name", "cli co", "--number", "0a0a", "--json",
            ],
        )
        .await,
    );
    assert_eq!(acct["number"], "0A0A");
    let id = acct["id"].as_str().unwrap().to_string();

    // --database-url as a flag works as well as the environment variable.
    let key = json(
        &sg_env(
            "",
            &[("STREAMGATE_MASTER_KEY", server.db.master_key.as_str())],
            &[
                "key",
                "create",
                "--account",
                "0A0A",
                "--name",
                "ci",
                "--database-url",
                &url,
                "--json",
            ],
        )
        .await,
    );
    let secret = key["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sg_production_"));
    let key_id = key["id"].as_str().unwrap().to_string();
    let sandbox = json(
        &sg(
            &server.db,
            &[
                "key",
                "create",
                "--account",
                &id,
                "--name",
                "web",
                "--env",
                "sandbox",
                "--cors-origin",
                "http://localhost:3000",
                "--cors-origin",
                "*",
                "--full-access",
                "--expires-in",
                "30d",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(sandbox["environment"], "sandbox");
    assert_eq!(
        sandbox["cors"]["allowedOrigins"],
        serde_json::json!(["http://localhost:3000", "*"])
    );
    assert_eq!(sandbox["cors"]["fullAccess"], true);
    assert!(sandbox["expiresAt"].is_string());

    let http = reqwest::Client::new();
    let me = |s: String| {
        let http = http.clone();
        let u = server.url("/sg/v1/me");
        async move {
            http.get(u)
                .bearer_auth(s)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(secret.clone()).await, 200);
    assert_eq!(me(secret.clone()).await, 200);

    // Listing never shows a secret, in either format.
    let list = sg(&server.db, &["key", "list", "--account", "0A0A"]).await;
    assert_eq!(list.code, 0);
    assert!(list.stdout.contains(&key_id) && list.stdout.contains("active"));
    let list_json = sg(&server.db, &["key", "list", "--account", "0A0A", "--json"]).await;
    assert_eq!(json(&list_json).as_array().unwrap().len(), 2);
    for out in [&list, &list_json] {
        assert!(
            !out.stdout.contains(&secret) && !out.stdout.contains(sandbox["key"].as_str().unwrap())
        );
    }

    let revoked = sg(&server.db, &["key", "revoke", &key_id]).await;
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    let took = eventually(Duration::from_secs(1), || {
        let f = me(secret.clone());
        async move { f.await == 401 }
    })
    .await;
    assert!(
        took.is_some(),
        "a key revoked by the CLI was still accepted after 1 s"
    );
    assert!(sg(&server.db, &["key", "list", "--account", "0A0A"])
        .await
        .stdout
        .contains("revoked"));
    server.stop().await;
}

#[tokio::test]
async fn cli_revoke_reaches_a_running_server_on_sqlite() {
    cli_revoke_reaches_a_running_server(Backend::Sqlite).await;
}

#[tokio::test]
async fn cli_revoke_reaches_a_running_server_on_postgres() {
    cli_revoke_reaches_a_running_server(Backend::Postgres).await;
}

#[tokio::test]
async fn cli_rejects_bad_input_clearly() {
    let db = TestDb::new(Backend::Sqlite).await;
    assert_eq!(
        sg(
            &db,
            &["account", "create", "--name", "a", "--number", "0001"]
        )
        .await
        .code,
        0
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["account", "create", "--name", "b", "--number", "0001"],
            "already exists",
        ),
        (
            &["account", "create", "--name", "b", "--number", "XYZ"],
            "hexadecimal",
        ),
        (
            &[
                "key",
                "create",
                "--account",
                "0001",
                "--name",
                "k",
                "--expires-in",
                "5y",
            ],
            "--expires-in",
        ),
        (
            &["key", "create", "--account", "0999", "--name", "k"],
            "account not found",
        ),
        (
            &[
                "key",
                "create",
                "--account",
                "0001",
                "--name",
                "k",
                "--cors-origin",
                "localhost",
            ],
            "origin",
        ),
        (
            &[
                "key",
                "create",
                "--account",
                "0001",
                "--name",
                "k",
                "--env",
                "staging",
            ],
            "staging",
        ),
        (&["key", "revoke", "not-a-uuid"], "UUID"),
        (
            &["key", "revoke", "01900000-0000-7000-8000-000000000000"],
            "not found",
        ),
    ];
    for (args, needle) in cases {
        let out = sg(&db, args).await;
        assert_ne!(out.code, 0, "{args:?} succeeded");
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
    let bad = sg_env("mysql://x", &[], &["migrate"]).await;
    assert!(
        bad.code != 0 && bad.stderr.contains("unsupported database url"),
        "{}",
        bad.stderr
    );
}

struct Served {
    child: tokio::process::Child,
    addr: String,
    stdout: Vec<String>,
    /// Its log (stderr), read as it comes: a pipe nobody reads fills up and stalls the server.
    stderr: tokio::task::JoinHandle<String>,
}

/// Starts `streamgate serve` on an ephemeral port and reads stdout up to the "listening" line.
async fn serve(data_dir: &std::path::Path) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("STREAMGATE_DATABASE_URL")
        .env("STREAMGATE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn serve");
    let mut err = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        let _ = err.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push(line.clone());
            if let Some(rest) = line.strip_prefix("streamgate listening on http://") {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("serve exited early: {stdout:?}");
    })
    .await
    .expect("serve did not start");
    Served {
        child,
        addr,
        stdout,
        stderr,
    }
}

async fn stop(mut s: Served) -> String {
    let pid = s.child.id().unwrap().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let err = s.stderr.await.unwrap();
    let status = s.child.wait().await.unwrap();
    assert!(
        status.success(),
        "serve did not stop cleanly: {status} {err}"
    );
    err
}

#[tokio::test]
async fn serve_bootstraps_once_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path()).await;
    let text = first.stdout.join("\n");
    let secret = text
        .split_whitespace()
        .find(|w| w.starts_with("sg_production_"))
        .unwrap_or_else(|| panic!("no key printed: {text}"))
        .to_string();
    assert!(text.contains("admin user   admin  password "));
    assert_eq!(
        text.matches(&secret).count(),
        1,
        "the key is printed exactly once"
    );
    // And one ingest token, for the first media server's hook URLs.
    let ingest_token = text
        .split_whitespace()
        .find(|w| w.starts_with("sgi_"))
        .unwrap_or_else(|| panic!("no ingest token printed: {text}"))
        .to_string();
    assert_eq!(text.matches("sgi_").count(), 1, "{text}");
    let http = reqwest::Client::new();
    let me = |addr: String, s: String| {
        let http = http.clone();
        async move {
            http.get(format!("http://{addr}/sg/v1/me"))
                .header("X-API-KEY", s)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(first.addr.clone(), secret.clone()).await, 200);
    let hook = |addr: String, token: String| {
        let http = http.clone();
        async move {
            http.post(format!(
                "http://{addr}/ingest/nginx-rtmp/publish?token={token}"
            ))
            .body("app=live&name=nope-nope&addr=10.0.0.1")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
        }
    };
    assert_eq!(
        hook(first.addr.clone(), ingest_token.clone()).await,
        403,
        "the printed ingest token authenticates a hook"
    );
    let err = stop(first).await;
    assert!(
        !err.contains(&ingest_token),
        "the bootstrap ingest token leaked into the logs"
    );
    assert!(
        err.contains("request"),
        "debug request logs expected: {err}"
    );
    assert!(
        !err.contains(&secret),
        "the bootstrap key leaked into the logs"
    );
    assert!(dir.path().join("streamgate.db").exists());

    // Second start: nothing new is created or printed, and the key still works.
    let second = serve(dir.path()).await;
    assert!(
        !second.stdout.join("\n").contains("sg_production_")
            && !second.stdout.join("\n").contains("sgi_"),
        "{:?}",
        second.stdout
    );
    assert_eq!(me(second.addr.clone(), secret.clone()).await, 200);
    let err = stop(second).await;
    assert!(!err.contains(&secret));
}

#[tokio::test]
async fn config_file_sits_between_defaults_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file.db");
    let from_env = dir.path().join("from-env.db");
    std::fs::write(
        dir.path().join("streamgate.toml"),
        format!("database_url = \"sqlite://{}\"\n", from_file.display()),
    )
    .unwrap();
    let run = |env_url: Option<String>, args: Vec<&'static str>| {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(dir.path())
            .env_remove("STREAMGATE_DATABASE_URL")
            .env_remove("STREAMGATE_CONFIG");
        if let Some(u) = env_url {
            c.env("STREAMGATE_DATABASE_URL", u);
        }
        c.output()
    };
    let out = run(
        None,
        vec![
            "account", "create", "--name", "f", "--number", "0F0F", "--json",
        ],
    )
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(from_file.exists() && !dir.path().join("streamgate-data").exists());

    // The environment beats the file.
    let env_url = format!("sqlite://{}", from_env.display());
    let out = run(Some(env_url.clone()), vec!["account", "list", "--json"])
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    // A flag beats the environment.
    let flag = format!("--database-url=sqlite://{}", from_file.display());
    let out = Command::new(BIN)
        .args(["account", "list", "--json", &flag])
        .current_dir(dir.path())
        .env("STREAMGATE_DATABASE_URL", &env_url)
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0F0F"));

    // A config file with a mistake stops the program with a clear message.
    std::fs::write(dir.path().join("streamgate.toml"), "databse_url = \"x\"\n").unwrap();
    let out = run(None, vec!["migrate"]).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting \"databse_url\""));
}

/// `token rotate-signing-key` in another process: running servers sign with the new key within a
/// second (they follow the change log), and tokens signed by the old key keep working.
#[tokio::test]
async fn cli_rotates_the_signing_key_of_running_servers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let svc = server.svc().clone();
    let account = svc
        .create_account(&streamgate::testkit::operator(), "rot", None)
        .await
        .unwrap();
    let key = svc
        .create_key(
            &streamgate::testkit::operator().in_account(account.id),
            streamgate::service::NewKey {
                name: "k".into(),
                environment: streamgate::domain::Environment::Production,
                allowed_origins: vec![],
                full_access: false,
                expires_in_ms: None,
                policy: Default::default(),
            },
        )
        .await
        .unwrap();
    let old = svc.issue_tokens(key.secret.expose(), None).await.unwrap();
    let out = sg_env(
        &server.db.url,
        &[("STREAMGATE_MASTER_KEY", server.db.master_key.as_str())],
        &["token", "rotate-signing-key", "--json"],
    )
    .await;
    let kid = json(&out)["kid"].as_str().unwrap().to_string();
    let took = eventually(Duration::from_secs(2), || {
        let svc = svc.clone();
        let key = key.secret.expose().to_string();
        let kid = kid.clone();
        async move {
            let t = svc.issue_tokens(&key, None).await.unwrap();
            streamgate::crypto::jwt::kid_of(t.access_token.expose()).unwrap() == kid
        }
    })
    .await;
    assert!(
        took.is_some(),
        "the server did not sign with the rotated key"
    );
    let http = reqwest::Client::new();
    let res = http
        .get(server.url("/live-streams"))
        .bearer_auth(old.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "a token of the retired key still verifies"
    );
    let jwks: Value = http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // Without the shared master key another process cannot use the sealed signing key.
    assert!(!out.stdout.contains("PRIVATE"));
    server.stop().await;
}

/// `user create` makes a dashboard user who can sign in; a generated password is printed once,
/// one from STREAMGATE_USER_PASSWORD is never printed; `user list` shows no hashes.
#[tokio::test]
async fn users_are_created_and_listed() {
    let server = TestServer::start(Backend::Sqlite).await;
    let acct = json(
        &sg(
            &server.db,
            &["account", "create", "--name", "dash co", "--json"],
        )
        .await,
    );
    let number = acct["number"].as_str().unwrap().to_string();
    let made = json(
        &sg(
            &server.db,
            &[
                "user",
                "create",
                "--account",
                &number,
                "--username",
                "olga",
                "--role",
                "admin",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(made["role"], "admin");
    let generated = made["password"].as_str().unwrap().to_string();
    assert!(generated.len() >= 12);
    let signed = server
        .svc()
        .sign_in(
            "olga",
            &streamgate::crypto::SecretString::new(generated.clone()),
            None,
        )
        .await;
    assert!(signed.is_ok(), "the printed password signs in");

    let chosen = "a chosen password 123";
    let out = sg_env(
        &server.db.url,
        &[
            ("STREAMGATE_MASTER_KEY", server.db.master_key.as_str()),
            ("STREAMGATE_USER_PASSWORD", chosen),
        ],
        &["user", "create", "--account", &number, "--username", "pia"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(chosen) && !out.stdout.contains("password:"));
    let bad = sg(
        &server.db,
        &[
            "user",
            "create",
            "--account",
            &number,
            "--username",
            "x",
            "--role",
            "root",
        ],
    )
    .await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("admin or member"), "{}", bad.stderr);

    let list = json(&sg(&server.db, &["user", "list", "--json"]).await);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"olga") && names.contains(&"pia"));
    let text = list.to_string();
    assert!(!text.contains("argon2") && !text.contains(&generated));
}
