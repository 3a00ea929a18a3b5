//! Graceful shutdown of HTTP connections: on shutdown every connection is told to finish the
//! request it is serving and close (an idle keep-alive connection closes at once), and
//! [`Drain::shutdown`] waits until all have.
//!
//! hyper-util's `GracefulShutdown` does the same by polling a watch channel each time a connection
//! is polled, which costs about as much per request as looking a key up in the verify cache. Here a
//! poll costs one atomic load: each connection's task waker is registered once, and shutdown sets
//! a flag and wakes them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use hyper_util::server::graceful::GracefulConnection;
use rustc_hash::FxHashMap as HashMap;
use tokio::sync::Notify;

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    /// The task waker of every live connection that has been polled, by connection id.
    wakers: Mutex<HashMap<u64, Waker>>,
    next_id: AtomicU64,
    live: AtomicUsize,
    /// Signalled when the last connection closes during shutdown.
    all_closed: Notify,
}

/// The connections of one server.
#[derive(Default)]
pub struct Drain(Arc<Shared>);

impl Drain {
    pub fn new() -> Self {
        Self::default()
    }

    /// `conn`, told to shut down gracefully once [`Drain::shutdown`] is called. Spawn the result
    /// as its own task: its waker is registered once, on the first poll.
    pub fn watch<C: GracefulConnection>(&self, conn: C) -> Watched<C> {
        self.0.live.fetch_add(1, Ordering::AcqRel);
        Watched {
            conn,
            shared: self.0.clone(),
            id: self.0.next_id.fetch_add(1, Ordering::Relaxed),
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
        let wakers: Vec<Waker> = match self.0.wakers.lock() {
            Ok(w) => w.values().cloned().collect(),
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

pin_project_lite::pin_project! {
    /// A connection under a [`Drain`].
    pub struct Watched<C> {
        #[pin]
        conn: C,
        shared: Arc<Shared>,
        id: u64,
        registered: bool,
        told: bool,
    }

    impl<C> PinnedDrop for Watched<C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.registered {
                if let Ok(mut w) = this.shared.wakers.lock() {
                    w.remove(this.id);
                }
            }
            if this.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
                // A permit is kept if nobody waits yet, so shutdown cannot miss it.
                this.shared.all_closed.notify_one();
            }
        }
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.registered {
            // Registered before the flag is read: a shutdown that starts meanwhile either is
            // seen below or finds this waker to wake.
            if let Ok(mut w) = this.shared.wakers.lock() {
                w.insert(*this.id, cx.waker().clone());
            }
            *this.registered = true;
        }
        if !*this.told && this.shared.stopping.load(Ordering::Acquire) {
            this.conn.as_mut().graceful_shutdown();
            *this.told = true;
        }
        this.conn.poll(cx)
    }
}
