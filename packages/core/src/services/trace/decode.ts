/**
 * Decoding of the tracer → agent trace payloads, pure bytes → result, never throwing.
 *
 * - `/v0.4/traces`: a msgpack array of traces, each an array of spans, each span a map keyed
 *   `service name resource trace_id span_id parent_id start duration error meta metrics type
 *   meta_struct span_links`; other keys are skipped, as the agent does.
 * - `/v0.5/traces`: `[strings, traces]`, where `strings` is the payload's string table and each
 *   span is a 12-element array `[service, name, resource, trace_id, span_id, parent_id, start,
 *   duration, error, meta, metrics, type]`; the string fields, meta keys and values and metric keys
 *   are uint32 indexes into the table (pkg/proto/pbgo/trace/decoder_v05.go in DataDog/datadog-agent,
 *   and dd-trace-js's encode/0.5.js, which writes exactly this layout).
 *
 * 64-bit integers come through exactly: the msgpack decoder runs with `useBigInt64`, so uint64
 * and int64 encodings arrive as bigint and never pass through a float.
 */
import { Decoder } from '@msgpack/msgpack';
import {
  FieldError,
  isMap,
  readArray,
  readBytes,
  readFloat64,
  readFloatMap,
  readInt32,
  readInt64,
  readMap,
  readString,
  readStringMap,
  readUint64,
  type DecodeErrorReason,
  type MsgpackMap,
} from './msgpack-fields.js';
import type { Span, SpanLink, TracePayloadVersion } from './span.js';

export type { DecodeErrorReason } from './msgpack-fields.js';

export interface DecodeError {
  readonly ok: false;
  readonly reason: DecodeErrorReason;
  /** Lower-case, names the offending field and what it held. */
  readonly message: string;
}

export interface DecodedTraces {
  readonly ok: true;
  readonly traces: Span[][];
  readonly spanCount: number;
}

// One decoder for the process: decoding is synchronous, and reusing it keeps its map-key cache
// (span field names repeat in every span) warm.
const decoder = new Decoder({ useBigInt64: true });

/** Parses raw msgpack, mapping every failure of the library to a `bad_msgpack` result. */
export function decodeMsgpack(body: Uint8Array): { ok: true; value: unknown } | DecodeError {
  try {
    return { ok: true, value: decoder.decode(body) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: 'bad_msgpack', message: `bad msgpack: ${message.toLowerCase()}` };
  }
}

export function decodeTraces(version: TracePayloadVersion, body: Uint8Array): DecodedTraces | DecodeError {
  const parsed = decodeMsgpack(body);
  if (!parsed.ok) return parsed;
  try {
    return version === 'v0.5' ? tracesV05(parsed.value) : tracesV04(parsed.value);
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, reason: error.reason, message: error.message };
    // Unreachable by construction; kept so the function honours "never throws" even so.
    return { ok: false, reason: 'wrong_shape', message: String(error) };
  }
}

export function isDecodeError(value: DecodedTraces | DecodeError): value is DecodeError {
  return !value.ok;
}

function shape(message: string): FieldError {
  return new FieldError('wrong_shape', message);
}

function tracesV04(root: unknown): DecodedTraces {
  if (!Array.isArray(root)) throw shape('payload: expected an array of traces');
  const traces: Span[][] = new Array(root.length);
  let spanCount = 0;
  for (let t = 0; t < root.length; t++) {
    const rawTrace: unknown = root[t];
    if (!Array.isArray(rawTrace)) throw shape(`traces[${t}]: expected an array of spans`);
    const trace: Span[] = new Array(rawTrace.length);
    for (let s = 0; s < rawTrace.length; s++) {
      const rawSpan: unknown = rawTrace[s];
      if (!isMap(rawSpan)) throw shape(`traces[${t}][${s}]: expected a span map`);
      trace[s] = spanV04(rawSpan);
    }
    spanCount += trace.length;
    traces[t] = trace;
  }
  return { ok: true, traces, spanCount };
}

function spanV04(raw: MsgpackMap): Span {
  const span: Span = {
    service: '',
    name: '',
    resource: '',
    traceId: 0n,
    spanId: 0n,
    parentId: 0n,
    start: 0n,
    duration: 0n,
    error: 0,
    meta: {},
    metrics: {},
    type: '',
  };
  for (const key in raw) {
    const value = raw[key];
    switch (key) {
      case 'service':
        span.service = readString(value, 'service');
        break;
      case 'name':
        span.name = readString(value, 'name');
        break;
      case 'resource':
        span.resource = readString(value, 'resource');
        break;
      case 'trace_id':
        span.traceId = readUint64(value, 'trace_id');
        break;
      case 'span_id':
        span.spanId = readUint64(value, 'span_id');
        break;
      case 'parent_id':
        span.parentId = readUint64(value, 'parent_id');
        break;
      case 'start':
        span.start = readInt64(value, 'start');
        break;
      case 'duration':
        span.duration = readInt64(value, 'duration');
        break;
      case 'error':
        span.error = readInt32(value, 'error');
        break;
      case 'meta':
        span.meta = readStringMap(value, 'meta');
        break;
      case 'metrics':
        span.metrics = readFloatMap(value, 'metrics');
        break;
      case 'type':
        span.type = readString(value, 'type');
        break;
      case 'meta_struct':
        span.metaStruct = metaStruct(value);
        break;
      case 'span_links':
        span.spanLinks = readArray(value, 'span_links').map(spanLink);
        break;
      default:
        break;
    }
  }
  return span;
}

