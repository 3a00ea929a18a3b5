//! Password hashing (argon2id) behind a bounded queue. Each hash takes tens of milliseconds of
//! CPU and several MiB of memory, so an unbounded number at once (every concurrent sign-in post)
//! would take the process's memory with it. At most `concurrency` run at once, on blocking
//! threads; at most `queue` more wait; anything beyond that is refused at once with
//! `Error::Busy` (503 with `Retry-After`), so memory stays flat however many arrive.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crypto::{password, random_base62, SecretString};
use domain::Error;

/// How long a refused caller is told to wait.
const RETRY_AFTER_SECS: u32 = 1;

struct Inner {
    /// One permit per hash allowed to run at once.
    running: Arc<Semaphore>,
    /// Admitted hashes: running or waiting for a permit.
    admitted: AtomicUsize,
    /// `concurrency + queue`.
    max_admitted: usize,
    concurrency: usize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicU64,
    refused: AtomicU64,
}

/// The queue every password hash and check goes through.
#[derive(Clone)]
pub struct PasswordHasher(Arc<Inner>);

/// Counts for `/metrics` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingStats {
    /// Hashes allowed to run at once.
    pub concurrency: usize,
    /// Running now.
    pub in_flight: usize,
    /// The most that ever ran at once.
    pub peak: usize,
    /// Run since start.
    pub total: u64,
    /// Refused because the queue was full, since start.
    pub refused: u64,
}

/// A place in the queue, taken before any other work so that a full queue refuses at once.
pub struct Ticket {
    hasher: Arc<Inner>,
    /// Released with the hash it admits (carried into the blocking thread, so a request that
    /// gives up cannot free its place while its hash still runs).
    admitted: Admitted,
}

struct Admitted(Arc<Inner>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Running(Arc<Inner>, #[allow(dead_code)] OwnedSemaphorePermit);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// `concurrency` hashes at once (at least one), `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self(Arc::new(Inner {
            running: Arc::new(Semaphore::new(concurrency)),
            admitted: AtomicUsize::new(0),
            max_admitted: concurrency + queue,
            concurrency,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            total: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }))
    }

    pub fn stats(&self) -> HashingStats {
        HashingStats {
            concurrency: self.0.concurrency,
            in_flight: self.0.in_flight.load(Ordering::Acquire),
            peak: self.0.peak.load(Ordering::Acquire),
            total: self.0.total.load(Ordering::Relaxed),
            refused: self.0.refused.load(Ordering::Relaxed),
        }
    }

    /// A place in the queue, or `Error::Busy` at once when it is full.
    pub fn reserve(&self) -> Result<Ticket, Error> {
        let inner = &self.0;
        if inner.admitted.fetch_add(1, Ordering::AcqRel) >= inner.max_admitted {
            inner.admitted.fetch_sub(1, Ordering::AcqRel);
            inner.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Busy {
                retry_after: RETRY_AFTER_SECS,
            });
        }
        Ok(Ticket {
            hasher: inner.clone(),
            admitted: Admitted(inner.clone()),
        })
    }

    /// The argon2id hash of a new password (12 characters or more).
    pub async fn hash_new(&self, password: &SecretString) -> Result<String, Error> {
        if password.expose().chars().count() < 12 {
            return Err(Error::Invalid(
                "password must be at least 12 characters".into(),
            ));
        }
        let pw = password.clone();
        self.reserve()?
            .run(move || password::hash_password(pw.expose()))
            .await?
    }

    /// Does `password` match the PHC string?
    pub async fn matches(&self, password: &SecretString, phc: String) -> Result<bool, Error> {
        self.reserve()?.matches(password, Some(phc)).await
    }
}

impl Ticket {
    /// Runs `f` on a blocking thread once one of the `concurrency` permits is free.
    async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self
            .hasher
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("password hashing: {e}")))?;
        let running = self.hasher.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        self.hasher.peak.fetch_max(running, Ordering::AcqRel);
        self.hasher.total.fetch_add(1, Ordering::Relaxed);
        let guards = (self.admitted, Running(self.hasher.clone(), permit));
        tokio::task::spawn_blocking(move || {
            let _guards = guards;
            f()
        })
        .await
        .map_err(|e| Error::Internal(format!("password hashing: {e}")))
    }

    /// Does `password` match the PHC string? None: checked against a dummy hash, so that an
    /// unknown user name takes as long as a known one.
    pub async fn matches(
        self,
        password: &SecretString,
        phc: Option<String>,
    ) -> Result<bool, Error> {
        let pw = password.clone();
        self.run(move || {
            let phc = phc.unwrap_or_else(dummy_hash);
            phc_matches(&pw, &phc)
        })
        .await
    }
}

fn phc_matches(pw: &SecretString, phc: &str) -> bool {
    password::verify_password(pw.expose(), phc)
}

/// An argon2id hash of a random password, checked against for unknown user names.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| password::hash_password(&random_base62(24)).unwrap_or_default())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once_and_never_runs_more_than_allowed() {
        let h = PasswordHasher::new(2, 3);
        let pw = SecretString::new("a long enough password".into());
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (h, pw) = (h.clone(), pw.clone());
                tokio::spawn(async move { h.hash_new(&pw).await })
            })
            .collect();
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::Busy { retry_after }) => {
                    assert_eq!(retry_after, 1);
                    busy += 1
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok + busy, 40);
        assert!(ok >= 5, "the ones admitted at first all ran: {ok}");
        assert!(busy > 0, "some were refused");
        let s = h.stats();
        assert!(s.peak <= 2, "{s:?}");
        assert_eq!(s.in_flight, 0);
        assert_eq!(s.refused, busy);
        // All places are free again.
        assert!(h.hash_new(&pw).await.is_ok());
    }

    #[tokio::test]
    async fn a_ticket_given_up_frees_its_place() {
        let h = PasswordHasher::new(1, 0);
        let t = h.reserve().unwrap();
        assert!(matches!(h.reserve(), Err(Error::Busy { .. })));
        drop(t);
        let ok = h
            .reserve()
            .unwrap()
            .matches(&SecretString::new("x".into()), None)
            .await
            .unwrap();
        assert!(!ok);
    }
}
