// Child process writer for the file event store tests.
// Usage: node storage-writer.mjs <dataDir> <count> <exit|hold> <tag>
// Appends <count> events concurrently (each its own append), awaits them all, prints "ok", then
// closes the store and exits ('exit') or keeps running until killed ('hold').
import { randomUUID } from 'node:crypto';
import { FileEventStore } from '@telemetry-kit/core/node';

const [dataDir, countArg, mode, tag = 'child'] = process.argv.slice(2);
if (dataDir === undefined || countArg === undefined) {
  process.stderr.write('usage: storage-writer.mjs <dataDir> <count> <exit|hold> <tag>\n');
  process.exit(2);
}
const count = Number(countArg);
const base = Date.parse('2025-01-01T00:00:00.000Z');

function makeEvent(i) {
  return {
    schema_version: '1.0.0',
    event_id: randomUUID(),
    timestamp: new Date(base + i).toISOString(),
    service: { name: 'storage-test', version: '1.0.0', language: 'javascript', language_version: process.versions.node },
    user_id: 'client_' + 'a'.repeat(64),
    session_id: 'sess_' + 'b'.repeat(32),
    environment: { os: 'linux', os_version: '6.0', arch: 'x64', ci: false, ci_name: null, shell: null },
    event: { type: 'command', category: 'cli', data: { command: `${tag}-${i}`, pid: process.pid } },
    metadata: { sdk_version: '0.1.0', backend: 'js' },
  };
}

const store = new FileEventStore(dataDir, { maxPendingEvents: 1_000_000, retentionDays: 7 }, { consolidateEveryLines: 0 });
const appends = [];
for (let i = 0; i < count; i++) appends.push(store.append([makeEvent(i)]));
await Promise.all(appends);
process.stdout.write('ok\n');
if (mode === 'hold') {
  // Keep the segment open until the parent kills us (bounded, in case it never does).
  setTimeout(() => process.exit(0), 60_000);
} else {
  await store.close();
}
