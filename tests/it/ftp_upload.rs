//! Clip delivery over FTP: the FTP client (`service::ftp`) against a real server, pyftpdlib (from
//! PyPI, pinned in tests/clients/requirements.txt), on an ephemeral port. A few MB land byte for
//! byte in a directory the client makes, over plain FTP and over explicit FTPS (TLS on the data
//! connection too, with a self-signed certificate the client is told to trust); a wrong password
//! and an untrusted certificate fail without retry, and write nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::external::python;
use streamgate::service::ftp::{upload, FtpUpload};

pub const USER: &str = "clips";
pub const PASSWORD: &str = "pw-Zq81!x";
const PATH: &str = "/clips/2026/a.mp4";

const SERVER: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

home, user, password, cert, mode = sys.argv[1:6]
auth = DummyAuthorizer()
auth.add_user(user, password, home, perm="elradfmw")
if cert:
    from pyftpdlib.handlers import TLS_FTPHandler
    handler = TLS_FTPHandler
    handler.certfile = cert
    handler.tls_control_required = True
    handler.tls_data_required = True
else:
    handler = FTPHandler
handler.authorizer = auth
if mode == "pasv-lies":
    # No EPSV, and PASV replies naming an address that is not the server's.
    handler.proto_cmds = {k: v for k, v in handler.proto_cmds.items() if k != "EPSV"}
    handler.masquerade_address = "203.0.113.9"
server = FTPServer(("127.0.0.1", 0), handler)
print("listening", server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;

/// pyftpdlib serving `home`, killed when dropped.
pub struct Server {
    _child: tokio::process::Child,
    pub addr: SocketAddr,
    pub home: PathBuf,
}

impl Server {
    /// Plain FTP, or FTPS with the certificate and key in `cert` (one PEM file); `mode`
    /// "pasv-lies": no EPSV, and PASV replies with another address.
    pub async fn start(dir: &Path, cert: Option<&Path>, mode: &str) -> Self {
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let script = dir.join("server.py");
        std::fs::write(&script, SERVER).unwrap();
        let mut child = Command::new(python())
            .arg(&script)
            .arg(&home)
            .args([USER, PASSWORD])
            .arg(cert.map(Path::as_os_str).unwrap_or_default())
            .arg(mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start pyftpdlib (run ./scripts/test.sh to install it)");
        // The server reports the port it was given.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("pyftpdlib did not start in time")
            .unwrap()
            .expect("pyftpdlib exited (is it installed in the venv?)");
        let port: u16 = line.strip_prefix("listening ").unwrap().parse().unwrap();
        Self {
            _child: child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            home,
        }
    }

    fn target<'a>(&'a self, addrs: &'a [SocketAddr], password: &'a str) -> FtpUpload<'a> {
        FtpUpload {
            addrs,
            host: "127.0.0.1",
            user: USER,
            password,
            path: PATH,
            tls: false,
            extra_roots_pem: None,
            timeout: Duration::from_secs(10),
        }
    }

    fn written(&self) -> Option<Vec<u8>> {
        std::fs::read(self.home.join(PATH.trim_start_matches('/'))).ok()
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost: (its PEM, the PEM file with its key).
pub fn self_signed(dir: &Path) -> (Vec<u8>, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // Not a CA: webpki refuses a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert_pem = std::fs::read(&cert).unwrap();
    let both = dir.join("server.pem");
    std::fs::write(
        &both,
        [cert_pem.clone(), std::fs::read(&key).unwrap()].concat(),
    )
    .unwrap();
    (cert_pem, both)
}

/// `n` pseudo-random bytes (xorshift).
fn clip(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[tokio::test]
async fn uploads_over_plain_ftp_into_new_directories() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, "").await;
    // A refused address first: the client moves on to the next.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let addrs = [closed, server.addr];
    let file = clip((3 << 20) + 12345, 7);
    let target = server.target(&addrs, PASSWORD);
    let sent = upload(&target, &file[..], file.len() as u64).await;
    assert_eq!(sent, Ok(file.len() as u64));
    assert!(server.written() == Some(file), "the stored file differs");

    // Again, over the existing directories and file.
    let file = clip(1 << 20, 8);
    let sent = upload(&target, &file[..], file.len() as u64).await;
    assert_eq!(sent, Ok(file.len() as u64));
    assert!(server.written() == Some(file), "the replaced file differs");
}

#[tokio::test]
async fn without_epsv_pasv_goes_to_the_control_connections_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, "pasv-lies").await;
    let addrs = [server.addr];
    let file = clip(1 << 20, 10);
    // Connecting to the address PASV names would time out (it is not routed here).
    let mut target = server.target(&addrs, PASSWORD);
    target.timeout = Duration::from_secs(3);
    let sent = upload(&target, &file[..], file.len() as u64).await;
    assert_eq!(sent, Ok(file.len() as u64));
    assert!(server.written() == Some(file), "the stored file differs");
}

#[tokio::test]
async fn a_wrong_password_fails_without_retry_or_leak() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None, "").await;
    let addrs = [server.addr];
    let wrong = "wrong-Pw-5521";
    let file = clip(1000, 9);
    let err = upload(&server.target(&addrs, wrong), &file[..], 1000)
        .await
        .unwrap_err();
    assert!(err.0.starts_with("FTP 530 "), "{err:?}");
    assert!(!err.1, "a refused login is not worth retrying: {err:?}");
    assert!(
        !err.0.contains(wrong) && !err.0.contains(PASSWORD),
        "{err:?}"
    );
    assert_eq!(server.written(), None);
}

#[tokio::test]
async fn uploads_over_explicit_ftps() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server_pem) = self_signed(dir.path());
    let server = Server::start(dir.path(), Some(&server_pem), "").await;
    let addrs = [server.addr];
    let file = clip((2 << 20) + 777, 11);

    // Without trusting the certificate: refused before logging in, nothing written.
    let mut target = server.target(&addrs, PASSWORD);
    target.tls = true;
    let err = upload(&target, &file[..], file.len() as u64)
        .await
        .unwrap_err();
    assert!(err.0.contains("certificate"), "{err:?}");
    assert!(
        !err.1,
        "an untrusted certificate is not worth retrying: {err:?}"
    );
    assert_eq!(server.written(), None);

    // Plain FTP is refused by this server (TLS required): the client does not fall back.
    let plain = server.target(&addrs, PASSWORD);
    let err = upload(&plain, &file[..], file.len() as u64)
        .await
        .unwrap_err();
    assert!(err.0.starts_with("FTP 5"), "{err:?}");
    assert_eq!(server.written(), None);

    target.extra_roots_pem = Some(&cert);
    let sent = upload(&target, &file[..], file.len() as u64).await;
    assert_eq!(sent, Ok(file.len() as u64));
    assert!(server.written() == Some(file), "the stored file differs");
}
