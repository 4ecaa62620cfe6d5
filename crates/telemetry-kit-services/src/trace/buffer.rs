//! The trace agent's state between flushes (packages/core/src/services/trace/buffer.ts):
//! normalized traces grouped as the intake wants them (an `AgentPayload` of `TracerPayload`s of
//! `TraceChunk`s, one chunk per trace) and client stats waiting to be forwarded. No I/O.
//!
//! Memory is bounded: a trace that would take the buffer past `max_buffered_spans` is dropped
//! whole and counted (`tracesDropped.bufferFull`), as are stats payloads past
//! `max_buffered_stats_payloads`.

use std::collections::HashMap;

use indexmap::IndexMap;
use prost::Message;
use rmpv::Value;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::client_stats::{decode_client_stats, encode_stats_payload, process_client_stats};
use super::decode::{decode_traces, TracePayloadVersion};
use super::msgpack::{DecodeError, DecodeErrorReason};
use super::normalize::{js_to_int32, normalize_trace, NormalizeCounters, NormalizeDefaults, SpansMalformed, TracesDropped};
use super::normalize_text::normalize_tag_value;
use super::TracerMeta;
use crate::jsfmt::utf16_len;
use crate::proto::trace::{AgentPayload, Span, TraceChunk, TracerPayload};

#[derive(Debug, Clone)]
pub struct TraceBufferOptions {
    /// DD_ENV: the AgentPayload env, and the env of spans that carry none.
    pub env: Option<String>,
    /// The AgentPayload hostName; empty by default (serverless functions have no stable host).
    pub hostname: Option<String>,
    /// DD_TAGS and friends: the AgentPayload tags.
    pub global_tags: IndexMap<String, String>,
    pub agent_version: String,
    /// DD_SERVICE: the service of spans that carry none.
    pub service: Option<String>,
    /// Cloud origin span tags, added where a span lacks them.
    pub span_tags: Option<IndexMap<String, String>>,
    pub max_buffered_spans: usize,
    pub max_buffered_stats_payloads: usize,
    /// Approximate uncompressed size at which a flush starts a new AgentPayload.
    pub max_payload_bytes: usize,
    pub target_tps: f64,
    pub error_tps: f64,
}

impl Default for TraceBufferOptions {
    fn default() -> Self {
        TraceBufferOptions {
            env: None,
            hostname: None,
            global_tags: IndexMap::new(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            service: None,
            span_tags: None,
            max_buffered_spans: 50_000,
            max_buffered_stats_payloads: 1_000,
            max_payload_bytes: 3_200_000,
            target_tps: 10.0,
            error_tps: 10.0,
        }
    }
}

/// Per-reason decode failures, serialized in the TS order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReasonCounts([u64; DecodeErrorReason::ALL.len()]);

impl ReasonCounts {
    pub fn get(&self, reason: DecodeErrorReason) -> u64 {
        self.0[reason as usize]
    }
}

impl Serialize for ReasonCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for reason in DecodeErrorReason::ALL {
            map.serialize_entry(reason.as_str(), &self.get(reason))?;
        }
        map.end()
    }
}

