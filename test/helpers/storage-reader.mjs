// Child process reader for the Rust interop tests (crates/telemetry-kit-core/tests/storage_interop.rs).
// Usage: node storage-reader.mjs <dataDir>
// Opens the TS FileEventStore on <dataDir> (which consolidates every journal segment into
// events.db, reading and rewriting the database the other backend wrote), parses every stored
// event, and prints JSON.stringify(counts).
import { FileEventStore } from '@telemetry-kit/core/node';

const [dataDir] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write('usage: storage-reader.mjs <dataDir>\n');
  process.exit(2);
}

const store = new FileEventStore(dataDir, { maxPendingEvents: 1_000_000, retentionDays: 7 }, { consolidateEveryLines: 0 });
// list() JSON.parses every body: a body the TS side cannot read fails the script.
await store.list({ limit: 1_000_000 });
const counts = await store.counts();
await store.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
