//! The server's open connections: what each is waiting for, the timeouts that close the ones a
//! client leaves hanging, the cap on how many may be open, and graceful shutdown.
//!
//! **Phases.** A connection is always in one of four phases, set from the places that see them
//! happen (all polled on the connection's own task, so no cross-task signalling is needed):
//! - *head*: waiting for (the rest of) a request head — from accept, and from the first byte of
//!   each later request ([`Tracked`] sees the bytes arrive);
//! - *busy*: a request is being served (the accept loop's service marks it);
//! - *body*: the request's handler waits for body bytes that have not arrived ([`TimedBody`]);
//! - *idle*: between requests on a kept-alive connection (from the moment the response is ready,
//!   so a client that does not read its response is idle too).
//!
//! **Timeouts.** *head* lasts at most `header_timeout`, *idle* at most `idle_timeout`; then the
//! connection is closed. A request body must have arrived `body_timeout` after its head (plus a
//! second per `MIN_BODY_RATE` bytes it has sent, so large uploads at a fair rate go through), else
//! reading it fails and the route answers 408 (see [`is_body_timeout`]) and the connection closes.
//! hyper 1.7 has a header-read timeout of its own, but its timer also runs while a kept-alive
//! connection waits for its next request (proto/h1/conn.rs: `poll_read_head` starts it and
//! `State::idle` re-arms the read), so head and idle would share one length; and it cannot say
//! which connections are waiting, which the cap needs.
//!
//! **The cap.** At most `max_connections` connections hold a slot. When a new one arrives and all
//! are taken, the connections that have waited longest on their client (in *head*, *body* or
//! *idle*: a slow or silent client, or an idle keep-alive) are closed to make room, about 1 % of
//! the cap at a time so that the scan for them is rare. A connection whose request the server is
//! working on is never closed for this; if every slot is such a one, the newcomer is closed at
//! once. So slow clients cannot keep a legitimate one out: they are the first to go.
//!
//! **Shutdown.** Every connection is told to finish the request it is serving and close (an idle
//! one closes at once), and [`Connections::shutdown`] waits until all have. hyper-util's
//! `GracefulShutdown` does the same by polling a watch channel each time a connection is polled,
//! which costs about as much per request as a verify-cache lookup; here a poll costs a few
//! atomic loads: each connection's task waker is registered once, and shutdown sets a flag and
//! wakes them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper_util::server::graceful::GracefulConnection;
use rustc_hash::FxHashMap as HashMap;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::metrics::{Closed, Metrics};

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const BODY: u8 = 2;
const IDLE: u8 = 3;

/// What the connections may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

/// One connection's phase, shared by its socket, its service, its request bodies and its task.
pub struct Conn {
    phase: AtomicU8,
    /// When the phase began: ms since `epoch`.
    since: AtomicU64,
    /// Set when the connection is evicted; its task then closes it.
    evicted: AtomicBool,
    epoch: Instant,
    body_timeout: Duration,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.since.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    /// A complete request head arrived and is being served.
    pub fn request_started(&self) {
        self.phase.store(BUSY, Ordering::Release);
    }

    /// Its response is ready: the connection waits for the next request.
    pub fn request_done(&self) {
        self.enter(IDLE);
    }

    /// `body`, failing once it has not arrived `body_timeout` after now (the head's arrival).
    pub fn timed_body<B>(self: &Arc<Self>, body: B) -> TimedBody<B> {
        TimedBody {
            inner: body,
            deadline: Instant::now() + self.body_timeout,
            sleep: None,
            conn: self.clone(),
            waiting: false,
        }
    }

    /// Bytes arrived from the client: a new request's head begins if it was idle.
    fn bytes_read(&self) {
        if self.phase.load(Ordering::Relaxed) == IDLE {
            self.enter(HEAD);
        }
    }