/// The TS `TraceStats`, same field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceStats {
    pub payloads: u64,
    pub traces: u64,
    pub spans: u64,
    pub decode_errors: u64,
    pub decode_errors_by_reason: ReasonCounts,
    pub traces_dropped: TracesDropped,
    pub spans_dropped: u64,
    pub spans_malformed: SpansMalformed,
    pub stats_payloads: u64,
    pub stats_rejected: u64,
    pub stats_dropped: u64,
    pub buffered_traces: u64,
    pub buffered_spans: u64,
    pub buffered_stats_payloads: u64,
    pub flushes: u64,
    pub flushed_traces: u64,
    pub flushed_spans: u64,
    pub flushed_stats_payloads: u64,
    pub last_flush_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddResult {
    pub accepted: usize,
    pub dropped: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFlush {
    /// Each AgentPayload of this flush (protobuf, not compressed): one request each.
    pub agent_payloads: Vec<Vec<u8>>,
    /// The msgpack StatsPayload for /api/v0.2/stats (not compressed).
    pub stats: Option<Vec<u8>>,
    pub traces: usize,
    pub spans: usize,
    pub stats_payloads: usize,
}

struct PendingChunk {
    chunk: TraceChunk,
    bytes: usize,
}

struct PendingTracerPayload {
    meta: TracerPayload,
    chunks: Vec<PendingChunk>,
}

// Fixed per-span overhead in the protobuf (ids, times, field tags, map entry framing).
const SPAN_OVERHEAD_BYTES: usize = 80;

fn estimate_span_bytes(span: &Span) -> usize {
    let mut bytes = SPAN_OVERHEAD_BYTES + utf16_len(&span.service) + utf16_len(&span.name) + utf16_len(&span.resource) + utf16_len(&span.r#type);
    for (key, value) in &span.meta {
        bytes += utf16_len(key) + utf16_len(value) + 6;
    }
    for key in span.metrics.keys() {
        bytes += utf16_len(key) + 14;
    }
    for (key, value) in &span.meta_struct {
        bytes += utf16_len(key) + value.len() + 6;
    }
    bytes
}

pub struct TraceBuffer {
    options: TraceBufferOptions,
    counters: NormalizeCounters,
    pending: IndexMap<[String; 8], PendingTracerPayload>,
    pending_stats: Vec<Vec<(Value, Value)>>,
    buffered_spans: usize,
    buffered_traces: usize,
    stats: TraceStats,
}

impl TraceBuffer {
    pub fn new(options: TraceBufferOptions) -> Self {
        TraceBuffer {
            options,
            counters: NormalizeCounters::default(),
            pending: IndexMap::new(),
            pending_stats: Vec::new(),
            buffered_spans: 0,
            buffered_traces: 0,
            stats: TraceStats::default(),
        }
    }

    /// Decodes one /v0.4 or /v0.5 body and adds its traces; a decode error is counted.
    pub fn ingest(&mut self, version: TracePayloadVersion, body: &[u8], meta: &TracerMeta, now_ms: u64) -> Result<AddResult, DecodeError> {
        match decode_traces(version, body) {
            Ok(decoded) => Ok(self.add(decoded.traces, meta, now_ms)),
            Err(error) => {
                self.record_decode_error(error.reason);
                Err(error)
            }
        }
    }

    pub fn record_decode_error(&mut self, reason: DecodeErrorReason) {
        self.stats.decode_errors += 1;
        self.stats.decode_errors_by_reason.0[reason as usize] += 1;
    }

    /// Normalizes and buffers decoded traces. Counts are in spans.
    pub fn add(&mut self, traces: Vec<Vec<Span>>, meta: &TracerMeta, now_ms: u64) -> AddResult {
        self.stats.payloads += 1;
        let defaults = NormalizeDefaults {
            now_ms,
            lang: meta.lang.clone(),
            env: self.options.env.clone(),
            service: self.options.service.clone(),
            span_tags: self.options.span_tags.clone(),
        };
        let mut result = AddResult::default();
        let mut accepted_traces = 0;
        for trace in traces {
            let size = trace.len();
            let Some(normalized) = normalize_trace(trace, &defaults, &mut self.counters) else {
                result.dropped += size;
                continue;
            };
            if self.buffered_spans + size > self.options.max_buffered_spans {
                self.counters.traces_dropped.buffer_full += 1;
                result.dropped += size;
                continue;
            }
            let root = &normalized.spans[normalized.root];
            let root_meta = |key: &str| root.meta.get(key).cloned().unwrap_or_default();
            let tracer = TracerPayload {
                container_id: meta.container_id.clone().unwrap_or_default(),
                language_name: meta.lang.clone().unwrap_or_default(),
                language_version: meta.lang_version.clone().unwrap_or_default(),
                tracer_version: meta.tracer_version.clone().unwrap_or_default(),
                runtime_id: root_meta("runtime-id"),
                chunks: Vec::new(),
                tags: HashMap::new(),
                env: root_meta("env"),
                hostname: root_meta("_dd.hostname"),
                app_version: root_meta("version"),
                apm_mode: String::new(),
            };
            let key = [
                tracer.container_id.clone(),
                tracer.language_name.clone(),
                tracer.language_version.clone(),
                tracer.tracer_version.clone(),
                tracer.runtime_id.clone(),
                tracer.env.clone(),
                tracer.hostname.clone(),
                tracer.app_version.clone(),
            ];
            let bytes = normalized.spans.iter().map(estimate_span_bytes).sum();
            let chunk = TraceChunk {
                priority: js_to_int32(normalized.priority),
                origin: normalized.origin,
                spans: normalized.spans,
                tags: normalized.tags,
                dropped_trace: false,
            };
            self.pending.entry(key).or_insert_with(|| PendingTracerPayload { meta: tracer, chunks: Vec::new() }).chunks.push(PendingChunk { chunk, bytes });
            self.buffered_spans += size;
            self.buffered_traces += 1;
            accepted_traces += 1;
            result.accepted += size;
        }
        self.stats.traces += accepted_traces;
        self.stats.spans += result.accepted as u64;
        self.stats.spans_dropped += result.dropped as u64;
        result
    }

    /// Validates a /v0.6/stats body and queues it. False when invalid (answer 400); true
    /// otherwise, including when dropped because the stats buffer is full (counted).
    pub fn add_stats(&mut self, body: &[u8], meta: &TracerMeta) -> bool {
        let Ok(mut payload) = decode_client_stats(body) else {
            self.stats.stats_rejected += 1;
            return false;
        };
        if self.pending_stats.len() >= self.options.max_buffered_stats_payloads {
            self.stats.stats_dropped += 1;
            return true;
        }
        process_client_stats(&mut payload, meta, self.options.env.as_deref());
        self.pending_stats.push(payload);
        self.stats.stats_payloads += 1;
        true
    }

    /// Encodes and empties the buffer. `now_ms` is reported as `lastFlushMs`.
    pub fn flush(&mut self, now_ms: u64) -> TraceFlush {
        self.stats.last_flush_ms = Some(now_ms);
        let mut payloads: Vec<Vec<TracerPayload>> = Vec::new();
        let mut current: Vec<TracerPayload> = Vec::new();
        let mut current_bytes = 0;
        let mut traces = 0;
        let mut spans = 0;
        for (_, pending) in std::mem::take(&mut self.pending) {
            let mut open = false;
            for PendingChunk { chunk, bytes } in pending.chunks {
                if current_bytes > 0 && current_bytes + bytes > self.options.max_payload_bytes {
                    payloads.push(std::mem::take(&mut current));
                    current_bytes = 0;
                    open = false;
                }
                if !open {
                    current.push(pending.meta.clone());
                    open = true;
                }
                traces += 1;
                spans += chunk.spans.len();
                if let Some(tracer) = current.last_mut() {
                    tracer.chunks.push(chunk);
                }
                current_bytes += bytes;
            }
        }
        if !current.is_empty() {
            payloads.push(current);
        }
        let agent_payloads: Vec<Vec<u8>> = payloads.into_iter().map(|tracer_payloads| self.agent_payload(tracer_payloads).encode_to_vec()).collect();
        let stats_payloads = self.pending_stats.len();
        let stats = (stats_payloads > 0).then(|| {
            encode_stats_payload(
                self.options.hostname.as_deref().unwrap_or(""),
                &normalize_tag_value(self.options.env.as_deref().unwrap_or("")),
                &self.options.agent_version,
                std::mem::take(&mut self.pending_stats),
            )
        });
        self.buffered_spans = 0;
        self.buffered_traces = 0;
        if !agent_payloads.is_empty() || stats.is_some() {
            self.stats.flushes += 1;
        }
        self.stats.flushed_traces += traces as u64;
        self.stats.flushed_spans += spans as u64;
        self.stats.flushed_stats_payloads += stats_payloads as u64;
        TraceFlush { agent_payloads, stats, traces, spans, stats_payloads }
    }

    /// Whether anything waits to be flushed.
    pub fn is_empty(&self) -> bool {
        self.buffered_traces == 0 && self.pending_stats.is_empty()
    }

    pub fn stats(&self) -> TraceStats {
        TraceStats {
            traces_dropped: self.counters.traces_dropped.clone(),
            spans_malformed: self.counters.spans_malformed.clone(),
            buffered_traces: self.buffered_traces as u64,
            buffered_spans: self.buffered_spans as u64,
            buffered_stats_payloads: self.pending_stats.len() as u64,
            ..self.stats.clone()
        }
    }

    fn agent_payload(&self, tracer_payloads: Vec<TracerPayload>) -> AgentPayload {
        AgentPayload {
            host_name: self.options.hostname.clone().unwrap_or_default(),
            env: normalize_tag_value(self.options.env.as_deref().unwrap_or("")),
            tracer_payloads,
            tags: self.options.global_tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            agent_version: self.options.agent_version.clone(),
            target_tps: self.options.target_tps,
            error_tps: self.options.error_tps,
            rare_sampler_enabled: false,
            apm_mode: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace_id: u64, span_id: u64) -> Span {
        Span { trace_id, span_id, start: 1_700_000_000_000_000_000, name: "op".into(), service: "svc".into(), ..Default::default() }
    }

    #[test]
    fn buffers_groups_and_flushes_an_agent_payload() {
        let mut buffer = TraceBuffer::new(TraceBufferOptions { env: Some("Prod".into()), ..Default::default() });
        let meta = TracerMeta { lang: Some("nodejs".into()), ..Default::default() };
        let result = buffer.add(vec![vec![span(u64::MAX, 1)], vec![span(5, 6), span(5, 7)], vec![span(0, 1)]], &meta, 1);
        assert_eq!(result, AddResult { accepted: 3, dropped: 1 });
        assert!(!buffer.is_empty());
        let flushed = buffer.flush(42);
        assert_eq!((flushed.traces, flushed.spans, flushed.agent_payloads.len()), (2, 3, 1));
        let decoded = AgentPayload::decode(flushed.agent_payloads[0].as_slice()).expect("protobuf");
        assert_eq!(decoded.env, "prod");
        assert_eq!(decoded.tracer_payloads.len(), 1);
        assert_eq!(decoded.tracer_payloads[0].chunks[0].spans[0].trace_id, u64::MAX);
        assert_eq!(decoded.tracer_payloads[0].chunks[0].priority, -128);
        let stats = buffer.stats();
        assert_eq!((stats.payloads, stats.traces, stats.spans, stats.spans_dropped, stats.flushes, stats.last_flush_ms), (1, 2, 3, 1, 1, Some(42)));
        assert_eq!(stats.traces_dropped.trace_id_zero, 1);
        assert!(buffer.is_empty());
    }

    #[test]
    fn drops_traces_past_the_span_limit() {
        let mut buffer = TraceBuffer::new(TraceBufferOptions { max_buffered_spans: 2, ..Default::default() });
        let result = buffer.add(vec![vec![span(1, 1), span(1, 2)], vec![span(2, 3)]], &TracerMeta::default(), 1);
        assert_eq!(result, AddResult { accepted: 2, dropped: 1 });
        assert_eq!(buffer.stats().traces_dropped.buffer_full, 1);
    }

    #[test]
    fn splits_payloads_by_size() {
        let mut buffer = TraceBuffer::new(TraceBufferOptions { max_payload_bytes: 100, ..Default::default() });
        buffer.add(vec![vec![span(1, 1)], vec![span(2, 2)]], &TracerMeta::default(), 1);
        assert_eq!(buffer.flush(1).agent_payloads.len(), 2);
    }
}
