//! telemetry-kit serverless services, native backend (DESIGN.md §8): a DogStatsD server (UDP)
//! and a Datadog trace agent (HTTP) that aggregate metrics and traces and flush them to a
//! Datadog intake, with a final flush on stop. Same semantics, stats names and error codes as
//! the TypeScript backend (packages/core/src/services/), specified by the shared vectors under
//! test/vectors/.
//!
//! Layers, each with its own error type:
//! - [`dogstatsd`]: the pure datagram codec ([`dogstatsd::codec::ParseErrorKind`]), the Agent's
//!   aggregation and DDSketch;
//! - [`trace`]: msgpack payload decoding ([`trace::DecodeError`]), normalization, the buffer
//!   that encodes `AgentPayload`s;
//! - [`intake`]: request bodies and the HTTP client with retries;
//! - [`server`]: the UDP and HTTP listeners;
//! - [`config`], [`env`]: configuration and `DD_*` variables, [`Services`]: the lifecycle
//!   ([`ServicesError`]).

pub mod cloud;
pub mod config;
pub mod dogstatsd;
pub mod env;
pub mod error;
pub mod intake;
mod jsfmt;
pub mod proto;
pub mod server;
pub mod services;
pub mod status;
pub mod trace;

pub use config::{resolve_config_value, LogLevel, ResolvedConfig, ServicesConfig};
pub use env::{config_from_env, config_from_process_env};
pub use error::{ErrorCode, ServicesError};
pub use services::{ServerlessServices, Services, ServicesPorts, ServicesStats, DEFAULT_STOP_TIMEOUT};
pub use status::{ServiceName, ServicesStatus, StatusKind, StatusSink};
