/**
 * Validates one event against schema v1 with ajv, compiled once per server. ajv is imported
 * when a server starts rather than with the CLI, whose other commands never need it.
 */
import type { ErrorObject } from 'ajv';
import { EVENT_SCHEMA_V1 } from './event-schema-v1.js';

/** null when the event is valid, else why not (one line). */
export type EventCheck = (event: unknown) => string | null;

const MAX_MESSAGE_LENGTH = 300;

function describe(errors: readonly ErrorObject[]): string {
  const parts = errors.slice(0, 3).map((error) => {
    const where = error.instancePath === '' ? 'event' : error.instancePath;
    const allowed = error.keyword === 'additionalProperties' ? ` (${String((error.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
    return `${where} ${error.message ?? 'is invalid'}${allowed}`;
  });
  const text = parts.join('; ');
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}

export async function createEventValidator(): Promise<EventCheck> {
  const { Ajv } = await import('ajv');
  // allErrors off: the first failures are enough to explain a rejection, and it is faster.
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(EVENT_SCHEMA_V1 as object);
  return (event) => (validate(event) ? null : describe(validate.errors ?? []));
}
