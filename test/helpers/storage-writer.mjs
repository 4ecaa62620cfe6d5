// Child process writer for the file event store tests.
// Usage: node storage-writer.mjs <dataDir> <count> <exit|hold> <tag>
// Appends <count> events concurrently (each its own append), awaits them all, prints "ok", then
// closes the store and exits ('exit') or keeps running until killed ('hold').
import { makeStorageEvent } from './storage-event-factory.mjs';
import { FileEventStore } from '@telemetry-kit/core/node';

const [dataDir, countArg, mode, tag = 'child'] = process.argv.slice(2);
if (dataDir === undefined || countArg === undefined) {
  process.stderr.write('usage: storage-writer.mjs <dataDir> <count> <exit|hold> <tag>\n');
  process.exit(2);
}
const count = Number(countArg);
const makeEvent = (i) => makeStorageEvent(i, tag, { pid: process.pid });

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
