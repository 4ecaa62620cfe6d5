/**
 * What one sync pass reports. Both engines return exactly this shape (the native one as JSON
 * across napi), and the shared front schedules the next pass from it.
 */

export type SyncErrorCode = 'AUTH' | 'RATE_LIMITED' | 'SERVER' | 'NETWORK';

export interface SyncError {
  code: SyncErrorCode;
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** From `Retry-After` on 429. */
  retryAfterMs?: number;
}

export interface SyncOutcome {
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Pending events left after the pass. */
  remaining: number;
  /** Requests answered during the pass. */
  batches: number;
  error: SyncError | null;
}

export interface SyncPassOptions {
  /** Stop after this many answered batches (progress reporting); unbounded when absent. */
  maxBatches?: number;
  /** Absolute time (ms since epoch) the pass must not run past. */
  deadlineMs?: number;
  /** An automatic pass: it must not keep the process alive. */
  background?: boolean;
}
