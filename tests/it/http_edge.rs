//! The HTTP edge under slow and abusive clients (issue 18): hundreds of connections that never
//! finish a request head, trickle one byte at a time, or sit idle after a response are closed by
//! the server after their timeouts while a legitimate request is still answered; a request whose
//! body stalls is answered 408 in its dialect and closed; and with the connection cap full of
//! slow connections, a new legitimate connection is served (the longest-waiting are evicted).
//!
//! The limits are small here (seconds, a cap of 50) so that the tests are quick; no assertion
//! depends on how fast anything happens, only on what eventually does, within generous deadlines.

use std::time::Duration;

use crate::common::{eventually, setup_with, Setup};
use streamgate::testkit::Backend;
use streamgate::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Far longer than any timeout under test: only a server that never closes misses it.
const DEADLINE: Duration = Duration::from_secs(60);

async fn connect(s: &Setup) -> TcpStream {
    TcpStream::connect(s.server.addr).await.expect("connect")
}

/// Reads until the server closes the connection (EOF or reset); false if it is still open at
/// the deadline. Whatever the server sends first (a 408, say) is returned too.
async fn closed_by_server(mut stream: TcpStream) -> (bool, String) {
    let mut got = Vec::new();
    let outcome = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (outcome.is_ok(), String::from_utf8_lossy(&got).into_owned())
}

/// One response on a kept-alive connection: its head and `Content-Length` body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before a whole response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// The value of an unlabelled metric, or of one with exactly these labels.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
        .parse()
        .unwrap()
}

fn config(f: impl FnOnce(&mut streamgate::http::Settings)) -> Config {
    let mut c = Config::default();
    f(&mut c.http);
    c
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_and_a_legitimate_request_is_still_answered() {
    let s = setup_with(
        Backend::Sqlite,
        config(|h| {
            h.header_timeout = Duration::from_secs(2);
            h.idle_timeout = Duration::from_secs(3);
        }),
    )
    .await;

    // 100 that connect and say nothing, 100 that send part of a head and stop.
    let mut silent = Vec::new();
    let mut partial = Vec::new();
    for _ in 0..100 {
        silent.push(connect(&s).await);
        let mut p = connect(&s).await;
        p.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        partial.push(p);
    }
    // 100 kept alive: two requests each, answered, then silence.
    let mut idle = Vec::new();
    for _ in 0..100 {
        let mut c = connect(&s).await;
        for _ in 0..2 {
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let res = read_response(&mut c).await;
            assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        }
        idle.push(c);
    }
    // 10 that trickle a head one byte at a time, never finishing it: closed all the same, since
    // the head's time runs from its start, not from the last byte.
    let mut tricklers = JoinSet::new();
    for _ in 0..10 {
        let mut c = connect(&s).await;
        tricklers.spawn(async move {
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nX-Trickle: ").await;
            tokio::time::timeout(DEADLINE, async {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if c.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            })
            .await
            .is_ok()
        });
    }

    // With all of them open, a legitimate client is answered.
    let res = s.me(s.secret()).await;
    assert_eq!(res.status(), 200);
    let res = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // And every slow one is closed by the server.
    let mut waiting = JoinSet::new();
    for c in silent.into_iter().chain(partial).chain(idle) {
        waiting.spawn(closed_by_server(c));
    }
    for (closed, sent) in waiting.join_all().await {
        assert!(closed, "still open after {DEADLINE:?}");
        assert_eq!(sent, "", "closed without a word");
    }
    for closed in tricklers.join_all().await {
        assert!(
            closed,
            "a trickling head was still accepted after {DEADLINE:?}"
        );
    }
    let text = s.get_text("/metrics").await;
    assert!(
        metric(
            &text,
            "streamgate_http_connections_closed_total{reason=\"header_timeout\"}"
        ) >= 210.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "streamgate_http_connections_closed_total{reason=\"idle_timeout\"}"
        ) >= 100.0,
        "{text}"
    );
    // Only the connections still in use are open now.
    assert!(
        eventually(DEADLINE, || async {
            s.server.state.metrics.connections_open() <= 5
        })
        .await
        .is_some(),
        "{}",
        s.server.state.metrics.connections_open()
    );
}

#[tokio::test]
async fn a_stalled_request_body_is_answered_408_in_its_dialect_and_closed() {
    let s = setup_with(
        Backend::Sqlite,
        config(|h| h.body_timeout = Duration::from_secs(1)),
    )
    .await;

    // Livepeer: a JSON body promised 100 bytes, 9 sent.
    let mut c = connect(&s).await;
    let head = format!(
        "POST /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":",
        s.secret()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let (closed, sent) = closed_by_server(c).await;
    assert!(closed, "still open after {DEADLINE:?}");
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(
        sent.contains("{\"errors\":[\"the request body did not arrive in time\"]}"),
        "Livepeer's error format: {sent}"
    );

    // The dashboard's sign-in form: its own error page.
    let mut c = connect(&s).await;
    c.write_all(
        b"POST /dashboard/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nusername=adm",
    )
    .await
    .unwrap();
    let (closed, sent) = closed_by_server(c).await;
    assert!(closed, "still open after {DEADLINE:?}");
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");

    // A body that arrives is read as ever, and the connection serves the next request.
    let mut c = connect(&s).await;
    let body = "{\"name\":\"cam\"}";
    let req = format!(
        "POST /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        s.secret(),
        body.len()
    );
    c.write_all(req.as_bytes()).await.unwrap();
    let res = read_response(&mut c).await;
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut c).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn with_the_cap_full_of_slow_connections_a_new_one_is_served() {
    const CAP: usize = 50;
    let s = setup_with(
        Backend::Sqlite,
        config(|h| {
            // Long enough that only the cap closes anything here.
            h.header_timeout = Duration::from_secs(600);
            h.idle_timeout = Duration::from_secs(600);
            h.max_connections = Some(CAP);
        }),
    )
    .await;
    let metrics = s.server.state.metrics.clone();
    const SLOW_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

    // Fill the cap with slow heads…
    let mut oldest = Vec::new();
    for _ in 0..CAP {
        let mut c = connect(&s).await;
        c.write_all(SLOW_HEAD).await.unwrap();
        oldest.push(c);
    }
    assert!(
        eventually(DEADLINE, || async {
            metrics.connections_open() == CAP as u64
        })
        .await
        .is_some(),
        "{}",
        metrics.connections_open()
    );
    // …then keep coming with more: each makes room by closing the one waiting longest.
    let mut newer = Vec::new();
    for _ in 0..CAP {
        let mut c = connect(&s).await;
        c.write_all(SLOW_HEAD).await.unwrap();
        newer.push(c);
    }

    // A legitimate client (a new connection) is served all the same.
    let res = s.me(s.secret()).await;
    assert_eq!(res.status(), 200);
    let text = s.get_text("/metrics").await;
    assert_eq!(metric(&text, "streamgate_http_connections_max"), CAP as f64);
    assert!(
        metric(
            &text,
            "streamgate_http_connections_closed_total{reason=\"evicted\"}"
        ) >= CAP as f64,
        "{text}"
    );
    // The first slow ones were the ones closed.
    let mut waiting = JoinSet::new();
    for c in oldest {
        waiting.spawn(closed_by_server(c));
    }
    for (closed, _) in waiting.join_all().await {
        assert!(closed, "an old slow connection was kept");
    }
    assert!(metrics.connections_open() <= CAP as u64);
}
