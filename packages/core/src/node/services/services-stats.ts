/**
 * The stats shape of `ServerlessServices.stats()`, and its all-zero value for services that
 * never ran. Built from the light modules only: stats() before start() must not load the codecs.
 */
import { PARSE_ERROR_KINDS, type ParseErrorKind } from '../../services/dogstatsd/types.js';
import type { DogStatsDStats } from '../../services/dogstatsd/aggregator.js';
import { DECODE_ERROR_REASONS, type DecodeErrorReason } from '../../services/trace/msgpack-fields.js';
import { createNormalizeCounters } from '../../services/trace/normalize.js';
import type { TraceStats } from '../../services/trace/buffer.js';
import type { DogStatsDListenerStats } from './dogstatsd-listener.js';
import type { IntakeStats } from './intake-client.js';
import type { TraceAgentHttpStats } from './trace-agent-listener.js';

export interface ServicesStats {
  backend: 'js' | 'native';
  running: boolean;
  /** Datagrams and what the parser and aggregator made of them (parse errors by kind in `errors`). */
  dogstatsd: DogStatsDStats & Pick<DogStatsDListenerStats, 'socketErrors' | 'handlerErrors' | 'receiveBufferBytes'>;
  /** HTTP traffic (responses by status, disconnects) and what the decoder and buffer made of it. */
  traceAgent: TraceStats & TraceAgentHttpStats;
  /** Deliveries, retries and drops (by reason) towards the intakes. */
  intake: IntakeStats;
  flushes: { metrics: number; traces: number };
}

export function emptyDogStatsDStats(): ServicesStats['dogstatsd'] {
  return {
    packets: 0,
    bytes: 0,
    lines: 0,
    metrics: 0,
    events: 0,
    serviceChecks: 0,
    parseErrors: 0,
    errors: Object.fromEntries(PARSE_ERROR_KINDS.map((kind) => [kind, 0])) as Record<ParseErrorKind, number>,
    contexts: 0,
    contextsDropped: 0,
    eventsDropped: 0,
    serviceChecksDropped: 0,
    socketErrors: 0,
    handlerErrors: 0,
    receiveBufferBytes: 0,
  };
}

export function emptyTraceAgentStats(): ServicesStats['traceAgent'] {
  const counters = createNormalizeCounters();
  return {
    payloads: 0,
    traces: 0,
    spans: 0,
    decodeErrors: 0,
    decodeErrorsByReason: Object.fromEntries(DECODE_ERROR_REASONS.map((reason) => [reason, 0])) as Record<DecodeErrorReason, number>,
    tracesDropped: counters.tracesDropped,
    spansDropped: 0,
    spansMalformed: counters.spansMalformed,
    statsPayloads: 0,
    statsRejected: 0,
    statsDropped: 0,
    bufferedTraces: 0,
    bufferedSpans: 0,
    bufferedStatsPayloads: 0,
    flushes: 0,
    flushedTraces: 0,
    flushedSpans: 0,
    flushedStatsPayloads: 0,
    lastFlushMs: null,
    ...emptyHttpStats(),
  };
}

export function emptyHttpStats(): TraceAgentHttpStats {
  return { requests: 0, responses: {}, disconnects: 0, cutOff: 0, bytesReceived: 0 };
}

export function emptyServicesStats(): ServicesStats {
  return {
    backend: 'js',
    running: false,
    dogstatsd: emptyDogStatsDStats(),
    traceAgent: emptyTraceAgentStats(),
    intake: emptyIntakeStats(),
    flushes: { metrics: 0, traces: 0 },
  };
}

export function emptyIntakeStats(): IntakeStats {
  return {
    payloads: 0,
    delivered: 0,
    requests: 0,
    retries: 0,
    errors: 0,
    dropped: { rejected: 0, exhausted: 0, aborted: 0, overflow: 0 },
    droppedItems: 0,
    bytesSent: 0,
    lastError: null,
    pending: 0,
  };
}
