//! The runtime-independent part of the Datadog trace agent (DESIGN.md §8): decoding tracer
//! payloads, the Agent's normalization rules, and the buffer that produces the intake's
//! `AgentPayload` protobuf and forwarded client stats. The HTTP front is in `crate::server`.

pub mod buffer;
pub mod client_stats;
pub mod decode;
pub mod msgpack;
pub mod normalize;
pub mod normalize_text;

/// msgpack building blocks shared by the trace modules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use rmpv::Value;

    pub(crate) fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, value).expect("encode");
        out
    }

    /// A msgpack map with string keys, in the given order.
    pub(crate) fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
    }
}

pub use buffer::{AddResult, TraceBuffer, TraceBufferOptions, TraceFlush, TraceStats};
pub use decode::{decode_traces, DecodedTraces, TracePayloadVersion};
pub use msgpack::{DecodeError, DecodeErrorReason};

/// What the tracer says about itself in the Datadog-Meta-* / Datadog-Container-ID headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracerMeta {
    pub lang: Option<String>,
    pub lang_version: Option<String>,
    pub tracer_version: Option<String>,
    pub container_id: Option<String>,
}

/// The key of the default rate in `rate_by_service`: every service the map does not name.
pub const DEFAULT_RATE_KEY: &str = "service:,env:";

/// `{"rate_by_service":{"service:,env:":1}}`: this agent does not sample, keep everything.
pub fn rate_by_service_body() -> String {
    format!("{{\"rate_by_service\":{{\"{DEFAULT_RATE_KEY}\":1}}}}")
}
