/** The one way Node storage code turns a failed file operation into a `STORAGE` error. */
import { TelemetryError } from '../errors.js';

/** Wraps `cause` with a message naming the path; an existing TelemetryError passes through. */
export function storageError(message: string, cause: unknown): TelemetryError {
  if (cause instanceof TelemetryError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : cause === undefined ? '' : `: ${String(cause)}`;
  return new TelemetryError('STORAGE', `${message}${detail}`, { cause });
}

/** The errno code (`ENOENT`, `EEXIST`...) of a failed fs call, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code: unknown = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
