// Tracer → agent trace payloads for the trace-agent tests, produced two independent ways:
// with @msgpack/msgpack (any shape, including broken ones) and with dd-trace's own v0.4/v0.5
// encoders (exactly the bytes the real tracer sends).
import { createRequire } from 'node:module';
import { Encoder } from '@msgpack/msgpack';

const require = createRequire(import.meta.url);
const encoder = new Encoder({ useBigInt64: true });

export const U64_MAX = (1n << 64n) - 1n;
export const U63_PLUS_1 = (1n << 63n) + 1n;
/** 2024-01-01T00:00:00.123456789Z in nanoseconds: beyond 2^53, so a float would round it. */
export const START_NS = 1_704_067_200_123_456_789n;

/** A /v0.4 span map as a tracer writes it (snake_case keys). */
export interface WireSpan {
  service?: unknown;
  name?: unknown;
  resource?: unknown;
  trace_id?: unknown;
  span_id?: unknown;
  parent_id?: unknown;
  start?: unknown;
  duration?: unknown;
  error?: unknown;
  meta?: unknown;
  metrics?: unknown;
  type?: unknown;
  [key: string]: unknown;
}

export function wireSpan(overrides: WireSpan = {}): WireSpan {
  return {
    service: 'checkout',
    name: 'web.request',
    resource: 'GET /cart',
    trace_id: 42n,
    span_id: 7n,
    parent_id: 0n,
    start: START_NS,
    duration: 1_500_000n,
    error: 0,
    meta: { 'http.method': 'GET', env: 'prod' },
    metrics: { _sampling_priority_v1: 1 },
    type: 'web',
    ...overrides,
  };
}

export function encodeMsgpack(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function encodeV04(traces: WireSpan[][]): Uint8Array {
  return encoder.encode(traces);
}

/**
 * A small msgpack writer that, unlike @msgpack/msgpack, encodes `Map`s with integer keys, as
 * /v0.5 meta and metrics maps have (string-table index → index). Integers are written in the
 * smallest form, bigints as uint64/int64, other numbers as float64.
 */
export function encodeWithIntKeys(value: unknown): Uint8Array {
  const out: number[] = [];
  const u8 = (...bytes: number[]): void => {
    out.push(...bytes);
  };
  const be = (n: bigint, bytes: number): void => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) u8(0xc0);
    else if (v === true || v === false) u8(v ? 0xc3 : 0xc2);
    else if (typeof v === 'bigint') {
      if (v >= 0n) (u8(0xcf), be(v, 8));
      else (u8(0xd3), be(BigInt.asUintN(64, v), 8));
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
        if (v < 128) u8(v);
        else (u8(0xce), be(BigInt(v), 4));
      } else if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) (u8(0xd2), be(BigInt.asUintN(32, BigInt(v)), 4));
      else {
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, v);
        u8(0xcb, ...new Uint8Array(view.buffer));
      }
    } else if (typeof v === 'string') {
      const bytes = new TextEncoder().encode(v);
      (u8(0xdb), be(BigInt(bytes.length), 4), u8(...bytes));
    } else if (v instanceof Uint8Array) (u8(0xc6), be(BigInt(v.length), 4), u8(...v));
    else if (Array.isArray(v)) {
      (u8(0xdd), be(BigInt(v.length), 4));
      for (const item of v) write(item);
    } else if (v instanceof Map) {
      (u8(0xdf), be(BigInt(v.size), 4));
      for (const [k, item] of v) (write(k), write(item));
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      (u8(0xdf), be(BigInt(entries.length), 4));
      for (const [k, item] of entries) (write(k), write(item));
    } else throw new Error(`cannot encode ${typeof v}`);
  };
  write(value);
  return new Uint8Array(out);
}

