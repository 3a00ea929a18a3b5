//! A real nginx for the end-to-end tests (Debian's `nginx` with `libnginx-mod-rtmp`, installed by
//! scripts/test-deps.sh): started unprivileged from a generated configuration under a temp dir,
//! on ports the kernel chose, killed when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::eventually;

pub const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// Fails the test, saying how to get them, unless nginx, its RTMP module and ffmpeg are here.
pub fn require_tools() {
    for tool in ["nginx", "ffmpeg"] {
        assert!(
            which(tool),
            "{tool} is missing: run ./scripts/test.sh (it installs nginx, libnginx-mod-rtmp, ffmpeg)"
        );
    }
    assert!(
        Path::new(RTMP_MODULE).exists(),
        "{RTMP_MODULE} is missing: run ./scripts/test.sh"
    );
}

pub fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
        .unwrap_or(false)
}

/// A free port, chosen by the kernel.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes `conf` as `dir/nginx.conf`, starts nginx with `dir` as its prefix, and waits until it
/// listens on every one of `ports` (failing the test with its error log if it does not).
pub async fn start(dir: &Path, conf: &str, ports: &[u16]) -> Child {
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("nginx");
    let up = eventually(Duration::from_secs(10), || async move {
        for port in ports {
            if tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    })
    .await;
    assert!(
        up.is_some(),
        "nginx did not listen on {ports:?}: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
    child
}
