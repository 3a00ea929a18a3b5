//! A small FTP client that uploads one file (clip delivery): log in, create the missing
//! directories, `STOR` the file in binary over a passive data connection, check the final reply.
//!
//! - Plain FTP or explicit FTPS (`AUTH TLS`, then `PBSZ 0`/`PROT P`: the data connection is under
//!   TLS too). TLS is rustls with the ring provider (the one reqwest already builds), trusting
//!   webpki-roots plus any roots the caller adds; one connector serves the control and the data
//!   connection, so the data connection resumes the control connection's TLS session, as servers
//!   that require session reuse expect.
//! - Passive mode only: `EPSV`, or `PASV` where the server does not know `EPSV`. The data
//!   connection always goes to the control connection's peer address: the address in a `PASV`
//!   reply is ignored, so a hostile server cannot point us elsewhere (FTP bounce, SSRF).
//! - Replies are read under bounds (line length, lines per reply) and a time limit per step, and
//!   their text reaches error messages only sanitized to printable ASCII, capped, and with the
//!   password blanked out. Commands refuse line breaks in what the caller passes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where and how to upload.
pub struct FtpUpload<'a> {
    /// The checked address(es) of the server's control port; connect to the first that answers.
    pub addrs: &'a [SocketAddr],
    /// The host name as the URL gave it (TLS server name; may be an IP literal).
    pub host: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    /// Absolute path of the file to write, as in ftp://host/dir/sub/file.mp4 → "/dir/sub/file.mp4"
    /// (already percent-decoded). Missing directories are created (MKD each component, ignoring
    /// 550 "exists" replies).
    pub path: &'a str,
    /// Explicit FTPS (AUTH TLS, then PBSZ 0 / PROT P, data channel under TLS too).
    pub tls: bool,
    /// Extra trusted root certificates (PEM bytes) for TLS, besides webpki-roots; None: webpki
    /// roots only.
    pub extra_roots_pem: Option<&'a [u8]>,
    /// Cut-off for each step (connect, each reply, the whole data transfer is bounded by the
    /// caller).
    pub timeout: Duration,
}

/// A failure: a short message, and whether retrying could help.
type Failure = (String, bool);

/// The longest reply line we buffer, and the most lines one reply may have.
const MAX_LINE: usize = 8 << 10;
const MAX_LINES: usize = 128;
/// The most reply text kept for messages.
const MAX_TEXT: usize = 200;

/// Uploads `len` bytes from `src` to `target.path` in binary (TYPE I), passive mode. Returns
/// bytes sent.
///
/// Errors are short human messages (with the FTP reply code and text where the server refused,
/// e.g. "FTP 530 Login incorrect.") that never contain the password. The second element says
/// whether retrying could help: network errors and 4xx replies yes, 5xx replies no.
pub async fn upload(
    target: &FtpUpload<'_>,
    mut src: impl AsyncRead + Unpin,
    len: u64,
) -> Result<u64, (String, bool)> {
    let (dirs, path) = split_path(target.path)?;
    if [target.user, target.password]
        .iter()
        .any(|s| s.contains(['\r', '\n', '\0']))
    {
        return Err(err(
            "FTP user name or password contains a line break",
            false,
        ));
    }
    let t = target.timeout;
    let tls = match target.tls {
        true => Some((
            connector(target.extra_roots_pem)?,
            server_name(target.host)?,
        )),
        false => None,
    };

    let (tcp, peer) = connect(target.addrs, t).await?;
    let mut ctl = Control::new(Box::new(tcp), target.password, t);
    let mut greeting = ctl.reply().await?;
    while greeting.code == 120 {
        greeting = ctl.reply().await?;
    }
    expect(&greeting, &[220])?;

    if let Some((connector, name)) = &tls {
        expect(&ctl.cmd("AUTH TLS").await?, &[234])?;
        ctl = ctl.start_tls(connector, name.clone()).await?;
    }
    let r = ctl.cmd(&format!("USER {}", target.user)).await?;
    if r.code == 331 {
        expect(
            &ctl.cmd(&format!("PASS {}", target.password)).await?,
            &[230, 202],
        )?;
    } else {
        expect(&r, &[230])?;
    }
    if tls.is_some() {
        expect(&ctl.cmd("PBSZ 0").await?, &[200])?;
        expect(&ctl.cmd("PROT P").await?, &[200])?;
    }
    expect(&ctl.cmd("TYPE I").await?, &[200])?;
    for dir in &dirs {
        let r = ctl.cmd(&format!("MKD {dir}")).await?;
        // 550 (or 521): it exists already; if it could not be made, STOR says so.
        if !matches!(r.code, 257 | 550 | 521) {
            return Err(fail(&r));
        }
    }

    let port = passive_port(&mut ctl).await?;
    let data = SocketAddr::new(peer.ip(), port);
    let data = step(t, "data connection", TcpStream::connect(data)).await?;
    let r = ctl.cmd(&format!("STOR {path}")).await?;
    expect(&r, &[125, 150])?;
    let mut data: Box<dyn Io> = match &tls {
        Some((connector, name)) => Box::new(
            step(
                t,
                "TLS on the data connection",
                connector.connect(name.clone(), data),
            )
            .await?,
        ),
        None => Box::new(data),
    };

    let sent = copy_with_progress(&mut (&mut src).take(len), &mut data, t).await;
    let sent = match sent {
        Ok(n) => n,
        Err(e) => {
            drop(data);
            // The server may say why it cut the transfer short.
            if let Ok(r) = ctl.reply().await {
                if r.code >= 400 {
                    return Err(fail(&r));
                }
            }
            return Err(io_failure("sending the file", &e));
        }
    };
    if sent != len {
        let msg = format!("FTP upload: the source ended after {sent} of {len} bytes");
        return Err((msg, true));
    }
    step(t, "closing the data connection", data.shutdown()).await?;
    // Wait for the server to close its end: closing ours with bytes of its unread (a TLS session
    // ticket) would reset the connection, and the server could lose the file's tail.
    let mut sink = tokio::io::sink();
    let drain = tokio::io::copy(&mut data, &mut sink);
    let _ = tokio::time::timeout(t, drain).await;
    drop(data);
    expect(&ctl.reply().await?, &[226, 250])?;

    // Done; the server's goodbye changes nothing.
    if ctl.cmd("QUIT").await.is_ok() {
        let _ = tokio::time::timeout(t, ctl.io.shutdown()).await;
    }
    Ok(sent)
}

