//! streamgate: one core domain (accounts, API keys, tokens, streams, stream keys, credentials,
//! audit) spoken in each live-video platform's own wire dialect.

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod drain;
pub mod http;
pub mod server;
pub mod service;
pub mod store;
pub mod testkit;

pub use http::{app, AppState};
