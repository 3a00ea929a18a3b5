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
