// One v1 event for the storage tests, shared by the TS tests and the child writer script.
import { randomUUID } from 'node:crypto';

const BASE_TIME = Date.parse('2025-01-01T00:00:00.000Z');

/** A complete v1 event; `i` orders the timestamps, `extra` is merged into its data. */
export function makeStorageEvent(i, tag = 'test', extra = {}) {
  return {
    schema_version: '1.0.0',
    event_id: randomUUID(),
    timestamp: new Date(BASE_TIME + i).toISOString(),
    service: { name: 'storage-test', version: '1.0.0', language: 'javascript', language_version: process.versions.node },
    user_id: `client_${'a'.repeat(64)}`,
    session_id: `sess_${'b'.repeat(32)}`,
    environment: { os: 'linux', os_version: '6.0', arch: 'x64', ci: false, ci_name: null, shell: null },
    event: { type: 'command', category: 'cli', data: { command: `${tag}-${i}`, ...extra } },
    metadata: { sdk_version: '0.1.0', backend: 'js' },
  };
}
