//! The webhook deliveries in flight in this process, and the caps that keep one account's slow
//! endpoints from delaying everyone else's: at most `PER_ENDPOINT` attempts at once to one
//! endpoint, `PER_ACCOUNT` to one account's endpoints, `TOTAL` in all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;
use uuid::Uuid;

/// Attempts in flight to one endpoint.
pub const PER_ENDPOINT: usize = 2;
/// Attempts in flight to the endpoints of one account (and environment's worth of webhooks).
pub const PER_ACCOUNT: usize = 8;
/// Attempts in flight in this process.
pub const TOTAL: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_endpoint: usize,
    pub per_account: usize,
    pub total: usize,
}

pub const CAPS: Caps = Caps {
    per_endpoint: PER_ENDPOINT,
    per_account: PER_ACCOUNT,
    total: TOTAL,
};

/// Counts of attempts in flight, by endpoint and by account.
#[derive(Debug, Default)]
pub struct InFlight {
    endpoints: HashMap<Uuid, usize>,
    accounts: HashMap<Uuid, usize>,
    total: usize,
}

impl InFlight {
    /// Takes a slot for an attempt to `endpoint` of `account`, if every cap allows it.
    pub fn try_start(&mut self, caps: Caps, account: Uuid, endpoint: Uuid) -> bool {
        let e = self.endpoints.get(&endpoint).copied().unwrap_or(0);
        let a = self.accounts.get(&account).copied().unwrap_or(0);
        if self.total >= caps.total || e >= caps.per_endpoint || a >= caps.per_account {
            return false;
        }
        self.total += 1;
        *self.endpoints.entry(endpoint).or_default() += 1;
        *self.accounts.entry(account).or_default() += 1;
        true
    }

    /// Gives a slot back.
    pub fn finish(&mut self, account: Uuid, endpoint: Uuid) {
        fn release(map: &mut HashMap<Uuid, usize>, id: Uuid) {
            if let Some(n) = map.get_mut(&id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&id);
                }
            }
        }
        release(&mut self.endpoints, endpoint);
        release(&mut self.accounts, account);
        self.total = self.total.saturating_sub(1);
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// The accounts and endpoints at their cap (the next query skips them).
    pub fn saturated(&self, caps: Caps) -> (Vec<Uuid>, Vec<Uuid>) {
        let full = |m: &HashMap<Uuid, usize>, cap: usize| {
            m.iter()
                .filter(|(_, n)| **n >= cap)
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
        };
        (
            full(&self.accounts, caps.per_account),
            full(&self.endpoints, caps.per_endpoint),
        )
    }
}

/// The in-flight counts and the tasks running the attempts.
#[derive(Default)]
pub struct DeliveryPool {
    pub(crate) in_flight: Arc<Mutex<InFlight>>,
    pub(crate) tasks: Mutex<JoinSet<()>>,
}

impl DeliveryPool {
    /// A slot for one attempt, released when dropped (also when its task is aborted).
    pub(crate) fn try_slot(&self, account: Uuid, endpoint: Uuid) -> Option<Slot> {
        let mut f = self.in_flight.lock().ok()?;
        f.try_start(CAPS, account, endpoint).then(|| Slot {
            in_flight: self.in_flight.clone(),
            account,
            endpoint,
        })
    }

    /// Forgets finished tasks.
    pub(crate) fn reap(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            while tasks.try_join_next().is_some() {}
        }
    }

    /// Aborts every attempt in flight: each stays pending in the outbox and is retried once
    /// its lease ends (by this process after a restart, or by another instance).
    pub fn abort_all(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.abort_all();
        }
    }

    /// Attempts in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().map(|f| f.total()).unwrap_or(0)
    }
}

/// One attempt's place under the caps.
pub(crate) struct Slot {
    in_flight: Arc<Mutex<InFlight>>,
    account: Uuid,
    endpoint: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut f) = self.in_flight.lock() {
            f.finish(self.account, self.endpoint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_endpoint_per_account_and_in_all() {
        let caps = Caps {
            per_endpoint: 2,
            per_account: 3,
            total: 5,
        };
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (a1, a2, b1, c1, c2) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let mut f = InFlight::default();
        assert!(f.try_start(caps, a, a1));
        assert!(f.try_start(caps, a, a1));
        assert!(!f.try_start(caps, a, a1), "endpoint cap");
        assert!(f.try_start(caps, a, a2));
        assert!(!f.try_start(caps, a, a2), "account cap");
        let (accounts, endpoints) = f.saturated(caps);
        assert_eq!(accounts, [a]);
        assert_eq!(endpoints, [a1]);
        // Another account is not held back by the first one's.
        assert!(f.try_start(caps, b, b1));
        assert!(f.try_start(caps, c, c1));
        assert!(!f.try_start(caps, c, c2), "total cap");
        f.finish(a, a1);
        assert!(f.try_start(caps, c, c2));
        assert_eq!(f.total(), 5);
        for (acct, ep) in [(a, a1), (a, a2), (b, b1), (c, c1), (c, c2)] {
            f.finish(acct, ep);
        }
        assert_eq!(f.total(), 0);
        assert_eq!(f.saturated(caps), (vec![], vec![]));
    }

    #[test]
    fn a_dropped_slot_is_given_back() {
        let pool = DeliveryPool::default();
        let (a, e) = (Uuid::now_v7(), Uuid::now_v7());
        let s1 = pool.try_slot(a, e).unwrap();
        let s2 = pool.try_slot(a, e).unwrap();
        assert!(pool.try_slot(a, e).is_none());
        drop(s1);
        assert_eq!(pool.in_flight(), 1);
        let _s3 = pool.try_slot(a, e).unwrap();
        drop(s2);
        assert_eq!(pool.in_flight(), 1);
    }
}
