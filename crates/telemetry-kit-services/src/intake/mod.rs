//! Delivery to the Datadog intakes: what an answer means ([`retry`]), how flushed data is cut
//! into request bodies ([`payloads`]) and the HTTP client with retries ([`client`]).

pub mod client;
pub mod payloads;
pub mod retry;

pub use client::{DeliveryResult, DropReason, IntakeClient, IntakeClientOptions, IntakeStats};
pub use payloads::{IntakeEndpoint, IntakePayload};
pub use retry::RetryPolicy;
