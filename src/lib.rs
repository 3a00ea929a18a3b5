//! streamgate: one core domain (accounts, API keys, tokens, streams, stream keys, credentials,
//! audit) spoken in each live-video platform's own wire dialect.
//!
//! The layers are crates, so the compiler keeps their boundaries (README "Layout"):
//! `domain` (no dependency of ours) ← `crypto`, `store` ← `service` ← `http`; this crate is the
//! binary's: the typed `Config`, the CLI (a client of the services like `http`) and the testkit.
//! The layers are re-exported under their names for the integration tests and tools.

pub mod cli;
pub mod config;
pub mod testkit;

pub use streamgate_crypto as crypto;
pub use streamgate_domain as domain;
pub use streamgate_domain::clock;
pub use streamgate_http as http;
pub use streamgate_http::server;
pub use streamgate_service as service;
pub use streamgate_store as store;

pub use config::Config;
pub use http::{app, AppState};
