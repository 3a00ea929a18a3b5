//! The ingest throttle: refusals per (ingest token, reported client address) in a sliding
//! window. Keyed on the token too, so one media server's clients (or someone spoofing their
//! addresses through another media server) cannot lock out another's; and bounded per token, so
//! rotating the reported address buys a flood nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Client addresses tracked per ingest token; refusals from addresses beyond these share one
/// counter per token, so rotating the reported address buys a flood nothing.
pub const ADDRS_PER_TOKEN: usize = 10_000;

/// Refusals in a window, and when it began.
#[derive(Clone, Copy)]
struct Window {
    count: u32,
    since: Instant,
}

impl Window {
    fn new() -> Self {
        Self {
            count: 0,
            since: Instant::now(),
        }
    }
}

/// Past this many tokens' tables, a new token's first refusal sweeps out the idle ones.
const TOKENS_BEFORE_SWEEP: usize = 64;
/// How often a full table is swept for expired entries (not on every refusal: a flood must not
/// buy a sweep per hook).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One ingest token's refusals: per client address, and one shared counter for the addresses
/// past the table's capacity.
struct TokenRefusals {
    addrs: HashMap<String, Window>,
    overflow: Window,
    swept: Instant,
}

/// Refusals per (ingest token, reported client address) in a window: one media server's clients
/// cannot lock out another's, and each token's table is bounded.
pub struct IngestThrottle {
    limit: u32,
    window: Duration,
    addrs_per_token: usize,
    seen: Mutex<HashMap<Uuid, TokenRefusals>>,
}

impl IngestThrottle {
    /// `limit` refusals per (token, address) in `window`; `ADDRS_PER_TOKEN` addresses per token.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::with_capacity(limit, window, ADDRS_PER_TOKEN)
    }

    pub fn with_capacity(limit: u32, window: Duration, addrs_per_token: usize) -> Self {
        Self {
            limit: limit.max(1),
            window,
            addrs_per_token: addrs_per_token.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn over(&self, w: &Window) -> bool {
        w.count >= self.limit && w.since.elapsed() < self.window
    }

    /// Is this address (under this token) throttled now?
    pub(crate) fn blocked(&self, token: Uuid, addr: &str) -> bool {
        let Ok(seen) = self.seen.lock() else {
            return false;
        };
        let Some(t) = seen.get(&token) else {
            return false;
        };
        match t.addrs.get(addr) {
            Some(w) => self.over(w),
            // An address the table had no room for counts against the token's overflow.
            None if t.addrs.len() >= self.addrs_per_token => self.over(&t.overflow),
            None => false,
        }
    }

    pub(crate) fn refused(&self, token: Uuid, addr: &str) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        let window = self.window;
        if !seen.contains_key(&token) && seen.len() >= TOKENS_BEFORE_SWEEP {
            // Tokens with nothing left in the window (revoked ones, say) are forgotten.
            seen.retain(|_, t| {
                t.overflow.since.elapsed() < window
                    || t.addrs.values().any(|w| w.since.elapsed() < window)
            });
        }
        let t = seen.entry(token).or_insert_with(|| TokenRefusals {
            addrs: HashMap::new(),
            overflow: Window::new(),
            swept: Instant::now(),
        });
        if !t.addrs.contains_key(addr)
            && t.addrs.len() >= self.addrs_per_token
            && t.swept.elapsed() >= SWEEP_EVERY
        {
            t.addrs.retain(|_, w| w.since.elapsed() < window);
            t.swept = Instant::now();
        }
        let w = if t.addrs.contains_key(addr) || t.addrs.len() < self.addrs_per_token {
            t.addrs.entry(addr.to_string()).or_insert_with(Window::new)
        } else {
            &mut t.overflow
        };
        if w.since.elapsed() >= window {
            *w = Window::new();
        }
        w.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn refuse(t: &IngestThrottle, token: Uuid, addr: &str, n: u32) {
        for _ in 0..n {
            t.refused(token, addr);
        }
    }

    #[test]
    fn keyed_on_the_token_and_the_address() {
        let t = IngestThrottle::new(3, MINUTE);
        let (t1, t2) = (Uuid::now_v7(), Uuid::now_v7());
        refuse(&t, t1, "10.0.0.1", 2);
        assert!(!t.blocked(t1, "10.0.0.1"), "under the limit");
        refuse(&t, t1, "10.0.0.1", 1);
        assert!(t.blocked(t1, "10.0.0.1"));
        assert!(
            !t.blocked(t1, "10.0.0.2"),
            "another address of the same token"
        );
        assert!(
            !t.blocked(t2, "10.0.0.1"),
            "the same address under another token"
        );
    }

    #[test]
    fn rotating_addresses_past_the_table_share_one_counter_per_token() {
        let t = IngestThrottle::with_capacity(3, MINUTE, 100);
        let (t1, t2) = (Uuid::now_v7(), Uuid::now_v7());
        // Each new address is tracked (and decided) until the token's table is full...
        for i in 0..100 {
            assert!(!t.blocked(t1, &format!("a{i}")));
            t.refused(t1, &format!("a{i}"));
        }
        // ...then further addresses share one counter: `limit` more, and they are throttled.
        for i in 0..3 {
            assert!(!t.blocked(t1, &format!("b{i}")));
            t.refused(t1, &format!("b{i}"));
        }
        assert!(t.blocked(t1, "b-new"));
        assert!(t.seen.lock().unwrap()[&t1].addrs.len() <= 100, "bounded");
        // Another token's clients are not affected.
        assert!(!t.blocked(t2, "b-new"));
        // Addresses the table knows keep their own counters.
        assert!(!t.blocked(t1, "a1"));
    }

    #[test]
    fn a_window_ends() {
        let t = IngestThrottle::new(1, Duration::ZERO);
        let token = Uuid::now_v7();
        t.refused(token, "x");
        assert!(!t.blocked(token, "x"), "a zero window never throttles");
    }
}
