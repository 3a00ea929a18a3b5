//! Use-cases. They take the store, the clock and the verifier, decide authorization from an
//! `Actor`, and return domain types. Handlers call exactly one of these per request.

pub mod accounts;
pub mod keys;
pub mod streams;
pub mod tokens;
pub mod usage;
pub mod verifier;

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::Vault;
use crate::store::Store;

pub use keys::{CreatedKey, NewKey, VerifyOutcome};
pub use usage::UsageRecorder;
pub use verifier::{Verified, Verifier};

pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub verifier: Arc<Verifier>,
    pub usage: Arc<UsageRecorder>,
    pub vault: Arc<Vault>,
    pub tokens: tokens::TokenKeys,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, vault: Arc<Vault>) -> Arc<Self> {
        let verifier = Arc::new(Verifier::new(store.clone(), clock.clone()));
        let usage = Arc::new(UsageRecorder::new(store.clone()));
        Arc::new(Self {
            store,
            clock,
            verifier,
            usage,
            vault,
            tokens: tokens::TokenKeys::default(),
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