    /// When the connection must close if it stays in its phase (None: not while serving).
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let timeout = match self.phase.load(Ordering::Acquire) {
            HEAD => limits.header_timeout,
            IDLE => limits.idle_timeout,
            _ => return None,
        };
        let since = Duration::from_millis(self.since.load(Ordering::Relaxed));
        Some(self.epoch + since + timeout)
    }

    /// Waiting on its client (so it may be evicted): since when, in ms.
    fn waiting_since(&self) -> Option<u64> {
        match self.phase.load(Ordering::Acquire) {
            BUSY => None,
            _ => Some(self.since.load(Ordering::Relaxed)),
        }
    }

    fn phase_name(&self) -> Closed {
        match self.phase.load(Ordering::Acquire) {
            HEAD => Closed::HeaderTimeout,
            _ => Closed::IdleTimeout,
        }
    }
}

struct Entry {
    conn: Arc<Conn>,
    /// The connection's task waker, once it has been polled.
    waker: Option<Waker>,
}

struct Shared {
    limits: Limits,
    epoch: Instant,
    metrics: Arc<Metrics>,
    stopping: AtomicBool,
    /// The connections holding a slot, by id (an evicted one leaves at once, before it closes).
    entries: Mutex<HashMap<u64, Entry>>,
    next_id: AtomicU64,
    /// Connections not closed yet.
    live: AtomicUsize,
    /// Signalled when the last connection closes during shutdown.
    all_closed: Notify,
}

/// The connections of one server.
pub struct Connections(Arc<Shared>);

/// A slot held by one connection; freed when dropped.
pub struct Admitted {
    shared: Arc<Shared>,
    id: u64,
    pub conn: Arc<Conn>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut e) = self.shared.entries.lock() {
            e.remove(&self.id);
        }
        self.shared.metrics.connection_closed_now();
        if self.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A permit is kept if nobody waits yet, so shutdown cannot miss it.
            self.shared.all_closed.notify_one();
        }
    }
}

impl Connections {
    pub fn new(limits: Limits, metrics: Arc<Metrics>) -> Self {
        metrics.set_connection_cap(limits.max_connections);
        Self(Arc::new(Shared {
            limits,
            epoch: Instant::now(),
            metrics,
            stopping: AtomicBool::new(false),
            entries: Mutex::new(HashMap::default()),
            next_id: AtomicU64::new(0),
            live: AtomicUsize::new(0),
            all_closed: Notify::new(),
        }))
    }

    /// A slot for a new connection, made by evicting the connections that have waited longest
    /// on their clients when all are taken; None when every slot is serving a request.
    pub fn admit(&self) -> Option<Admitted> {
        let shared = &self.0;
        let conn = Arc::new(Conn {
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            epoch: shared.epoch,
            body_timeout: shared.limits.body_timeout,
        });
        conn.enter(HEAD);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut entries = shared.entries.lock().ok()?;
        if entries.len() >= shared.limits.max_connections {
            let evicted = evict(&mut entries, shared.limits.max_connections);
            shared.metrics.connections_evicted(evicted);
            if evicted == 0 {
                drop(entries);
                shared.metrics.connection_refused();
                return None;
            }
        }
        entries.insert(
            id,
            Entry {
                conn: conn.clone(),
                waker: None,
            },
        );
        drop(entries);
        shared.live.fetch_add(1, Ordering::AcqRel);
        shared.metrics.connection_opened();
        Some(Admitted {
            shared: shared.clone(),
            id,
            conn,
        })
    }

    /// `conn`, served under its slot's timeouts, closed when evicted, and told to shut down
    /// gracefully once [`Connections::shutdown`] is called. Spawn the result as its own task:
    /// its waker is registered once, on the first poll.
    pub fn watch<C: GracefulConnection>(&self, slot: Admitted, conn: C) -> Watched<C> {
        let first = slot
            .conn
            .deadline(&self.0.limits)
            .unwrap_or_else(Instant::now);
        Watched {
            conn,
            sleep: tokio::time::sleep_until(first),
            armed: first,
            slot,
            registered: false,
            told: false,
        }
    }

    /// Connections not closed yet.
    pub fn live(&self) -> usize {
        self.0.live.load(Ordering::Acquire)
    }

    /// Tells every connection to finish and close, and waits until all have.
    pub async fn shutdown(self) {
        self.0.stopping.store(true, Ordering::Release);
        let wakers: Vec<Waker> = match self.0.entries.lock() {
            Ok(e) => e.values().filter_map(|e| e.waker.clone()).collect(),
            Err(_) => Vec::new(),
        };
        for w in wakers {
            w.wake();
        }
        while self.live() > 0 {
            self.0.all_closed.notified().await;
        }
    }
}

