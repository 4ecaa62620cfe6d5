/**
 * The trace agent's state between flushes: normalized traces grouped the way the intake wants
 * them (an `AgentPayload` of `TracerPayload`s of `TraceChunk`s, one chunk per trace) and the
 * client stats payloads waiting to be forwarded. Pure: no I/O, no timers; the Node adapter calls
 * `ingest`/`add`/`addStats` per request and `flush` on its interval and at shutdown.
 *
 * Memory is bounded: a trace that would take the buffer past `maxBufferedSpans` is dropped
 * whole and counted (`tracesDropped.bufferFull`), as are stats payloads past
 * `maxBufferedStatsPayloads`.
 */
import { encodeAgentPayload, type AgentPayloadModel, type TraceChunkModel, type TracerPayloadModel } from './agent-payload.js';
import { decodeClientStats, encodeStatsPayload, processClientStats } from './client-stats.js';
import { decodeTraces, type DecodeError } from './decode.js';
import { DECODE_ERROR_REASONS, type DecodeErrorReason, type MsgpackMap } from './msgpack-fields.js';
import {
  createNormalizeCounters,
  normalizeTrace,
  type NormalizeCounters,
  type NormalizeDefaults,
  type SpansMalformed,
  type TracesDropped,
} from './normalize.js';
import { normalizeTagValue } from './normalize-text.js';
import { defaultRateByService } from './rate-by-service.js';
import type { Span, TracePayloadVersion, TracerMeta } from './span.js';

export interface TraceBufferOptions {
  /** DD_ENV: the AgentPayload env, and the env of spans that carry none. */
  env?: string;
  /** The AgentPayload hostName. Empty by default (serverless functions have no stable host). */
  hostname?: string;
  /** DD_TAGS and friends: the AgentPayload tags, which the intake applies to every span. */
  globalTags: Readonly<Record<string, string>>;
  /** The AgentPayload agentVersion. */
  agentVersion: string;
  /** DD_SERVICE: the service of spans that carry none. */
  service?: string;
  /** Cloud origin span tags (`_dd.origin`, `origin`, function tags), added where a span lacks them. */
  spanTags?: Readonly<Record<string, string>>;
  /** Defaults to 50,000. */
  maxBufferedSpans?: number;
  /** Defaults to 1,000. */
  maxBufferedStatsPayloads?: number;
  /**
   * Approximate uncompressed size at which `flush` starts a new AgentPayload. Defaults to
   * 3,200,000 bytes, the Datadog Agent trace writer's MaxPayloadSize.
   */
  maxPayloadBytes?: number;
  /** The AgentPayload targetTPS / errorTPS (the agent's max_traces_per_second, errors_per_second). Default 10. */
  targetTPS?: number;
  errorTPS?: number;
  /** Epoch milliseconds, for repairing span start times. Defaults to Date.now. */
  now?: () => number;
}

export interface TraceStats {
  /** Trace submissions (one per `add`, or per `ingest` that decoded). */
  payloads: number;
  /** Traces and spans accepted into the buffer. */
  traces: number;
  spans: number;
  decodeErrors: number;
  decodeErrorsByReason: Record<DecodeErrorReason, number>;
  tracesDropped: TracesDropped;
  /** Spans not buffered, for any reason (normalization, user reject, buffer full). */
  spansDropped: number;
  spansMalformed: SpansMalformed;
  statsPayloads: number;
  /** /v0.6/stats bodies refused as invalid. */
  statsRejected: number;
  /** Valid stats payloads dropped because the buffer was full. */
  statsDropped: number;
  bufferedTraces: number;
  bufferedSpans: number;
  bufferedStatsPayloads: number;
  flushes: number;
  flushedTraces: number;
  flushedSpans: number;
  flushedStatsPayloads: number;
  /** The `nowMs` of the last flush, null before the first. */
  lastFlushMs: number | null;
}

export interface AddResult {
  accepted: number;
  dropped: number;
}

export type IngestResult = ({ ok: true; traces: number } & AddResult) | { ok: false; error: DecodeError };

export interface TraceFlush {
  /**
   * Every AgentPayload of this flush, each at most about `maxPayloadBytes` (protobuf, not
   * compressed): send each as one request to /api/v0.2/traces.
   */
  agentPayloads: Uint8Array[];
  /**
   * All of `agentPayloads` as one message (protobuf concatenation merges repeated fields), or
   * null when nothing was buffered. For callers that prefer a single request. Computed on read.
   */
  readonly agentPayload: Uint8Array | null;
  /** The msgpack StatsPayload for /api/v0.2/stats (not compressed), or null. */
  stats: Uint8Array | null;
  traces: number;
  spans: number;
  statsPayloads: number;
}

interface PendingTracerPayload {
  meta: Omit<TracerPayloadModel, 'chunks'>;
  chunks: { chunk: TraceChunkModel; bytes: number }[];
}

// Fixed per-span overhead in the protobuf (ids, times, field tags, map entry framing).
const SPAN_OVERHEAD_BYTES = 80;

