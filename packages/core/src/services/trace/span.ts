/**
 * The span model the trace agent works on: what a tracer sends on /v0.4 and /v0.5, with the
 * Datadog Agent's field types. Identifiers and nanosecond times are 64-bit integers on the wire,
 * beyond what a JS number holds exactly, so they are bigint: ids unsigned, start and duration
 * signed (as in pkg/proto/datadog/trace/span.proto).
 */
export interface Span {
  service: string;
  name: string;
  resource: string;
  /** Unsigned 64-bit. */
  traceId: bigint;
  /** Unsigned 64-bit. */
  spanId: bigint;
  /** Unsigned 64-bit; 0 for a root span. */
  parentId: bigint;
  /** Nanoseconds since the Unix epoch, signed 64-bit. */
  start: bigint;
  /** Nanoseconds, signed 64-bit. */
  duration: bigint;
  /** 0 or 1 as sent (int32). */
  error: number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
  type: string;
  /** Opaque msgpack-encoded values (AppSec and others), forwarded as bytes. */
  metaStruct?: Record<string, Uint8Array>;
  spanLinks?: SpanLink[];
}

export interface SpanLink {
  traceId: bigint;
  traceIdHigh: bigint;
  spanId: bigint;
  attributes: Record<string, string>;
  tracestate: string;
  flags: number;
}

/** What the tracer says about itself in the Datadog-Meta-* / Datadog-Container-ID request headers. */
export interface TracerMeta {
  lang?: string;
  langVersion?: string;
  tracerVersion?: string;
  containerId?: string;
}

/** The two msgpack trace formats the agent accepts. */
export type TracePayloadVersion = 'v0.4' | 'v0.5';

export const MAX_UINT64 = (1n << 64n) - 1n;
export const MAX_INT64 = (1n << 63n) - 1n;
