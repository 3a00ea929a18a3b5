//! Running the platforms' own client libraries (Python, Node) and the browser against the server.
//! The tools are installed by `scripts/test-deps.sh`; a missing tool fails the test with a hint,
//! it is never skipped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn clients_dir() -> PathBuf {
    repo().join("tests/clients")
}

const HINT: &str =
    "run ./scripts/test.sh (it installs the client libraries, Node packages and Chromium)";

/// The venv's Python (`STREAMGATE_TEST_PYTHON` overrides).
pub fn python() -> PathBuf {
    let p = std::env::var_os("STREAMGATE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-tools/venv/bin/python"));
    assert!(p.exists(), "{} is missing: {HINT}", p.display());
    p
}

pub fn node_modules_ready() {
    let m = clients_dir().join("node_modules");
    assert!(m.exists(), "{} is missing: {HINT}", m.display());
}

/// Runs a program to completion (with a time limit) and panics with its output unless it succeeds.
pub async fn run_ok(mut cmd: Command, what: &str, limit: Duration) -> String {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}: {HINT}"));
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
        .expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

/// moto's server, killed when dropped.
pub struct Moto {
    child: tokio::process::Child,
    pub url: String,
}

impl Moto {
    pub async fn start() -> Self {
        // A free port, handed to moto (which cannot report the one it chose).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port).await
    }

    /// On a port chosen beforehand (a server configured with its URL before it runs).
    pub async fn start_on(port: u16) -> Self {
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start moto's server (run ./scripts/test.sh to install it)");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http.get(&url).send().await.is_ok() {
                return Self { child, url };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto's server did not start on {url}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
