//! Plain types and rules of the core domain. No I/O lives here, and nothing of streamgate's
//! other crates: every other layer depends on this one (the compiler keeps it so).

pub mod account;
pub mod actor;
pub mod address;
pub mod api_key;
pub mod audit;
pub mod clock;
pub mod credential;
pub mod edgecast;
pub mod error;
pub mod ingest_token;
pub mod live_job;
pub mod memo;
pub mod page;
pub mod permission;
pub mod playback;
pub mod public_ids;
pub mod random;
pub mod secret;
pub mod stream;
pub mod text;
pub mod upload;
pub mod user;
pub mod video;
pub mod webhook;

pub use account::{Account, AccountNumber};
pub use actor::{Actor, UserRef};
pub use api_key::{
    ApiKey, Cors, Credits, Environment, KeyCounters, KeyInfo, KeyMemo, KeyPolicy, RateDecision,
    RateLimit, RateWindow, Refill, RefillInterval, UseCounter, VerifyCode,
};
pub use audit::AuditEvent;
pub use error::{AuthFailure, Error};
pub use ingest_token::IngestToken;
pub use page::After;
pub use permission::{Action, Permission, Permissions, Resource};
pub use playback::PlaybackKey;
pub use random::{random_base62, BASE62};
pub use secret::SecretString;
pub use stream::{MultistreamTarget, Restream, Session, Stream};
pub use upload::UploadToken;
pub use user::{Lockout, Role, User};
pub use video::{Video, VideoPart, VideoPhase, VideoSource};
pub use webhook::Webhook;