/// Closes the connections that have waited longest on their clients: about 1 % of `cap` (at
/// least one), so that the scan runs once per that many admissions. Returns how many.
fn evict(entries: &mut HashMap<u64, Entry>, cap: usize) -> usize {
    let mut waiting: Vec<(u64, u64)> = entries
        .iter()
        .filter_map(|(id, e)| e.conn.waiting_since().map(|since| (since, *id)))
        .collect();
    let n = (cap / 100).max(1).min(waiting.len());
    if n == 0 {
        return 0;
    }
    if n < waiting.len() {
        waiting.select_nth_unstable(n - 1);
    }
    for (_, id) in &waiting[..n] {
        if let Some(e) = entries.remove(id) {
            e.conn.evicted.store(true, Ordering::Release);
            if let Some(w) = e.waker {
                w.wake();
            }
        }
    }
    n
}

/// Why a connection ended.
#[derive(Debug)]
pub enum Ended<E> {
    /// hyper finished it (the client closed, an error, shutdown).
    Served(E),
    /// The server closed it: a timeout or eviction.
    Closed(Closed),
}

pin_project_lite::pin_project! {
    /// A connection under [`Connections`].
    pub struct Watched<C> {
        #[pin]
        conn: C,
        #[pin]
        sleep: Sleep,
        // When `sleep` fires.
        armed: Instant,
        slot: Admitted,
        registered: bool,
        told: bool,
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = Ended<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let shared = &this.slot.shared;
        if !*this.registered {
            // Registered before the flags are read: a shutdown or an eviction that happens
            // meanwhile either is seen below or finds this waker to wake.
            if let Ok(mut e) = shared.entries.lock() {
                if let Some(entry) = e.get_mut(&this.slot.id) {
                    entry.waker = Some(cx.waker().clone());
                }
            }
            *this.registered = true;
        }
        let conn = &this.slot.conn;
        if conn.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Ended::Closed(Closed::Evicted));
        }
        if !*this.told && shared.stopping.load(Ordering::Acquire) {
            this.conn.as_mut().graceful_shutdown();
            *this.told = true;
        }
        if let Poll::Ready(out) = this.conn.poll(cx) {
            return Poll::Ready(Ended::Served(out));
        }
        // The deadline of the phase the connection is in now. The timer is moved earlier at
        // once, but later only when it fires, so a busy connection does not reset it per request.
        let Some(deadline) = conn.deadline(&shared.limits) else {
            return Poll::Pending;
        };
        if deadline < *this.armed {
            this.sleep.as_mut().reset(deadline);
            *this.armed = deadline;
        }
        loop {
            match this.sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // `armed` has passed: so has the deadline, unless it has moved later meanwhile.
                Poll::Ready(()) if deadline <= *this.armed => {
                    return Poll::Ready(Ended::Closed(conn.phase_name()));
                }
                Poll::Ready(()) => {
                    this.sleep.as_mut().reset(deadline);
                    *this.armed = deadline;
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A client socket that tells its connection when bytes arrive (a request head begins).
    pub struct Tracked<T> {
        #[pin]
        inner: T,
        conn: Arc<Conn>,
    }
}

impl<T> Tracked<T> {
    pub fn new(inner: T, conn: Arc<Conn>) -> Self {
        Self { inner, conn }
    }
}

impl<T: AsyncRead> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let out = this.inner.poll_read(cx, buf);
        if matches!(out, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.bytes_read();
        }
        out
    }
}

impl<T: AsyncWrite> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// A request body that did not arrive within `body_timeout` of its head.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// Did reading a body fail because it timed out? (`e` or any error it wraps.)
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<BodyTimeout>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The slowest rate a request body may arrive at once `body_timeout` has passed, in bytes per
/// second: every byte received moves the body's deadline on by its share of a second, but never
/// to more than `body_timeout` from now (a fast start buys no long stall later).
pub const MIN_BODY_RATE: u64 = 64 * 1024;

