/**
 * `last_error` in the data dir's meta table is JSON `{"code","message","at"}`, written by either
 * engine's sync pass. Older or foreign values (a bare message) still read as an error.
 */
import type { LastError } from '../types.js';

export function parseLastError(raw: string | null | undefined): LastError | null {
  if (raw === null || raw === undefined || raw === '') return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (value !== null && typeof value === 'object') {
      const { code, message, at } = value as Record<string, unknown>;
      if (typeof code === 'string' && typeof message === 'string') {
        return { code, message, at: typeof at === 'string' ? at : null };
      }
    }
  } catch {
    // Not JSON: a plain message.
  }
  return { code: 'UNKNOWN', message: raw, at: null };
}