function estimateSpanBytes(span: Span): number {
  let bytes = SPAN_OVERHEAD_BYTES + span.service.length + span.name.length + span.resource.length + span.type.length;
  const meta = span.meta;
  for (const key in meta) bytes += key.length + (meta[key] as string).length + 6;
  for (const key in span.metrics) bytes += key.length + 14;
  if (span.metaStruct !== undefined) for (const key in span.metaStruct) bytes += key.length + (span.metaStruct[key] as Uint8Array).length + 6;
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class TraceBuffer {
  private readonly options: TraceBufferOptions;
  private readonly maxBufferedSpans: number;
  private readonly maxBufferedStatsPayloads: number;
  private readonly maxPayloadBytes: number;
  private readonly now: () => number;
  private readonly counters: NormalizeCounters = createNormalizeCounters();
  private readonly pending = new Map<string, PendingTracerPayload>();
  private pendingStats: MsgpackMap[] = [];
  private bufferedSpans = 0;
  private bufferedTraces = 0;
  private lastFlushMs: number | null = null;
  private readonly totals = {
    payloads: 0,
    traces: 0,
    spans: 0,
    decodeErrors: 0,
    spansDropped: 0,
    statsPayloads: 0,
    statsRejected: 0,
    statsDropped: 0,
    flushes: 0,
    flushedTraces: 0,
    flushedSpans: 0,
    flushedStatsPayloads: 0,
  };
  private readonly decodeErrorsByReason = Object.fromEntries(DECODE_ERROR_REASONS.map((r) => [r, 0])) as Record<
    DecodeErrorReason,
    number
  >;

  constructor(options: TraceBufferOptions) {
    this.options = options;
    this.maxBufferedSpans = options.maxBufferedSpans ?? 50_000;
    this.maxBufferedStatsPayloads = options.maxBufferedStatsPayloads ?? 1_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 3_200_000;
    this.now = options.now ?? Date.now;
  }

  /** Decodes one /v0.4 or /v0.5 body and adds its traces. A decode error is counted and returned. */
  ingest(version: TracePayloadVersion, body: Uint8Array, meta: TracerMeta = {}): IngestResult {
    const decoded = decodeTraces(version, body);
    if (!decoded.ok) {
      this.recordDecodeError(decoded.reason);
      return { ok: false, error: decoded };
    }
    return { ok: true, traces: decoded.traces.length, ...this.add(decoded.traces, meta) };
  }

  /** Counts a payload that failed to decode elsewhere (e.g. by a caller using `decodeTraces`). */
  recordDecodeError(reason: DecodeErrorReason): void {
    this.totals.decodeErrors++;
    this.decodeErrorsByReason[reason]++;
  }

  /** Normalizes and buffers decoded traces (spans are modified in place). Counts are in spans. */
  add(traces: Span[][], meta: TracerMeta): AddResult {
    this.totals.payloads++;
    const defaults: NormalizeDefaults = {
      nowMs: this.now(),
      lang: meta.lang,
      env: this.options.env,
      service: this.options.service,
      spanTags: this.options.spanTags,
    };
    let accepted = 0;
    let dropped = 0;
    let acceptedTraces = 0;
    for (const trace of traces) {
      const size = trace.length;
      const normalized = normalizeTrace(trace, defaults, this.counters);
      if (normalized === null) {
        dropped += size;
        continue;
      }
      if (this.bufferedSpans + size > this.maxBufferedSpans) {
        this.counters.tracesDropped.bufferFull++;
        dropped += size;
        continue;
      }
      const root = normalized.root;
      const tracerMeta: Omit<TracerPayloadModel, 'chunks'> = {
        containerID: meta.containerId ?? '',
        languageName: meta.lang ?? '',
        languageVersion: meta.langVersion ?? '',
        tracerVersion: meta.tracerVersion ?? '',
        runtimeID: root.meta['runtime-id'] ?? '',
        tags: {},
        env: root.meta.env ?? '',
        hostname: root.meta['_dd.hostname'] ?? '',
        appVersion: root.meta.version ?? '',
      };
      const key = [
        tracerMeta.containerID,
        tracerMeta.languageName,
        tracerMeta.languageVersion,
        tracerMeta.tracerVersion,
        tracerMeta.runtimeID,
        tracerMeta.env,
        tracerMeta.hostname,
        tracerMeta.appVersion,
      ].join('\u0000');
      let target = this.pending.get(key);
      if (target === undefined) {
        target = { meta: tracerMeta, chunks: [] };
        this.pending.set(key, target);
      }
      let bytes = 0;
      for (const span of normalized.spans) bytes += estimateSpanBytes(span);
      target.chunks.push({
        chunk: { priority: normalized.priority, origin: normalized.origin, spans: normalized.spans, tags: normalized.tags, droppedTrace: false },
        bytes,
      });
      this.bufferedSpans += size;
      this.bufferedTraces++;
      acceptedTraces++;
      accepted += size;
    }
    this.totals.traces += acceptedTraces;
    this.totals.spans += accepted;
    this.totals.spansDropped += dropped;
    return { accepted, dropped };
  }

  /**
   * Validates a /v0.6/stats body and queues it. False when the body is not a valid
   * ClientStatsPayload (the caller answers 400); true otherwise, including when the payload is
   * dropped because the stats buffer is full (counted in `statsDropped`).
   */
  addStats(body: Uint8Array, meta: TracerMeta = {}): boolean {
    const decoded = decodeClientStats(body);
    if (!decoded.ok) {
      this.totals.statsRejected++;
      return false;
    }
    if (this.pendingStats.length >= this.maxBufferedStatsPayloads) {
      this.totals.statsDropped++;
      return true;
    }
    processClientStats(decoded.payload, meta, this.options.env);
    this.pendingStats.push(decoded.payload);
    this.totals.statsPayloads++;
    return true;
  }

  /** Encodes and empties the buffer. `nowMs` is the flush time, reported as `lastFlushMs`. */
  flush(nowMs: number): TraceFlush {
    this.lastFlushMs = nowMs;
    const payloads: AgentPayloadModel[] = [];
    let current: TracerPayloadModel[] = [];
    let currentBytes = 0;
    let traces = 0;
    let spans = 0;
    const close = (): void => {
      if (current.length > 0) payloads.push(this.agentPayloadModel(current));
      current = [];
      currentBytes = 0;
    };
    for (const pending of this.pending.values()) {
      let tracerPayload: TracerPayloadModel | null = null;
      for (const { chunk, bytes } of pending.chunks) {
        if (currentBytes > 0 && currentBytes + bytes > this.maxPayloadBytes) {
          close();
          tracerPayload = null;
        }
        if (tracerPayload === null) {
          tracerPayload = { ...pending.meta, chunks: [] };
          current.push(tracerPayload);
        }
        tracerPayload.chunks.push(chunk);
        currentBytes += bytes;
        traces++;
        spans += chunk.spans.length;
      }
    }
    close();

    const agentPayloads = payloads.map(encodeAgentPayload);
    const statsPayloads = this.pendingStats.length;
    const stats =
      statsPayloads === 0
        ? null
        : encodeStatsPayload({
            agentHostname: this.options.hostname ?? '',
            agentEnv: normalizeTagValue(this.options.env ?? ''),
            agentVersion: this.options.agentVersion,
            stats: this.pendingStats,
          });

    this.pending.clear();
    this.pendingStats = [];
    this.bufferedSpans = 0;
    this.bufferedTraces = 0;
    if (agentPayloads.length > 0 || stats !== null) this.totals.flushes++;
    this.totals.flushedTraces += traces;
    this.totals.flushedSpans += spans;
    this.totals.flushedStatsPayloads += statsPayloads;
    let merged: Uint8Array | null | undefined;
    return {
      agentPayloads,
      // Built on first read: most callers send `agentPayloads` and never pay for the copy.
      get agentPayload(): Uint8Array | null {
        if (merged === undefined) merged = agentPayloads.length === 0 ? null : concat(agentPayloads);
        return merged;
      },
      stats,
      traces,
      spans,
      statsPayloads,
    };
  }

  /** Whether anything waits to be flushed. */
  isEmpty(): boolean {
    return this.bufferedTraces === 0 && this.pendingStats.length === 0;
  }

  stats(): TraceStats {
    const t = this.totals;
    return {
      payloads: t.payloads,
      traces: t.traces,
      spans: t.spans,
      decodeErrors: t.decodeErrors,
      decodeErrorsByReason: { ...this.decodeErrorsByReason },
      tracesDropped: { ...this.counters.tracesDropped },
      spansDropped: t.spansDropped,
      spansMalformed: { ...this.counters.spansMalformed },
      statsPayloads: t.statsPayloads,
      statsRejected: t.statsRejected,
      statsDropped: t.statsDropped,
      bufferedTraces: this.bufferedTraces,
      bufferedSpans: this.bufferedSpans,
      bufferedStatsPayloads: this.pendingStats.length,
      flushes: t.flushes,
      flushedTraces: t.flushedTraces,
      flushedSpans: t.flushedSpans,
      flushedStatsPayloads: t.flushedStatsPayloads,
      lastFlushMs: this.lastFlushMs,
    };
  }

  /** The `rate_by_service` map for trace submission answers: keep everything. */
  rateByService(): Record<string, number> {
    return defaultRateByService();
  }

  private agentPayloadModel(tracerPayloads: TracerPayloadModel[]): AgentPayloadModel {
    return {
      hostName: this.options.hostname ?? '',
      env: normalizeTagValue(this.options.env ?? ''),
      tracerPayloads,
      tags: { ...this.options.globalTags },
      agentVersion: this.options.agentVersion,
      targetTPS: this.options.targetTPS ?? 10,
      errorTPS: this.options.errorTPS ?? 10,
    };
  }
}
