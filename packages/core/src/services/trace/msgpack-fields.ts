/**
 * Typed readers over values produced by @msgpack/msgpack (decoded with `useBigInt64`), with the
 * Datadog Agent's leniency rules (pkg/proto/pbgo/trace/decoder_bytes.go): nil reads as the zero
 * value, a string may arrive as bin, an unsigned field accepts a signed encoding (reinterpreted,
 * as tracers without unsigned types send ids), a signed field accepts an unsigned encoding that
 * fits, and a float field accepts integers. Anything else is a typed failure, raised as a
 * `FieldError` that the decoders turn into a `DecodeError` result.
 */
import { MAX_INT64 } from './span.js';

export type DecodeErrorReason =
  /** Not msgpack at all, truncated, trailing bytes, or a map key msgpack-javascript refuses. */
  | 'bad_msgpack'
  /** Valid msgpack with the wrong structure (not an array of traces, a span that is not a map...). */
  | 'wrong_shape'
  /** A field holding the wrong msgpack type (a string id, a map where a string belongs...). */
  | 'wrong_field_type'
  /** An integer that does not fit the field (an unsigned value above int64 for `start`...). */
  | 'out_of_range'
  /** A /v0.5 string-table reference past the end of the table. */
  | 'bad_string_index';

export const DECODE_ERROR_REASONS: readonly DecodeErrorReason[] = [
  'bad_msgpack',
  'wrong_shape',
  'wrong_field_type',
  'out_of_range',
  'bad_string_index',
];

export class FieldError extends Error {
  constructor(
    readonly reason: DecodeErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export type MsgpackMap = Record<string, unknown>;

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

/** A decoded msgpack map: a plain object (not an array, bytes or an extension value). */
export function isMap(value: unknown): value is MsgpackMap {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bin';
  if (isMap(value)) return 'map';
  return typeof value;
}

function wrongType(field: string, expected: string, value: unknown): FieldError {
  return new FieldError('wrong_field_type', `${field}: expected ${expected}, got ${describe(value)}`);
}

export function readString(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  // Invalid UTF-8 becomes U+FFFD, as the agent's repairUTF8 does.
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  throw wrongType(field, 'string', value);
}

export function readUint64(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return BigInt.asUintN(64, value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw wrongType(field, 'integer', value);
    return value >= 0 ? BigInt(value) : BigInt.asUintN(64, BigInt(value));
  }
  if (value === null || value === undefined) return 0n;
  throw wrongType(field, 'integer', value);
}

export function readInt64(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') {
    if (value > MAX_INT64) throw new FieldError('out_of_range', `${field}: ${value} overflows int64`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw wrongType(field, 'integer', value);
    return BigInt(value);
  }
  if (value === null || value === undefined) return 0n;
  throw wrongType(field, 'integer', value);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function readInt32(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw wrongType(field, 'integer', value);
    if (value < INT32_MIN || value > INT32_MAX) throw new FieldError('out_of_range', `${field}: ${value} overflows int32`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < BigInt(INT32_MIN) || value > BigInt(INT32_MAX)) {
      throw new FieldError('out_of_range', `${field}: ${value} overflows int32`);
    }
    return Number(value);
  }
  if (value === null || value === undefined) return 0;
  throw wrongType(field, 'integer', value);
}

export function readFloat64(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value === null || value === undefined) return 0;
  throw wrongType(field, 'number', value);
}

export function readBytes(value: unknown, field: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return textEncoder.encode(value);
  if (value === null || value === undefined) return new Uint8Array(0);
  throw wrongType(field, 'bin', value);
}

export function readArray(value: unknown, field: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === null || value === undefined) return [];
  throw wrongType(field, 'array', value);
}

export function readMap(value: unknown, field: string): MsgpackMap {
  if (isMap(value)) return value;
  if (value === null || value === undefined) return {};
  throw wrongType(field, 'map', value);
}

/**
 * A string → string map. The decoded object is reused (values fixed up in place) rather than
 * copied: it is fresh from the decoder, and copying every meta map would double the work.
 */
export function readStringMap(value: unknown, field: string): Record<string, string> {
  const map = readMap(value, field);
  for (const key in map) {
    const v = map[key];
    if (typeof v !== 'string') map[key] = readString(v, `${field}.${key}`);
  }
  return map as Record<string, string>;
}

/** A string → float64 map, reused in place like `readStringMap`. */
export function readFloatMap(value: unknown, field: string): Record<string, number> {
  const map = readMap(value, field);
  for (const key in map) {
    const v = map[key];
    if (typeof v !== 'number') map[key] = readFloat64(v, `${field}.${key}`);
  }
  return map as Record<string, number>;
}
