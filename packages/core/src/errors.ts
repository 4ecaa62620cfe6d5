/**
 * Errors raised by telemetry-kit. Every error carries a stable `code` so that callers (and the
 * conformance suite) can branch on it whichever backend produced it.
 */
export type TelemetryErrorCode =
  | 'INVALID_CONFIG'
  | 'STORAGE'
  | 'AUTH'
  | 'RATE_LIMITED'
  | 'SERVER'
  | 'NETWORK'
  | 'CONSENT'
  | 'SHUTDOWN'
  | 'BACKEND';

export interface TelemetryErrorOptions {
  /** The configuration field or input that is at fault, when there is one. */
  field?: string;
  cause?: unknown;
}

export class TelemetryError extends Error {
  override readonly name = 'TelemetryError';
  readonly code: TelemetryErrorCode;
  readonly field: string | undefined;

  constructor(code: TelemetryErrorCode, message: string, options: TelemetryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

export function isTelemetryError(value: unknown): value is TelemetryError {
  return value instanceof TelemetryError;
}

export function invalidConfig(field: string, message: string): TelemetryError {
  return new TelemetryError('INVALID_CONFIG', `invalid config: ${field} ${message}`, { field });
}

/** A short, single-line description of any thrown value, for stats and warnings. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