/// The directories to make ("/a", "/a/b") and the file's path, from an absolute path.
fn split_path(path: &str) -> Result<(Vec<String>, String), Failure> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let ok = path.starts_with('/') && !path.ends_with('/') && !path.contains(['\r', '\n', '\0']);
    match parts.split_last() {
        Some((_, dirs)) if ok => {
            let made = (1..=dirs.len()).map(|i| format!("/{}", parts[..i].join("/")));
            Ok((made.collect(), format!("/{}", parts.join("/"))))
        }
        _ => Err(err(
            "FTP path must be absolute, name a file and hold no line break",
            false,
        )),
    }
}

/// Connects to the first address that answers; returns the stream and its peer.
async fn connect(addrs: &[SocketAddr], t: Duration) -> Result<(TcpStream, SocketAddr), Failure> {
    let mut last = ("FTP server has no address".to_string(), false);
    for &addr in addrs {
        match step(t, "connect", TcpStream::connect(addr)).await {
            Ok(s) => return Ok((s, addr)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The data port the server opened: `EPSV`, or `PASV` (whose address is ignored) when the
/// server does not know `EPSV`.
async fn passive_port(ctl: &mut Control) -> Result<u16, Failure> {
    let r = ctl.cmd("EPSV").await?;
    let port = match r.code {
        229 => epsv_port(&r.first),
        500..=599 => {
            let r = ctl.cmd("PASV").await?;
            expect(&r, &[227])?;
            pasv_port(&r.first)
        }
        _ => return Err(fail(&r)),
    };
    port.filter(|&p| p != 0)
        .ok_or_else(|| err("FTP malformed passive-mode reply", false))
}

/// "Entering Extended Passive Mode (|||6446|)" → 6446.
fn epsv_port(text: &str) -> Option<u16> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let d = inner.chars().next()?;
    match inner.split(d).collect::<Vec<_>>()[..] {
        ["", "", "", port, ""] => port.parse().ok(),
        _ => None,
    }
}

/// "Entering Passive Mode (h1,h2,h3,h4,p1,p2)" → p1 * 256 + p2 (the address is not used).
fn pasv_port(text: &str) -> Option<u16> {
    let text = text.split_once('(').map_or(text, |(_, numbers)| numbers);
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let run = &text[start..];
    let end = run
        .find(|c: char| !c.is_ascii_digit() && c != ',')
        .unwrap_or(run.len());
    let nums: Vec<u8> = run[..end]
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match nums[..] {
        [_, _, _, _, hi, lo] => Some(u16::from(hi) << 8 | u16::from(lo)),
        _ => None,
    }
}

/// One TLS client configuration for the control and the data connection.
fn connector(extra_roots_pem: Option<&[u8]>) -> Result<TlsConnector, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_roots_pem {
        let bad = |e: &dyn std::fmt::Display| (format!("FTP TLS: bad extra root: {e}"), false);
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            n += 1;
        }
        if n == 0 {
            return Err(bad(&"no certificate in the PEM"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| (format!("FTP TLS: {e}"), false))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

fn server_name(host: &str) -> Result<ServerName<'static>, Failure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|_| err("FTP TLS: the host is not a valid server name", false))
}

/// A byte stream: a TCP connection, or TLS over one.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A reply: its code, its first line (for parsing), and its text for messages.
struct Reply {
    code: u16,
    first: String,
    text: String,
}

/// The control connection.
struct Control {
    io: BufReader<Box<dyn Io>>,
    /// Blanked out of reply texts (as sent, and as sanitizing would show it).
    secrets: [String; 2],
    timeout: Duration,
}

impl Control {
    fn new(io: Box<dyn Io>, password: &str, timeout: Duration) -> Self {
        Self {
            io: BufReader::new(io),
            secrets: [password.to_string(), sanitize(password.as_bytes())],
            timeout,
        }
    }

    /// Wraps the connection in TLS (after the server's 234 to `AUTH TLS`).
    async fn start_tls(
        self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> Result<Self, Failure> {
        // Bytes sent before the handshake must not pass for replies under TLS.
        if !self.io.buffer().is_empty() {
            return Err(err("FTP server sent data ahead of TLS", false));
        }
        let io = self.io.into_inner();
        let tls = step(self.timeout, "TLS", connector.connect(name, io)).await?;
        Ok(Self {
            io: BufReader::new(Box::new(tls)),
            ..self
        })
    }

    /// Sends a command and reads its reply.
    async fn cmd(&mut self, line: &str) -> Result<Reply, Failure> {
        let line = format!("{line}\r\n");
        let t = self.timeout;
        let send = async {
            self.io.write_all(line.as_bytes()).await?;
            self.io.flush().await
        };
        step(t, "sending a command", send).await?;
        self.reply().await
    }

    /// Reads one (possibly multi-line) reply, within the time limit.
    async fn reply(&mut self) -> Result<Reply, Failure> {
        match tokio::time::timeout(self.timeout, self.read_reply()).await {
            Ok(r) => r,
            Err(_) => Err(err("FTP server did not reply in time", true)),
        }
    }

    async fn read_reply(&mut self) -> Result<Reply, Failure> {
        let first = self.line().await?;
        let code = match first.get(..3) {
            Some(c) if c.iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&c[0]) => c,
            _ => return Err(err("FTP server sent a malformed reply", false)),
        };
        let code_num = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let mut text = String::new();
        self.add_text(&mut text, first.get(4..).unwrap_or_default());
        if first.get(3) == Some(&b'-') {
            let mut lines = 1;
            loop {
                let line = self.line().await?;
                lines += 1;
                if lines > MAX_LINES {
                    return Err(err("FTP server sent too long a reply", false));
                }
                // "ddd text" ends the reply; "ddd-text" or any other line continues it.
                let ours = line.get(..3) == Some(code);
                let last = ours && matches!(line.get(3), None | Some(b' '));
                let body = match ours && matches!(line.get(3), None | Some(b' ' | b'-')) {
                    true => line.get(4..).unwrap_or_default(),
                    false => &line,
                };
                self.add_text(&mut text, body);
                if last {
                    break;
                }
            }
        }
        Ok(Reply {
            code: code_num,
            first: sanitize(first.get(4..).unwrap_or_default()),
            text,
        })
    }

    /// Appends a line's text, sanitized, without the password, within `MAX_TEXT`.
    fn add_text(&self, text: &mut String, line: &[u8]) {
        let mut line = sanitize(line).trim().to_string();
        for s in self.secrets.iter().filter(|s| !s.is_empty()) {
            line = line.replace(s.as_str(), "***");
        }
        if !text.is_empty() && !line.is_empty() {
            text.push(' ');
        }
        text.push_str(&line);
        text.truncate(MAX_TEXT);
    }

    /// One line, without its line break; at most `MAX_LINE` bytes.
    async fn line(&mut self) -> Result<Vec<u8>, Failure> {
        let mut line = Vec::new();
        loop {
            let buf = self
                .io
                .fill_buf()
                .await
                .map_err(|e| io_failure("reading a reply", &e))?;
            if buf.is_empty() {
                return Err(err("FTP server closed the connection", true));
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if line.len() + take > MAX_LINE {
                return Err(err("FTP server sent too long a reply line", false));
            }
            line.extend_from_slice(&buf[..take]);
            self.io.consume(take);
            if done {
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(line);
            }
        }
    }
}

/// Printable ASCII only: every other byte shows as '?'.
fn sanitize(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b' '..=b'~' => b as char,
            b'\t' => ' ',
            _ => '?',
        })
        .collect()
}

/// Ok when the reply's code is one of `ok`.
fn expect(r: &Reply, ok: &[u16]) -> Result<(), Failure> {
    match ok.contains(&r.code) {
        true => Ok(()),
        false => Err(fail(r)),
    }
}

/// The failure a reply stands for: "FTP 530 Login incorrect.", retryable when 4xx.
fn fail(r: &Reply) -> Failure {
    let msg = match r.text.is_empty() {
        true => format!("FTP {}", r.code),
        false => format!("FTP {} {}", r.code, r.text),
    };
    (msg, (400..500).contains(&r.code))
}

fn err(msg: &str, retry: bool) -> Failure {
    (msg.to_string(), retry)
}

/// A network error; retryable, unless TLS refused the server (an untrusted certificate).
fn io_failure(what: &str, e: &std::io::Error) -> Failure {
    let tls = e.get_ref().is_some_and(|i| i.is::<rustls::Error>());
    (format!("FTP {what}: {e}"), !tls)
}

/// A network step within the time limit.
async fn step<T>(
    t: Duration,
    what: &str,
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(t, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(io_failure(what, &e)),
        Err(_) => Err((format!("FTP {what}: timed out"), true)),
    }
}

/// Copies `src` into `dst`, failing when no chunk moves for `stall` (a server that stops
/// reading holds an attempt no longer than that, whatever the file's size).
async fn copy_with_progress(
    src: &mut (impl tokio::io::AsyncRead + Unpin),
    dst: &mut (impl tokio::io::AsyncWrite + Unpin + ?Sized),
    stall: Duration,
) -> std::io::Result<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stalled = || std::io::Error::new(std::io::ErrorKind::TimedOut, "no progress");
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = tokio::time::timeout(stall, src.read(&mut buf))
            .await
            .map_err(|_| stalled())??;
        if n == 0 {
            return Ok(sent);
        }
        tokio::time::timeout(stall, dst.write_all(&buf[..n]))
            .await
            .map_err(|_| stalled())??;
        sent += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_replies() {
        assert_eq!(
            epsv_port("Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(
            epsv_port("Entering Extended Passive Mode (!!!80!)"),
            Some(80)
        );
        assert_eq!(
            epsv_port("Entering Extended Passive Mode (|1|10.0.0.1|80|)"),
            None
        );
        assert_eq!(
            pasv_port("Entering Passive Mode (10,1,2,3,195,80)."),
            Some(50000)
        );
        assert_eq!(pasv_port("Entering Passive Mode 10,1,2,3,0,21"), Some(21));
        assert_eq!(pasv_port("Entering Passive Mode (10,1,2,3,300,80)"), None);
    }

    #[test]
    fn paths() {
        let (dirs, file) = split_path("/clips/2026/a.mp4").unwrap();
        assert_eq!(dirs, ["/clips", "/clips/2026"]);
        assert_eq!(file, "/clips/2026/a.mp4");
        assert_eq!(
            split_path("/a.mp4").unwrap(),
            (vec![], "/a.mp4".to_string())
        );
        assert!(split_path("a.mp4").is_err());
        assert!(split_path("/dir/").is_err());
        assert!(split_path("/a\r\nDELE x").is_err());
    }

    #[tokio::test]
    async fn replies_are_bounded_and_scrubbed() {
        let (mut server, client) = tokio::io::duplex(1 << 16);
        let mut ctl = Control::new(Box::new(client), "s3cret", Duration::from_secs(5));
        server
            .write_all(b"230-Welcome\r\n s3cret\x07 here\r\n230 Done.\r\n220 x\r\n")
            .await
            .unwrap();
        let r = ctl.reply().await.unwrap();
        assert_eq!((r.code, r.text.as_str()), (230, "Welcome ***? here Done."));
        assert_eq!(ctl.reply().await.unwrap().code, 220);
        server.write_all(&[b'a'; MAX_LINE + 1]).await.unwrap();
        assert!(ctl.reply().await.is_err());
        let long = format!("530 {}\r\n", "x".repeat(1000));
        let (mut server, client) = tokio::io::duplex(1 << 16);
        let mut ctl = Control::new(Box::new(client), "", Duration::from_secs(5));
        server.write_all(long.as_bytes()).await.unwrap();
        let (msg, retry) = fail(&ctl.reply().await.unwrap());
        assert!(msg.len() <= MAX_TEXT + 9 && !retry, "{msg}");
    }
}
