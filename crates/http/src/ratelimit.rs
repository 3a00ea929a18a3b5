//! Token buckets per caller (an API key, or a client address before authentication).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use domain::RateDecision as Decision;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// `limit` requests per `window_secs`, refilled continuously, bursting up to `limit`.
pub struct RateLimiter {
    limit: u32,
    window_secs: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Idle buckets are dropped once the map grows past this.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(limit: u32, window_secs: u32) -> Self {
        Self {
            limit: limit.max(1),
            window_secs: window_secs.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn take(&self, who: &str) -> Decision {
        self.take_at(who, Instant::now())
    }

    pub fn take_at(&self, who: &str, now: Instant) -> Decision {
        let limit = self.limit;
        let rate = f64::from(limit) / f64::from(self.window_secs);
        let cap = f64::from(limit);
        let Ok(mut map) = self.buckets.lock() else {
            // A poisoned lock must not take the API down: let the request through.
            return Decision {
                allowed: true,
                limit,
                remaining: 0,
                retry_after: 0,
            };
        };
        if map.len() > MAX_BUCKETS {
            map.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < cap);
        }
        let b = map.entry(who.to_string()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(cap);
        b.at = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        let retry_after = if b.tokens >= 1.0 {
            0
        } else {
            ((1.0 - b.tokens) / rate).ceil() as u32
        };
        Decision {
            allowed,
            limit,
            remaining: b.tokens.floor() as u32,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let rl = RateLimiter::new(3, 3);
        let t0 = Instant::now();
        let d: Vec<bool> = (0..4).map(|_| rl.take_at("k", t0).allowed).collect();
        assert_eq!(d, vec![true, true, true, false]);
        let refused = rl.take_at("k", t0);
        assert_eq!((refused.remaining, refused.retry_after), (0, 1));
        assert!(rl.take_at("other", t0).allowed, "buckets are per caller");
        assert!(rl.take_at("k", t0 + Duration::from_millis(1100)).allowed);
        assert!(!rl.take_at("k", t0 + Duration::from_millis(1100)).allowed);
    }
}