function metaStruct(value: unknown): Record<string, Uint8Array> {
  const map = readMap(value, 'meta_struct');
  const out: Record<string, Uint8Array> = {};
  for (const key in map) out[key] = readBytes(map[key], `meta_struct.${key}`);
  return out;
}

function spanLink(value: unknown, index: number): SpanLink {
  const raw = readMap(value, `span_links[${index}]`);
  return {
    traceId: readUint64(raw.trace_id, 'span_links.trace_id'),
    traceIdHigh: readUint64(raw.trace_id_high, 'span_links.trace_id_high'),
    spanId: readUint64(raw.span_id, 'span_links.span_id'),
    attributes: readStringMap(raw.attributes, 'span_links.attributes'),
    tracestate: readString(raw.tracestate, 'span_links.tracestate'),
    flags: Number(readUint64(raw.flags, 'span_links.flags') & 0xffffffffn),
  };
}

const V05_SPAN_FIELDS = 12;

function tracesV05(root: unknown): DecodedTraces {
  if (!Array.isArray(root) || root.length !== 2) {
    throw shape('payload: expected [string table, traces], a 2-element array');
  }
  const rawStrings = root[0] as unknown;
  const rawTraces = root[1] as unknown;
  if (!Array.isArray(rawStrings)) throw shape('payload[0]: expected the string table (an array)');
  if (!Array.isArray(rawTraces)) throw shape('payload[1]: expected an array of traces');
  const strings: string[] = new Array(rawStrings.length);
  for (let i = 0; i < rawStrings.length; i++) strings[i] = readString(rawStrings[i], `strings[${i}]`);

  const traces: Span[][] = new Array(rawTraces.length);
  let spanCount = 0;
  for (let t = 0; t < rawTraces.length; t++) {
    const rawTrace: unknown = rawTraces[t];
    if (!Array.isArray(rawTrace)) throw shape(`traces[${t}]: expected an array of spans`);
    const trace: Span[] = new Array(rawTrace.length);
    for (let s = 0; s < rawTrace.length; s++) {
      const rawSpan: unknown = rawTrace[s];
      if (!Array.isArray(rawSpan) || rawSpan.length !== V05_SPAN_FIELDS) {
        throw shape(`traces[${t}][${s}]: a v0.5 span is an array of exactly ${V05_SPAN_FIELDS} elements`);
      }
      trace[s] = spanV05(rawSpan, strings);
    }
    spanCount += trace.length;
    traces[t] = trace;
  }
  return { ok: true, traces, spanCount };
}

function lookup(strings: readonly string[], value: unknown, field: string): string {
  let index: number;
  if (typeof value === 'number' && Number.isInteger(value)) index = value;
  else if (typeof value === 'bigint') index = value > BigInt(strings.length) ? strings.length : Number(value);
  else throw new FieldError('wrong_field_type', `${field}: expected a string-table index, got ${typeof value}`);
  const found = index >= 0 ? strings[index] : undefined;
  if (found === undefined) {
    throw new FieldError('bad_string_index', `${field}: string-table index ${String(value)} out of range (table has ${strings.length})`);
  }
  return found;
}

/** Map keys arrive as object keys (strings of the integer indexes); non-integers are rejected. */
function lookupKey(strings: readonly string[], key: string, field: string): string {
  const index = Number(key);
  if (!Number.isInteger(index) || String(index) !== key) {
    throw new FieldError('wrong_field_type', `${field}: expected a string-table index as key, got "${key}"`);
  }
  return lookup(strings, index, field);
}

function spanV05(raw: unknown[], strings: readonly string[]): Span {
  const rawMeta = readMap(raw[9], 'meta');
  const meta: Record<string, string> = {};
  for (const key in rawMeta) meta[lookupKey(strings, key, 'meta')] = lookup(strings, rawMeta[key], 'meta');
  const rawMetrics = readMap(raw[10], 'metrics');
  const metrics: Record<string, number> = {};
  for (const key in rawMetrics) metrics[lookupKey(strings, key, 'metrics')] = readFloat64(rawMetrics[key], 'metrics');
  return {
    service: lookup(strings, raw[0], 'service'),
    name: lookup(strings, raw[1], 'name'),
    resource: lookup(strings, raw[2], 'resource'),
    traceId: readUint64(raw[3], 'trace_id'),
    spanId: readUint64(raw[4], 'span_id'),
    parentId: readUint64(raw[5], 'parent_id'),
    start: readInt64(raw[6], 'start'),
    duration: readInt64(raw[7], 'duration'),
    error: readInt32(raw[8], 'error'),
    meta,
    metrics,
    type: lookup(strings, raw[11], 'type'),
  };
}
