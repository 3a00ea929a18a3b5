//! The benchmark baseline: a bare hyper 1 HTTP/1.1 (keep-alive) server that answers every request
//! `200` with the fixed 2-byte body `ok` and does no other work. `bench/verify.sh` runs it beside
//! streamgate on the same machine and reports streamgate's figures as ratios to it, which cancels
//! most of a shared machine's noise.
//!
//! Usage: `baseline [ADDR]` (default `127.0.0.1:0`); prints the bound address as its first line.
//! `BASELINE_WORK_NS=N` makes it busy-wait N ns per request (a calibration case of the benchmark).

use std::convert::Infallible;
use std::error::Error;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// `BASELINE_WORK_NS`: busy-wait this long per request (default 0). bench/verify.sh runs a second
/// baseline with a little work to show how a saturated closed loop's latency reacts to any work.
static WORK: OnceLock<Duration> = OnceLock::new();

async fn answer(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let work = *WORK.get_or_init(|| {
        let ns = std::env::var("BASELINE_WORK_NS")
            .ok()
            .and_then(|v| v.parse().ok());
        Duration::from_nanos(ns.unwrap_or(0))
    });
    if !work.is_zero() {
        let start = Instant::now();
        while start.elapsed() < work {
            std::hint::spin_loop();
        }
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("{}", listener.local_addr()?);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off rather than exit or spin.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Same as streamgate: small exchanges, so no Nagle delay.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