pin_project_lite::pin_project! {
    /// A request body with a deadline; while its handler waits for bytes, its connection is in
    /// the *body* phase.
    pub struct TimedBody<B> {
        #[pin]
        inner: B,
        deadline: Instant,
        // Made the first time the body has to be waited for.
        sleep: Option<Pin<Box<Sleep>>>,
        conn: Arc<Conn>,
        waiting: bool,
    }
}

impl<B> hyper::body::Body for TimedBody<B>
where
    B: hyper::body::Body,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                if *this.waiting {
                    *this.waiting = false;
                    if this.conn.phase.load(Ordering::Relaxed) == BODY {
                        this.conn.phase.store(BUSY, Ordering::Release);
                    }
                }
                // Bytes that arrived buy time for the next ones, at `MIN_BODY_RATE`: a large
                // upload at a fair rate is never cut off, a trickle still is.
                if let Some(Ok(f)) = &frame {
                    if let Some(data) = f.data_ref() {
                        let n = hyper::body::Buf::remaining(data) as u64;
                        // Never more than `body_timeout` ahead: time cannot be banked for a
                        // long stall later.
                        let earned =
                            *this.deadline + Duration::from_micros(n * 1_000_000 / MIN_BODY_RATE);
                        *this.deadline = earned.min(Instant::now() + this.conn.body_timeout);
                        *this.sleep = None;
                    }
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if !*this.waiting {
                    *this.waiting = true;
                    if this.conn.phase.load(Ordering::Relaxed) == BUSY {
                        this.conn.enter(BODY);
                    }
                }
                let deadline = *this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection cap when none is configured: three quarters of the process's open-file limit
/// (the rest stays for the database, log files and the like), at most 10,000.
pub fn default_max_connections() -> usize {
    const CEILING: usize = 10_000;
    #[cfg(unix)]
    {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        match soft {
            Some(n) => usize::try_from(n / 4 * 3)
                .unwrap_or(CEILING)
                .clamp(16, CEILING),
            None => CEILING,
        }
    }
    #[cfg(not(unix))]
    {
        CEILING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(cap: usize) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: cap,
        }
    }

    #[tokio::test]
    async fn a_full_house_evicts_the_longest_waiting_not_the_busy() {
        let c = Connections::new(limits(3), Arc::default());
        let a = c.admit().unwrap();
        let b = c.admit().unwrap();
        let d = c.admit().unwrap();
        a.conn.request_started(); // busy: never evicted
        b.conn.since.store(0, Ordering::Relaxed); // waited longest
        d.conn.since.store(5, Ordering::Relaxed);
        let e = c.admit().expect("room was made");
        assert!(b.conn.evicted.load(Ordering::Acquire));
        assert!(!a.conn.evicted.load(Ordering::Acquire));
        assert!(!d.conn.evicted.load(Ordering::Acquire));
        assert!(!e.conn.evicted.load(Ordering::Acquire));
        // All busy: the newcomer is refused.
        d.conn.request_started();
        e.conn.request_started();
        assert!(c.admit().is_none());
        drop((a, b, d, e));
        assert_eq!(c.live(), 0);
    }

    #[tokio::test]
    async fn phases_follow_the_request() {
        let c = Connections::new(limits(10), Arc::default());
        let a = c.admit().unwrap();
        let l = limits(10);
        assert!(
            a.conn.deadline(&l).is_some(),
            "a new connection waits for its head"
        );
        a.conn.request_started();
        assert!(a.conn.deadline(&l).is_none());
        a.conn.request_done();
        assert_eq!(a.conn.phase.load(Ordering::Relaxed), IDLE);
        a.conn.bytes_read();
        assert_eq!(a.conn.phase.load(Ordering::Relaxed), HEAD);
        a.conn.bytes_read();
        assert_eq!(a.conn.phase.load(Ordering::Relaxed), HEAD);
    }

    #[test]
    fn a_body_timeout_is_found_inside_the_errors_that_wrap_it() {
        let boxed: axum::BoxError = Box::new(BodyTimeout);
        let wrapped = axum::Error::new(boxed);
        assert!(is_body_timeout(&wrapped));
        assert!(!is_body_timeout(&std::fmt::Error));
    }
}
