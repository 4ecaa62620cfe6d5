//! The sync protocol v1 client (DESIGN.md §7, docs/PROTOCOL.md): signs batches of pending
//! events, posts them over HTTP(S) with rustls and records every answer in the store. The TS
//! twin is `packages/core/src/sync/`; both run the same pass, answer for answer.
//!
//! Layers, each with its own error type: `signature` and `request` are pure (bytes in, bytes
//! out), `http_client` is the only one that touches sockets, `response` turns an answer into a
//! verdict, and `pass` drives a store through one pass.

pub mod http_client;
pub mod outcome;
pub mod pass;
pub mod pass_gate;
pub mod protocol;
pub mod request;
pub mod response;
pub mod signature;

pub use http_client::{HttpAnswer, HttpClient, TransportError};
pub use outcome::{SyncError, SyncErrorCode, SyncOutcome, SyncPassOptions};
pub use pass::{run_sync_pass, SyncSettings, SyncStore};
pub use pass_gate::PassGate;
pub use request::SyncCredentials;
