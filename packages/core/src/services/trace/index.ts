/**
 * The runtime-agnostic part of the Datadog trace agent (DESIGN.md §8): decoding tracer
 * payloads, the Agent's normalization rules, and the buffer that produces the intake's
 * AgentPayload protobuf and forwarded client stats. Node adapters live in core/src/node/services.
 */
export type { Span, SpanLink, TracerMeta, TracePayloadVersion } from './span.js';
export { MAX_UINT64, MAX_INT64 } from './span.js';
export { decodeTraces, isDecodeError, type DecodedTraces, type DecodeError, type DecodeErrorReason } from './decode.js';
export { DECODE_ERROR_REASONS } from './msgpack-fields.js';
export {
  normalizeSpan,
  normalizeTrace,
  createNormalizeCounters,
  computeTopLevel,
  findRoot,
  PRIORITY_NONE,
  type NormalizeDefaults,
  type NormalizeCounters,
  type NormalizedTrace,
  type SpansMalformed,
  type TracesDropped,
} from './normalize.js';
export { normalizeName, normalizeService, normalizeTag, normalizeTagValue, truncateUtf8 } from './normalize-text.js';
export { encodeAgentPayload, type AgentPayloadModel, type TracerPayloadModel, type TraceChunkModel } from './agent-payload.js';
export { decodeClientStats, encodeStatsPayload, processClientStats, type DecodedClientStats, type StatsPayloadModel } from './client-stats.js';
export {
  TraceBuffer,
  type TraceBufferOptions,
  type TraceStats,
  type TraceFlush,
  type AddResult,
  type IngestResult,
} from './buffer.js';
export { rateByServiceBody, defaultRateByService, DEFAULT_RATE_KEY } from './rate-by-service.js';
