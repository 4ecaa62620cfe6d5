/**
 * Errors raised by the serverless services (DESIGN.md §8). The `code` is stable across
 * backends, so callers and the cross-backend suite branch on it rather than on messages.
 */
export type ServicesErrorCode = 'INVALID_CONFIG' | 'PORT_IN_USE' | 'ALREADY_STARTED' | 'SHUTDOWN_TIMEOUT';

export interface ServicesErrorOptions {
  /** The config field (or environment variable) at fault, when there is one. */
  field?: string;
  cause?: unknown;
}

export class ServicesError extends Error {
  override readonly name = 'ServicesError';
  readonly code: ServicesErrorCode;
  readonly field: string | undefined;

  constructor(code: ServicesErrorCode, message: string, options: ServicesErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

export function isServicesError(value: unknown): value is ServicesError {
  return value instanceof ServicesError;
}

/** `invalid config: <field> <problem>`: the same shape as the telemetry builder's messages. */
export function invalidServicesConfig(field: string, problem: string): ServicesError {
  return new ServicesError('INVALID_CONFIG', `invalid config: ${field} ${problem}`, { field });
}
