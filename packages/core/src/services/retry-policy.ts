/**
 * What an intake answer means for a payload, and how long to wait before trying it again.
 * Pure: the random source and the clock belong to the caller.
 */
export interface RetryPolicy {
  /** Attempts per payload, the first one included. Defaults to 4. */
  maxAttempts: number;
  /** The cap of the first backoff window. Defaults to 250 ms. */
  baseDelayMs: number;
  /** No window grows past this. Defaults to 5,000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 5_000 };

export type IntakeVerdict = 'delivered' | 'retry' | 'drop';

/**
 * 2xx delivered; 5xx, 408 and 429 are the intake's own trouble and worth another try; any
 * other status (400 bad payload, 403 bad key, 413 too large) will not get better by resending.
 */
export function verdictForStatus(status: number): IntakeVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  return 'drop';
}

/**
 * Full jitter (a uniform wait in [0, min(max, base·2^n))): spreads the retries of many
 * instances that failed together instead of making them hit the intake again in step.
 * `retryIndex` is 0 before the second attempt.
 */
export function backoffDelayMs(retryIndex: number, policy: RetryPolicy, random: () => number): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retryIndex, 30));
  return Math.floor(random() * window);
}

/**
 * A `Retry-After` header (seconds or an HTTP date) as milliseconds from `nowMs`, capped by the
 * policy's maximum so that one answer cannot stall a shutdown; null when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, nowMs: number, policy: RetryPolicy): number | null {
  if (header === undefined || header.trim() === '') return null;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1_000 : Date.parse(header) - nowMs;
  if (!Number.isFinite(ms)) return null;
  return Math.min(policy.maxDelayMs, Math.max(0, Math.round(ms)));
}
