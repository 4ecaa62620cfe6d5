/** Options of createIngestServer, their defaults and their validation. */
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES, MAX_CLOCK_SKEW_SECONDS, TelemetryError } from '@telemetry-kit/core/node';
import type { RateLimit } from './rate-limiter.js';
import type { StorageSpec } from './storage/open-storage.js';
import type { IngestStorage } from './storage/types.js';

export interface IngestLimits {
  /** Largest request body, as sent and after gunzip. Defaults to 5 MiB. */
  maxBodyBytes: number;
  /** Most events per request. Defaults to 1,000. */
  maxEvents: number;
  /** Largest accepted |X-Timestamp − server time|. Defaults to 300 s. */
  maxClockSkewSeconds: number;
  /** How long a nonce is remembered; at least twice the skew bound. Defaults to 600 s. */
  nonceWindowSeconds: number;
}

export interface IngestServerOptions {
  /** An embedded data dir or a PostgreSQL URL, or an open storage (then the caller closes it). Defaults to the default data dir. */
  storage?: StorageSpec | IngestStorage;
  /** Per-token request rate; false turns it off. Defaults to 100 requests/s with bursts of 200. */
  rateLimit?: RateLimit | false;
  limits?: Partial<IngestLimits>;
  /** ms since the epoch. Defaults to Date.now (tests move it). */
  clock?: () => number;
  /** Server-side failures and notices. Defaults to stderr. */
  log?: (line: string) => void;
  /** A request (headers and body) must arrive within this time. Defaults to 60 s. */
  requestTimeoutMs?: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { requestsPerSecond: 100, burst: 200 };

export function resolveLimits(partial: Partial<IngestLimits> = {}): IngestLimits {
  const limits: IngestLimits = {
    maxBodyBytes: partial.maxBodyBytes ?? MAX_BODY_BYTES,
    maxEvents: partial.maxEvents ?? MAX_BATCH_EVENTS,
    maxClockSkewSeconds: partial.maxClockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS,
    nonceWindowSeconds: partial.nonceWindowSeconds ?? 2 * (partial.maxClockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS),
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TelemetryError('INVALID_CONFIG', `invalid config: limits.${name} must be a positive integer, got ${String(value)}`, { field: `limits.${name}` });
    }
  }
  if (limits.nonceWindowSeconds < 2 * limits.maxClockSkewSeconds) {
    // A request stays acceptable for 2 × skew (from ts − skew to ts + skew): a shorter memory would let a replay through.
    throw new TelemetryError('INVALID_CONFIG', `invalid config: limits.nonceWindowSeconds must be at least 2 × maxClockSkewSeconds (${2 * limits.maxClockSkewSeconds})`, {
      field: 'limits.nonceWindowSeconds',
    });
  }
  return limits;
}

export function isOpenStorage(value: StorageSpec | IngestStorage): value is IngestStorage {
  return typeof (value as Partial<IngestStorage>).storeBatch === 'function';
}
