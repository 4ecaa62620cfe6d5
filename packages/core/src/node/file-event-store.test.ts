import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '../types.js';
import {
  builtPackageAvailable,
  deadPid,
  makeEvent,
  makeTempDir,
  removeDir,
  segmentFiles,
  spawnWriter,
} from '../../../../test/helpers/storage-events.js';
import { FileEventStore } from './file-event-store.js';
import type { FileEventStoreOptions } from './file-event-store.js';
import { hasSqliteHeader, loadSqlJs, queryAll } from './sqlite-database.js';

const LIMITS = { maxPendingEvents: 10_000, retentionDays: 7 };

let dir: string;
const stores: FileEventStore[] = [];

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  removeDir(dir);
});

function open(limits = LIMITS, options: FileEventStoreOptions = { consolidateEveryLines: 0 }): FileEventStore {
  const store = new FileEventStore(dir, limits, options);
  stores.push(store);
  return store;
}

function events(n: number, tag = 'e', from = 0): TelemetryEvent[] {
  return Array.from({ length: n }, (_, i) => makeEvent(from + i, tag));
}

async function dbRows(sql: string): Promise<unknown[][]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(join(dir, 'events.db')));
  try {
    return queryAll(db, sql);
  } finally {
    db.close();
  }
}

describe('FileEventStore basics', () => {
  it('does no I/O on construction', () => {
    const store = open();
    expect(store.kind).toBe('file');
    expect(store.location).toBe(dir);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('round-trips events byte-identically through the journal and the database', async () => {
    const store = open();
    const batch = events(5);
    await store.append(batch.slice(0, 2));
    await store.append(batch.slice(2));
    expect(segmentFiles(dir)).toHaveLength(1);
    expect(fs.existsSync(join(dir, 'events.db'))).toBe(false);

    const listed = await store.list({ limit: 100 });
    expect(listed).toEqual(batch.map((event) => ({ state: 'pending', event })));
    expect(await store.counts()).toEqual({ pending: 5, synced: 0, deadLettered: 0, dropped: 0, corrupt: 0 });
    // Own segment rotated, consumed and deleted; the db is a real SQLite file.
    expect(segmentFiles(dir)).toEqual([]);
    expect(hasSqliteHeader(fs.readFileSync(join(dir, 'events.db')))).toBe(true);
    expect(await dbRows('PRAGMA user_version')).toEqual([[1]]);
    const bodies = await dbRows('SELECT body FROM events ORDER BY seq');
    expect(bodies.map(([b]) => b)).toEqual(batch.map((e) => JSON.stringify(e)));

    // A second store (fresh process view) sees the same data.
    const other = open();
    expect(await other.list({ limit: 100 })).toEqual(listed);
  });

  it('lists the most recent events oldest first, optionally by state', async () => {
    const store = open();
    const batch = events(10);
    await store.append(batch);
    expect((await store.list({ limit: 3 })).map((s) => s.event)).toEqual(batch.slice(7));
    expect(await store.list({ limit: 0 })).toEqual([]);
    await store.markSynced([batch[0]?.event_id ?? '', batch[1]?.event_id ?? ''], new Date());
    expect((await store.list({ limit: 10, state: 'synced' })).map((s) => s.event)).toEqual(batch.slice(0, 2));
    expect(await store.list({ limit: 1, state: 'pending' })).toEqual([{ state: 'pending', event: batch[9] }]);
    expect(await store.pendingBatch(3)).toEqual(batch.slice(2, 5).map((e) => ({ eventId: e.event_id, body: JSON.stringify(e) })));
  });

  it('stores events sorted by timestamp and dedupes by event_id', async () => {
    const store = open();
    const [a, b, c] = events(3);
    if (a === undefined || b === undefined || c === undefined) throw new Error('events');
    await store.append([c, a]);
    await store.append([b, a]);
    expect((await store.list({ limit: 10 })).map((s) => s.event)).toEqual([a, b, c]);
    expect((await store.counts()).pending).toBe(3);
  });

  it('can be used again after close', async () => {
    const store = open();
    await store.append(events(1, 'x'));
    await store.close();
    await store.append(events(1, 'y', 1));
    expect((await store.counts()).pending).toBe(2);
    await store.close();
    expect((await store.counts()).pending).toBe(2);
  });

  it('reuses the cached database and notices another process rewriting it', async () => {
    const a = open();
    const b = open();
    await a.append(events(2, 'a'));
    expect((await a.counts()).pending).toBe(2);
    await b.append(events(3, 'b', 10));
    expect((await b.counts()).pending).toBe(5);
    expect((await a.counts()).pending).toBe(5);
  });
});

describe('group commit and synchronous appends', () => {
  it('1,000 concurrent appends are all stored with far fewer datasyncs', async () => {
    const store = open();
    const batch = events(1000);
    await Promise.all(batch.map((e) => store.append([e])));
    const stats = store.journalStats;
    expect(stats.lines).toBe(1000);
    expect(stats.datasyncs).toBeLessThan(20);
    const counts = await store.counts();
    expect(counts.pending).toBe(1000);
    const ids = (await store.list({ limit: 2000 })).map((s) => s.event.event_id);
    expect(new Set(ids)).toEqual(new Set(batch.map((e) => e.event_id)));
  });

  it('appendSync with nothing before', async () => {
    const store = open();
    const batch = events(3);
    store.appendSync(batch);
    expect(segmentFiles(dir)).toHaveLength(1);
    expect((await open().list({ limit: 10 })).map((s) => s.event)).toEqual(batch);
  });

  it('appendSync writes appends still in flight, without duplicates after consolidation', async () => {
    const store = open();
    const inflight = events(50, 'async');
    const appends = inflight.map((e) => store.append([e]));
    const last = events(1, 'sync', 100);
    store.appendSync(last);
    // Everything is on disk already, even though no async write was confirmed.
    const onDisk = segmentFiles(dir)
      .map((n) => fs.readFileSync(join(dir, 'pending', n), 'utf8'))
      .join('');
    for (const e of [...inflight, ...last]) expect(onDisk).toContain(e.event_id);
    await Promise.all(appends);
    const reader = open();
    const ids = (await reader.list({ limit: 1000 })).map((s) => s.event.event_id);
    expect(ids).toHaveLength(51);
    expect(new Set(ids).size).toBe(51);
  });
});

describe('consolidation across writers', () => {
  it('consumes but does not delete the segment of a live writer, without duplicates', async () => {
    const writer = open();
    const reader = open();
    await writer.append(events(4, 'w'));
    expect((await reader.counts()).pending).toBe(4);
    // The writer's segment is still open in this process: kept.
    expect(segmentFiles(dir)).toHaveLength(1);
    await writer.append(events(2, 'w', 4));
    expect((await reader.counts()).pending).toBe(6);
    expect((await reader.counts()).pending).toBe(6);
    expect(segmentFiles(dir)).toHaveLength(1);
    await writer.close();
    expect((await reader.counts()).pending).toBe(6);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('skips corrupt lines and a torn last line of a dead writer, counting them', async () => {
    const good1 = makeEvent(1, 'g');
    const good2 = makeEvent(2, 'g');
    fs.mkdirSync(join(dir, 'pending'));
    const name = `${deadPid()}-deadbeef.jsonl`;
    fs.writeFileSync(
      join(dir, 'pending', name),
      `${JSON.stringify(good1)}\nthis is not json\n{"no_event_id":true}\n${JSON.stringify(good2)}\n{"event_id":"torn","times`,
    );
    const store = open();
    expect((await store.list({ limit: 10 })).map((s) => s.event)).toEqual([good1, good2]);
    expect(await store.counts()).toMatchObject({ pending: 2, corrupt: 3 });
    expect(segmentFiles(dir)).toEqual([]);
    // Nothing is counted twice.
    expect((await store.counts()).corrupt).toBe(3);
  });

  it('leaves a live writer its partial last line', async () => {
    const writer = open();
    await writer.append(events(1, 'live'));
    const [name] = segmentFiles(dir);
    if (name === undefined) throw new Error('no segment');
    const pending = makeEvent(5, 'later');
    const line = JSON.stringify(pending);
    const path = join(dir, 'pending', name);
    fs.appendFileSync(path, line.slice(0, 20));
    const reader = open();
    expect(await reader.counts()).toMatchObject({ pending: 1, corrupt: 0 });
    fs.appendFileSync(path, `${line.slice(20)}\n`);
    expect(await reader.counts()).toMatchObject({ pending: 2, corrupt: 0 });
  });

  it('moves a corrupt events.db aside and re-reads the journal', async () => {
    const writer = open();
    const reader = open();
    const kept = events(3, 'kept');
    await writer.append(kept);
    expect((await reader.counts()).pending).toBe(3);
    fs.writeFileSync(join(dir, 'events.db'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const later = events(2, 'later', 10);
    await writer.append(later);
    // The writer's segment is still live, so its offsets must be forgotten and it re-read.
    expect((await reader.list({ limit: 10 })).map((s) => s.event)).toEqual([...kept, ...later]);
    const names = fs.readdirSync(dir);
    expect(names.filter((n) => n.startsWith('events.db.corrupt-'))).toHaveLength(1);
    expect(hasSqliteHeader(fs.readFileSync(join(dir, 'events.db')))).toBe(true);
  });

  it('treats a SQLite file that fails its checks as corrupt', async () => {
    const store = open();
    await store.append(events(2));
    await store.counts();
    const bytes = fs.readFileSync(join(dir, 'events.db'));
    // Keep the header, destroy the rest.
    bytes.fill(0xab, 100);
    fs.writeFileSync(join(dir, 'events.db'), bytes);
    await store.append(events(1, 'n', 5));
    expect((await open().counts()).pending).toBe(1);
    expect(fs.readdirSync(dir).some((n) => n.startsWith('events.db.corrupt-'))).toBe(true);
  });

  it('removes temp files left by dead processes', async () => {
    const store = open();
    fs.writeFileSync(join(dir, `events.db.tmp-${deadPid()}-0badf00d`), 'x');
    await store.counts();
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('consolidates in the background after consolidateEveryLines lines', async () => {
    const store = open(LIMITS, { consolidateEveryLines: 10 });
    await store.append(events(10));
    for (let i = 0; i < 200 && !fs.existsSync(join(dir, 'events.db')); i++) {
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
    }
    expect(fs.existsSync(join(dir, 'events.db'))).toBe(true);
    expect(store.lastError).toBeNull();
    expect((await store.counts()).pending).toBe(10);
  });
});

describe('limits and mutations', () => {
  it('bounds pending events, dropping the oldest', async () => {
    const store = open({ maxPendingEvents: 50, retentionDays: 7 });
    const batch = events(80);
    for (const e of batch) await store.append([e]);
    expect(await store.counts()).toMatchObject({ pending: 50, dropped: 30 });
    expect((await store.list({ limit: 100 })).map((s) => s.event)).toEqual(batch.slice(30));
  });

  it('prunes synced events immediately with retentionDays 0', async () => {
    const store = open({ maxPendingEvents: 100, retentionDays: 0 });
    const batch = events(5);
    await store.append(batch);
    const ids = (await store.pendingBatch(3)).map((e) => e.eventId);
    await store.markSynced(ids, new Date());
    expect(await store.counts()).toMatchObject({ pending: 2, synced: 0 });
    expect((await store.list({ limit: 10 })).map((s) => s.event)).toEqual(batch.slice(3));
  });

  it('keeps synced events within retentionDays', async () => {
    const store = open({ maxPendingEvents: 100, retentionDays: 7 });
    const batch = events(3);
    await store.append(batch);
    await store.markSynced([batch[0]?.event_id ?? ''], new Date());
    await store.markSynced([batch[1]?.event_id ?? ''], new Date(Date.now() - 8 * 86_400_000));
    expect(await store.counts()).toMatchObject({ pending: 1, synced: 1 });
  });

  it('dead-letters, deletes pending and keeps meta', async () => {
    const store = open();
    const batch = events(4);
    await store.append(batch);
    await store.markDeadLettered([batch[0]?.event_id ?? '', 'unknown-id'], 'rejected: schema');
    expect(await store.counts()).toMatchObject({ pending: 3, deadLettered: 1 });
    expect(await store.list({ limit: 10, state: 'dead_letter' })).toEqual([{ state: 'dead_letter', event: batch[0] }]);
    expect((await dbRows("SELECT error FROM events WHERE state = 'dead_letter'"))).toEqual([['rejected: schema']]);
    expect(await store.deletePending()).toBe(3);
    expect(await store.deletePending()).toBe(0);
    expect(await store.counts()).toMatchObject({ pending: 0, deadLettered: 1 });

    expect(await store.getMeta('last_sync')).toBeNull();
    await store.setMeta('last_sync', '2025-01-01T00:00:00.000Z');
    await store.setMeta('last_error', 'boom');
    expect(await open().getMeta('last_sync')).toBe('2025-01-01T00:00:00.000Z');
    expect(await store.getMeta('last_error')).toBe('boom');
    await store.setMeta('last_error', null);
    expect(await open().getMeta('last_error')).toBeNull();
  });

  it('rejects with a STORAGE error naming the path on I/O failure', async () => {
    const file = join(dir, 'not-a-dir');
    fs.writeFileSync(file, '');
    const store = new FileEventStore(file, LIMITS);
    await expect(store.append(events(1))).rejects.toMatchObject({ code: 'STORAGE', message: expect.stringContaining(file) });
    await expect(store.counts()).rejects.toMatchObject({ code: 'STORAGE', message: expect.stringContaining(file) });
    await store.close();
  });
});

describe('child processes (built @telemetry-kit/core/node)', () => {
  beforeEach(() => {
    if (!builtPackageAvailable()) {
      throw new Error('packages/core/dist is missing: run `npm run build --workspace @telemetry-kit/core` first');
    }
  });

  it('two processes appending 5,000 events each lose nothing', async () => {
    const a = spawnWriter(dir, 5000, 'exit', 'a');
    const b = spawnWriter(dir, 5000, 'exit', 'b');
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea).toMatchObject({ code: 0 });
    expect(eb).toMatchObject({ code: 0 });
    expect(segmentFiles(dir)).toHaveLength(2);
    const store = open();
    await store.consolidate();
    expect((await store.counts()).pending).toBe(10_000);
    const rows = await dbRows('SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events');
    expect(rows).toEqual([[10_000, 10_000]]);
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('an event acknowledged before SIGKILL survives and the dead segment is deleted', async () => {
    const child = spawnWriter(dir, 1, 'hold', 'killed');
    await child.ready;
    child.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(segmentFiles(dir)).toEqual([expect.stringMatching(new RegExp(`^${child.pid}-`))]);
    const store = open();
    const listed = await store.list({ limit: 10 });
    expect(listed).toHaveLength(1);
    expect(listed[0]?.event.event.data).toMatchObject({ command: 'killed-0', pid: child.pid });
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('segments of a live other process are consumed but kept, then deleted once it is gone', async () => {
    const child = spawnWriter(dir, 100, 'hold', 'live');
    try {
      await child.ready;
      const store = open();
      expect((await store.counts()).pending).toBe(100);
      expect(segmentFiles(dir)).toHaveLength(1);
      await store.consolidate();
      expect((await store.counts()).pending).toBe(100);
      expect(segmentFiles(dir)).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
      await child.exited;
    }
    const store = open();
    expect((await store.counts()).pending).toBe(100);
    expect(segmentFiles(dir)).toEqual([]);
  });
});
