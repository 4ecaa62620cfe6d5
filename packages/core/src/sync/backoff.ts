/**
 * Retry delays for sync: exponential backoff with full jitter (a random delay between 0 and
 * the exponential bound), so a fleet of clients that failed together does not retry together.
 */

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 5 * 60_000;

/** The bound for the `attempt`-th consecutive failure (1-based): base·2^(attempt−1), capped. */
export function backoffCeiling(attempt: number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(capMs, baseMs * 2 ** exponent);
}

/** A full-jitter delay: uniform in [0, ceiling]; `random` returns values in [0, 1). */
export function fullJitterDelay(attempt: number, random: () => number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  return Math.floor(random() * (backoffCeiling(attempt, baseMs, capMs) + 1));
}
