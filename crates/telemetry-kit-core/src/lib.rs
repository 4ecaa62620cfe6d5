//! telemetry-kit core in Rust: the native backend's events, privacy, consent and storage.
//!
//! Every behaviour here has a twin in `packages/core` (TypeScript) and is specified by the
//! shared vectors under `test/vectors/`; a data dir written by either backend is read and
//! continued by the other.

pub mod ci;
pub mod clock;
pub mod environment;
pub mod error;
pub mod event;
pub mod gate;
pub mod engine;
pub mod ids;
pub mod memory_store;
pub mod privacy;
pub mod state_files;
pub mod storage;
pub mod sync;
pub mod types;

pub use error::{Error, ErrorCode, Result};
