//! DogStatsD (DESIGN.md §8): the pure datagram codec, the Agent-compatible aggregation and
//! sketch, and the intake bodies. The UDP socket lives in `crate::server::dogstatsd`.

pub mod aggregator;
pub mod codec;
pub mod ddsketch;
pub mod histogram;
pub mod intake_types;
pub mod number;

pub use aggregator::{Aggregator, AggregatorOptions, DogStatsDFlush, DogStatsDStats, MAX_PENDING_EVENTS};
pub use codec::{decode_line, decode_packet, frame_lines, Line, MetricSample, MetricType, ParseError, ParseErrorKind};
pub use ddsketch::DDSketch;
