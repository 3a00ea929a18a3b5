//! Plain types and rules of the core domain. No I/O lives here.

pub mod account;
pub mod actor;
pub mod api_key;
pub mod credential;
pub mod edgecast;
pub mod error;
pub mod public_ids;
pub mod stream;
pub mod user;
pub mod webhook;

pub use account::{Account, AccountNumber};
pub use actor::{Actor, UserRef};
pub use api_key::{ApiKey, Cors, Environment, KeyInfo, KeyMemo, UseCounter, VerifyCode};
pub use error::{AuthFailure, Error};
pub use stream::{MultistreamTarget, Restream, Session, Stream};
pub use user::{Role, User};