/** /v0.5: `[strings, traces]`, each span a 12-element array of string-table indexes and values. */
export function encodeV05(traces: WireSpan[][]): Uint8Array {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: unknown): number => {
    const str = String(s ?? '');
    let i = index.get(str);
    if (i === undefined) {
      i = strings.length;
      strings.push(str);
      index.set(str, i);
    }
    return i;
  };
  ref('');
  const encoded = traces.map((trace) =>
    trace.map((s) => {
      const meta = new Map<number, number>();
      for (const [k, v] of Object.entries((s.meta ?? {}) as Record<string, string>)) meta.set(ref(k), ref(v));
      const metrics = new Map<number, number>();
      for (const [k, v] of Object.entries((s.metrics ?? {}) as Record<string, number>)) metrics.set(ref(k), v);
      return [ref(s.service), ref(s.name), ref(s.resource), s.trace_id, s.span_id, s.parent_id, s.start, s.duration, s.error, meta, metrics, ref(s.type)];
    }),
  );
  return encodeWithIntKeys([strings, encoded]);
}

/** A span as dd-trace's exporter hands it to its encoder (span_format.js output). */
export interface DdSpanInput {
  traceId: bigint;
  spanId: bigint;
  parentId: bigint;
  service: string;
  name: string;
  resource: string;
  type?: string;
  error?: number;
  meta?: Record<string, string>;
  metrics?: Record<string, number>;
  /** Nanoseconds; dd-trace itself keeps this as a JS number. */
  start: number;
  duration: number;
}

interface DdEncoder {
  encode(trace: unknown[]): void;
  makePayload(): Uint8Array;
}

type DdEncoderClass = new (writer: { flush(): void }) => DdEncoder;

/** Encodes traces with dd-trace's own encoder for the given endpoint version. */
export function ddTraceEncode(version: 'v0.4' | 'v0.5', traces: DdSpanInput[][]): Uint8Array {
  const id = require('dd-trace/packages/dd-trace/src/id.js') as (value: string, radix?: number) => unknown;
  const { AgentEncoder } = require(`dd-trace/packages/dd-trace/src/encode/${version === 'v0.4' ? '0.4' : '0.5'}.js`) as {
    AgentEncoder: DdEncoderClass;
  };
  const encoder = new AgentEncoder({ flush: () => undefined });
  for (const trace of traces) {
    encoder.encode(
      trace.map((s) => ({
        trace_id: id(s.traceId.toString(16).padStart(16, '0'), 16),
        span_id: id(s.spanId.toString(16).padStart(16, '0'), 16),
        parent_id: id(s.parentId.toString(16).padStart(16, '0'), 16),
        service: s.service,
        name: s.name,
        resource: s.resource,
        type: s.type,
        error: s.error ?? 0,
        meta: { ...(s.meta ?? {}) },
        metrics: { ...(s.metrics ?? {}) },
        start: s.start,
        duration: s.duration,
      })),
    );
  }
  return encoder.makePayload();
}

/** A ClientStatsPayload as dd-trace's span-stats exporter builds it (before encoding). */
export interface DdClientStats {
  Hostname: string;
  Env: string;
  Version: string;
  Lang: string;
  TracerVersion: string;
  RuntimeID: string;
  Sequence: number;
  Stats: {
    Start: number;
    Duration: number;
    Stats: {
      Service: string;
      Name: string;
      Resource: string;
      HTTPStatusCode: number;
      Type: string;
      Hits: number;
      Errors: number;
      Duration: number;
      OkSummary: Uint8Array;
      ErrorSummary: Uint8Array;
      Synthetics: boolean;
      TopLevelHits: number;
      HTTPMethod?: string;
      HTTPEndpoint?: string;
      SpanKind?: string;
      GRPCStatusCode?: string;
    }[];
  }[];
}

/** Encodes a /v0.6/stats body with dd-trace's own SpanStatsEncoder. */
export function ddTraceEncodeStats(stats: DdClientStats): Uint8Array {
  const { SpanStatsEncoder } = require('dd-trace/packages/dd-trace/src/encode/span-stats.js') as {
    SpanStatsEncoder: new (writer: { flush(): void }) => { encode(stats: unknown): void; makePayload(): Uint8Array };
  };
  const encoder = new SpanStatsEncoder({ flush: () => undefined });
  encoder.encode(stats);
  return encoder.makePayload();
}
