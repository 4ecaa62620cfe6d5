//! Property tests: random bytes never make the DogStatsD codec and aggregator, the trace payload
//! decoders or the client stats decoder panic. 100,000 cases per property by default (the
//! issue's bar for CI); `PROPTEST_CASES` overrides it.

use proptest::prelude::*;
use telemetry_kit_services::dogstatsd::codec::decode_packet;
use telemetry_kit_services::dogstatsd::{Aggregator, AggregatorOptions};
use telemetry_kit_services::trace::client_stats::decode_client_stats;
use telemetry_kit_services::trace::{decode_traces, TraceBuffer, TraceBufferOptions, TracePayloadVersion, TracerMeta};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

/// xorshift64*: inputs are expanded from a proptest seed inside the test, because building
/// hundreds of bytes through proptest's value trees costs ~0.1 ms a case in a debug build.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Up to 40 pieces: one of `pieces` or a random byte each.
    fn build(&mut self, pieces: &[&[u8]]) -> Vec<u8> {
        let count = self.next() % 41;
        let mut out = Vec::new();
        for _ in 0..count {
            let pick = (self.next() % (pieces.len() as u64 + 4)) as usize;
            match pieces.get(pick) {
                Some(piece) => out.extend_from_slice(piece),
                None => out.push(self.next() as u8),
            }
        }
        out
    }

    fn random(&mut self) -> Vec<u8> {
        let len = self.next() % 200;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Pieces of the DogStatsD grammar, so that deep paths are reached, not just the first check.
const DOGSTATSD: &[&[u8]] = &[
    b"a", b":", b"|", b"|#", b"|@0.5", b"|T1700000000", b"|c:", b"\n", b"\r\n", b",", b"1.5e3", b"-", b"c", b"ms", b"d", b"s", b"h", b"g",
    b"_e{", b"_sc|", b"}", "é".as_bytes(), b"|d:", b"|p:low", b"|t:error", b"0",
];

/// Pieces of msgpack trace payloads: containers, span keys, 64-bit and float encodings.
const MSGPACK: &[&[u8]] = &[
    b"\x91", b"\x92", b"\x9c", b"\x81", b"\x82", b"\x8f", b"\xa7service", b"\xa8trace_id", b"\xa4meta", b"\xa5start", b"\xa7metrics",
    b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", b"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", b"\xcb\x40\x59\x00\x00\x00\x00\x00\x00",
    b"\xdc\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xc4\x02\x61", b"\xd6\xff\x00\x00\x00\x00", b"\xc0", b"\x01", b"\xa0", b"\xa5Stats",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dogstatsd_never_panics(seed in any::<u64>()) {
        let mut source = Bytes(seed | 1);
        let bytes = if seed % 4 == 0 { source.random() } else { source.build(DOGSTATSD) };
        for line in decode_packet(&bytes) {
            let _ = line;
        }
        let mut aggregator = Aggregator::new(AggregatorOptions { max_contexts: 100, ..AggregatorOptions::default() });
        aggregator.ingest(&bytes, 1_700_000_000_000);
        let _ = aggregator.flush(1_700_000_100_000, true);
    }

    #[test]
    fn trace_decoders_never_panic(seed in any::<u64>()) {
        let mut source = Bytes(seed | 1);
        let bytes = if seed % 4 == 0 { source.random() } else { source.build(MSGPACK) };
        let mut buffer = TraceBuffer::new(TraceBufferOptions::default());
        for version in [TracePayloadVersion::V04, TracePayloadVersion::V05] {
            if let Ok(decoded) = decode_traces(version, &bytes) {
                buffer.add(decoded.traces, &TracerMeta::default(), 1);
            }
        }
        let _ = buffer.add_stats(&bytes, &TracerMeta::default());
        let _ = decode_client_stats(&bytes);
        let _ = buffer.flush(2);
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut body = vec![0x91u8; 100_000];
    body.push(0xc0);
    assert!(decode_traces(TracePayloadVersion::V04, &body).is_err());
    let mut maps = [0x81u8, 0xa1, b'a'].repeat(50_000);
    maps.push(0xc0);
    assert!(decode_client_stats(&maps).is_err());
}
