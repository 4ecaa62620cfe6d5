/**
 * Sync protocol v1 (docs/PROTOCOL.md): the constants, the signed string and the response
 * bodies shared by the SDK's client and the ingestion server. Runtime-agnostic: HMAC is passed
 * in, so Node can use node:crypto and other runtimes @noble/hashes.
 */

export const PROTOCOL_SCHEMA_VERSION = '1.0.0';
/** Events per request, inclusive bounds. */
export const MIN_BATCH_EVENTS = 1;
export const MAX_BATCH_EVENTS = 1000;
/** Largest (uncompressed) request body, in bytes. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** A request whose X-Timestamp is further than this from the server's clock is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export const HEADER = {
  authorization: 'authorization',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  signature: 'x-signature',
  batchSize: 'x-batch-size',
  schemaVersion: 'x-schema-version',
  sdkVersion: 'x-sdk-version',
  contentEncoding: 'content-encoding',
  contentType: 'content-type',
  retryAfter: 'retry-after',
} as const;

/** HMAC-SHA256 of `message` under `key` (both UTF-8), as lowercase hex. */
export type HmacSha256Hex = (key: string, message: string) => string;

/** The string the signature covers: `<timestamp>:<nonce>:<body>`, body uncompressed. */
export function signedString(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}:${nonce}:${body}`;
}

export function signRequest(hmac: HmacSha256Hex, secret: string, timestamp: string, nonce: string, body: string): string {
  return hmac(secret, signedString(timestamp, nonce, body));
}

/** The ingest URL for an endpoint (with or without a trailing slash or base path). */
export function ingestUrl(endpoint: string, orgId: string, appId: string): string {
  const base = endpoint.endsWith('/') ? endpoint.slice(0, -1) : endpoint;
  return `${base}/v1/ingest/${encodeURIComponent(orgId)}/${encodeURIComponent(appId)}`;
}

/** A per-event rejection inside a 207 answer. */
export interface EventRejection {
  event_id: string;
  code: string;
  message: string;
}

export interface IngestSuccessBody {
  status: 'success';
  accepted: number;
  rejected: 0;
  duplicates: number;
}

export interface IngestPartialBody {
  status: 'partial';
  accepted: number;
  rejected: number;
  duplicates: number;
  errors: EventRejection[];
}

export interface IngestErrorBody {
  error: { code: string; message: string };
}

/** Error codes of the server's `{"error":{"code"}}` bodies, by status. */
export const SERVER_ERROR_CODES = {
  malformed: 'malformed', // 400
  batchSizeMismatch: 'batch_size_mismatch', // 400
  badEncoding: 'bad_encoding', // 400 (invalid gzip, unsupported Content-Encoding)
  missingHeader: 'missing_header', // 400
  unauthorized: 'unauthorized', // 401 (unknown or revoked token)
  badSignature: 'bad_signature', // 401
  timestampSkew: 'timestamp_skew', // 401
  forbidden: 'forbidden', // 403 (token of another org/app)
  nonceReplayed: 'nonce_replayed', // 409
  tooManyEvents: 'too_many_events', // 413
  tooLarge: 'payload_too_large', // 413
  rateLimited: 'rate_limited', // 429
  notFound: 'not_found', // 404
  methodNotAllowed: 'method_not_allowed', // 405
  unavailable: 'unavailable', // 503 (storage unreachable)
  internal: 'internal', // 500
} as const;

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP dates only (IMF-fixdate and the obsolete forms all end in GMT): Date.parse reads '-1' too.
  if (!/GMT$/.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}
