/**
 * FileEventStore: the Node event store (journal segments + sql.js). The native backend
 * implements the same data dir layout and protocol, so either can continue the other's data.
 *
 * Layout of <dataDir>:
 *
 *   events.db               SQLite database (schema in sqlite-database.ts, user_version 1).
 *                           Replaced atomically: written to events.db.tmp-<pid>-<hex>, fsync,
 *                           rename over events.db, fsync the directory. Never edited in place.
 *   events.db.lock          Exclusive lock for consolidation (lock-file.ts): created with O_EXCL,
 *                           content {"pid":n,"created":unixMs}; stale when the pid is dead, older
 *                           than 10 s, or unreadable and its mtime > 1 s old.
 *   events.db.corrupt-<ms>  A database that failed to open / quick_check, moved aside.
 *   pending/<pid>-<hex>.jsonl
 *                           Journal segments. Each store instance appends to its own segment
 *                           (one JSON event per line, '\n'-terminated, written + fdatasync'ed
 *                           before append() resolves). Only complete lines count. A process
 *                           may leave several segments (one per rotation, one per appendSync).
 *
 * Protocol:
 *  - Writers never take the lock; they only append to their own segment.
 *  - Every read or mutation runs a consolidation first, under the lock:
 *     1. load events.db (a missing or empty file is a new database; a corrupt one is renamed to
 *        events.db.corrupt-<ms> and replaced by a new one, which knows no segment offsets, so
 *        every segment still present is re-read from 0);
 *     2. for every pending/*.jsonl: decide first whether its writer is gone (the pid in its name
 *        is not alive, or it is this process and the segment is not open for writing here),
 *        then read it from the offset stored in `segments` (restarting at 0 if the file is
 *        shorter than the offset) and take the complete lines. A line that is not JSON, not an
 *        object or has no string event_id is skipped and counted in meta corrupt_lines; so is a
 *        trailing partial line of a gone writer (a live writer's is left for later);
 *     3. sort the new events by timestamp and INSERT OR IGNORE them (dedupe by event_id), with
 *        body = the line exactly as written, type = its event.type ('' if absent),
 *        timestamp = its timestamp ('' if absent), stored_at = now;
 *     4. store each segment's new offset (= bytes consumed, complete lines only). The row of a
 *        segment that is about to be deleted is kept (at its full size) so a crash between
 *        writing events.db and deleting the file cannot replay it; rows of segment files that
 *        no longer exist are removed the next time events.db is written anyway;
 *     5. bound: if more than maxPendingEvents are pending, delete the oldest (lowest seq) and add
 *        their number to meta dropped_events; prune synced rows whose synced_at <= now -
 *        retentionDays (0 = all synced rows);
 *     6. apply the operation, write events.db if anything changed (temp + fsync + rename + dir
 *        fsync), and only then delete the segments that are fully consumed and whose writer
 *        is gone;
 *     Whenever events.db is (re)read from disk, events.db.tmp-<pid>-* and
 *     events.db.lock.stale-<pid>-* files of dead pids (crash leftovers) are removed.
 *  - Before consolidating, a store closes its own current segment (the next append opens a new
 *    one) so that its data can be consumed and the file deleted.
 *  - meta keys: dropped_events, corrupt_lines (integers as text), last_sync, last_error.
 *  - markSynced sets state 'synced' + synced_at (and clears error) on rows not already synced;
 *    markDeadLettered sets state 'dead_letter' + error on pending rows only.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { TelemetryError } from '../errors.js';
import type { EventCounts, EventStore, EventStoreLimits, ListQuery, MetaKey } from '../storage.js';
import type { EventState, StoredEvent, TelemetryEvent } from '../types.js';
import { JournalWriter, fsyncDir, isSegmentOpenForWriting, segmentPid } from './journal-segment.js';
import type { JournalStats } from './journal-segment.js';
import { acquireLock, errorCode, isPidAlive } from './lock-file.js';
import {
  CorruptDatabaseError,
  META_CORRUPT,
  META_DROPPED,
  addToCounter,
  loadSqlJs,
  openDatabase,
  queryAll,
  readCounter,
  readMeta,
  scalar,
  writeMeta,
} from './sqlite-database.js';
import type { Database, SqlValue } from './sqlite-database.js';

export interface FileEventStoreOptions {
  /** Consolidate in the background after this many lines written (default 1000; 0 = never). */
  consolidateEveryLines?: number;
  /** Lock staleness bound, default 10 s. */
  lockStaleMs?: number;
  /** How long to wait for the lock, default 10 s. */
  lockTimeoutMs?: number;
}

const DAY_MS = 86_400_000;
const DB_FILE = 'events.db';
const PENDING_DIR = 'pending';
const LEFTOVER_PATTERN = /^events\.db\.(?:tmp|lock\.stale)-([0-9]+)-[0-9a-f]+$/;

interface CachedDb {
  db: Database;
  ino: number;
  size: number;
  mtimeMs: number;
}

interface NewEvent {
  eventId: string;
  timestamp: string;
  type: string;
  body: string;
  order: number;
}

interface SegmentPlan {
  name: string;
  path: string;
  storedOffset: number | null;
  newOffset: number;
  gone: boolean;
}

interface Consumed {
  segments: SegmentPlan[];
  events: NewEvent[];
  corrupt: number;
}

interface OpResult<T> {
  result: T;
  changed: boolean;
}

// Serializes database work per data dir inside this process (the lock file serializes processes).
const chains = new Map<string, Promise<void>>();

function runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, settled);
  void settled.then(() => {
    if (chains.get(key) === settled) chains.delete(key);
  });
  return run;
}

function storageError(message: string, cause: unknown): TelemetryError {
  if (cause instanceof TelemetryError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : cause === undefined ? '' : `: ${String(cause)}`;
  return new TelemetryError('STORAGE', `${message}${detail}`, { cause });
}

function isEventState(value: SqlValue): value is EventState {
  return value === 'pending' || value === 'synced' || value === 'dead_letter';
}

function toCount(value: SqlValue): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** Parses one journal line; null when it is not a usable event. */
function parseLine(line: string, order: number): NewEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const eventId = record['event_id'];
  if (typeof eventId !== 'string') return null;
  const timestamp = typeof record['timestamp'] === 'string' ? record['timestamp'] : '';
  const body = record['event'];
  let type = '';
  if (typeof body === 'object' && body !== null) {
    const t = (body as Record<string, unknown>)['type'];
    if (typeof t === 'string') type = t;
  }
  return { eventId, timestamp, type, body: line, order };
}

async function readFrom(path: string, start: number): Promise<{ bytes: Buffer; start: number } | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw storageError(`cannot open journal segment ${path}`, error);
  }
  try {
    const { size } = await handle.stat();
    const from = start <= size ? start : 0;
    const bytes = Buffer.alloc(size - from);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled), start: from };
  } catch (error) {
    throw storageError(`cannot read journal segment ${path}`, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export class FileEventStore implements EventStore {
  readonly kind = 'file' as const;
  readonly location: string;

  private readonly dataDir: string;
  private readonly dbPath: string;
  private readonly lockPath: string;
  private readonly pendingDir: string;
  private readonly writer: JournalWriter;
  private readonly consolidateEveryLines: number;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  private cache: CachedDb | null = null;
  private linesSinceConsolidation = 0;
  private backgroundTimer: NodeJS.Timeout | null = null;
  private backgroundError: Error | null = null;

  constructor(
    dataDir: string,
    private readonly limits: EventStoreLimits,
    options: FileEventStoreOptions = {},
  ) {
    this.location = dataDir;
    this.dataDir = resolve(dataDir);
    this.dbPath = join(this.dataDir, DB_FILE);
    this.lockPath = `${this.dbPath}.lock`;
    this.pendingDir = join(this.dataDir, PENDING_DIR);
    const every = options.consolidateEveryLines ?? 1000;
    this.consolidateEveryLines = Number.isFinite(every) && every > 0 ? every : 0;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.writer = new JournalWriter(this.pendingDir, (lines) => this.onLinesWritten(lines));
  }

  /** The last error of a background consolidation, or null. */
  get lastError(): Error | null {
    return this.backgroundError;
  }

  /** Journal counters (group commits, datasyncs, lines), for tests and diagnostics. */
  get journalStats(): Readonly<JournalStats> {
    return { ...this.writer.stats };
  }

  append(events: readonly TelemetryEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    let data: string;
    try {
      data = serialize(events);
    } catch (error) {
      return Promise.reject(storageError(`cannot serialize events for ${this.pendingDir}`, error));
    }
    return this.writer.append(data, events.length);
  }

  appendSync(events: readonly TelemetryEvent[]): void {
    let data = '';
    try {
      if (events.length > 0) data = serialize(events);
    } catch (error) {
      throw storageError(`cannot serialize events for ${this.pendingDir}`, error);
    }
    this.writer.appendSync(data, events.length);
  }

  /** Moves every journal segment into events.db now. */
  consolidate(): Promise<void> {
    return this.withDb(() => ({ result: undefined, changed: false }));
  }

  list(query: ListQuery): Promise<StoredEvent[]> {
    const limit = Math.floor(query.limit);
    return this.withDb((db) => {
      if (!(limit > 0)) return { result: [], changed: false };
      const rows =
        query.state === undefined
          ? queryAll(db, 'SELECT state, body FROM events ORDER BY seq DESC LIMIT ?', [limit])
          : queryAll(db, 'SELECT state, body FROM events WHERE state = ? ORDER BY seq DESC LIMIT ?', [
              query.state,
              limit,
            ]);
      const result: StoredEvent[] = [];
      for (let i = rows.length - 1; i >= 0; i--) {
        const row = rows[i];
        if (row === undefined) continue;
        const state = row[0] ?? null;
        const body = row[1];
        if (!isEventState(state) || typeof body !== 'string') continue;
        result.push({ state, event: JSON.parse(body) as TelemetryEvent });
      }
      return { result, changed: false };
    });
  }

  counts(): Promise<EventCounts> {
    return this.withDb((db) => {
      const counts: EventCounts = {
        pending: 0,
        synced: 0,
        deadLettered: 0,
        dropped: readCounter(db, META_DROPPED),
        corrupt: readCounter(db, META_CORRUPT),
      };
      for (const [state, n] of queryAll(db, 'SELECT state, COUNT(*) FROM events GROUP BY state')) {
        const count = toCount(n ?? null);
        if (state === 'pending') counts.pending = count;
        else if (state === 'synced') counts.synced = count;
        else if (state === 'dead_letter') counts.deadLettered = count;
      }
      return { result: counts, changed: false };
    });
  }

  pendingBatch(limit: number): Promise<TelemetryEvent[]> {
    const n = Math.floor(limit);
    return this.withDb((db) => {
      if (!(n > 0)) return { result: [], changed: false };
      const result: TelemetryEvent[] = [];
      for (const [body] of queryAll(
        db,
        "SELECT body FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?",
        [n],
      )) {
        if (typeof body === 'string') result.push(JSON.parse(body) as TelemetryEvent);
      }
      return { result, changed: false };
    });
  }

  markSynced(eventIds: readonly string[], syncedAt: Date): Promise<void> {
    const at = syncedAt.getTime();
    return this.withDb((db) => ({
      result: undefined,
      changed: updateEach(
        db,
        "UPDATE events SET state = 'synced', synced_at = ?, error = NULL WHERE event_id = ? AND state != 'synced'",
        eventIds,
        (id) => [at, id],
      ),
    }));
  }

  markDeadLettered(eventIds: readonly string[], reason: string): Promise<void> {
    return this.withDb((db) => ({
      result: undefined,
      changed: updateEach(
        db,
        "UPDATE events SET state = 'dead_letter', error = ? WHERE event_id = ? AND state = 'pending'",
        eventIds,
        (id) => [reason, id],
      ),
    }));
  }

  deletePending(): Promise<number> {
    return this.withDb((db) => {
      db.run("DELETE FROM events WHERE state = 'pending'");
      const deleted = db.getRowsModified();
      return { result: deleted, changed: deleted > 0 };
    });
  }

  getMeta(key: MetaKey): Promise<string | null> {
    return this.withDb((db) => ({ result: readMeta(db, key), changed: false }));
  }

  setMeta(key: MetaKey, value: string | null): Promise<void> {
    return this.withDb((db) => {
      if (readMeta(db, key) === value) return { result: undefined, changed: false };
      writeMeta(db, key, value);
      return { result: undefined, changed: true };
    });
  }

  async close(): Promise<void> {
    if (this.backgroundTimer !== null) {
      clearTimeout(this.backgroundTimer);
      this.backgroundTimer = null;
    }
    await this.writer.close();
    // Free the in-memory database once any running operation of this dir is done.
    void runExclusive(this.dataDir, async () => this.dropCache());
  }

  // ---------------------------------------------------------------------------------------------

  private onLinesWritten(lines: number): void {
    this.linesSinceConsolidation += lines;
    if (this.consolidateEveryLines === 0 || this.linesSinceConsolidation < this.consolidateEveryLines) return;
    if (this.backgroundTimer !== null) return;
    this.linesSinceConsolidation = 0;
    const timer = setTimeout(() => {
      this.backgroundTimer = null;
      this.consolidate().then(
        () => {
          this.backgroundError = null;
        },
        (error: unknown) => {
          this.backgroundError = error instanceof Error ? error : new Error(String(error));
        },
      );
    }, 0);
    timer.unref();
    this.backgroundTimer = timer;
  }

  private dropCache(): void {
    const cache = this.cache;
    this.cache = null;
    if (cache !== null) {
      try {
        cache.db.close();
      } catch {
        // already closed
      }
    }
  }

  private withDb<T>(op: (db: Database) => OpResult<T>): Promise<T> {
    return runExclusive(this.dataDir, async () => {
      this.linesSinceConsolidation = 0;
      await this.writer.rotate();
      try {
        await fsp.mkdir(this.dataDir, { recursive: true });
      } catch (error) {
        throw storageError(`cannot create data dir ${this.dataDir}`, error);
      }
      const release = await acquireLock(this.lockPath, {
        staleMs: this.lockStaleMs,
        timeoutMs: this.lockTimeoutMs,
      });
      try {
        return await this.underLock(op);
      } catch (error) {
        throw storageError(`cannot update ${this.dbPath}`, error);
      } finally {
        await release();
      }
    });
  }

  private async underLock<T>(op: (db: Database) => OpResult<T>): Promise<T> {
    const loaded = await this.loadDb();
    const db = loaded.db;
    try {
      const consumed = await this.readSegments(db);
      let changed = loaded.changed;
      let out: OpResult<T>;
      db.exec('BEGIN');
      try {
        changed = this.apply(db, consumed) || changed;
        out = op(db);
        changed = out.changed || changed;
        if (changed) removeStaleSegmentRows(db, consumed.segments);
        db.exec('COMMIT');
      } catch (error) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // no transaction left to roll back
        }
        throw error;
      }
      if (changed) await this.persist(db);
      else if (loaded.uncached) this.dropDb(db);
      await this.deleteConsumedSegments(consumed.segments);
      return out.result;
    } catch (error) {
      // The in-memory copy may now differ from the file: reload next time.
      if (this.cache?.db === db) this.dropCache();
      else this.dropDb(db);
      throw error;
    }
  }

  private dropDb(db: Database): void {
    try {
      db.close();
    } catch {
      // already closed
    }
  }

  /** The database: the cached one if events.db is unchanged since we last read/wrote it. */
  private async loadDb(): Promise<{ db: Database; changed: boolean; uncached: boolean }> {
    let handle: fsp.FileHandle | null = null;
    try {
      handle = await fsp.open(this.dbPath, 'r');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw storageError(`cannot open ${this.dbPath}`, error);
    }
    if (handle === null) {
      this.dropCache();
      await this.removeLeftovers();
      const SQL = await loadSqlJs();
      // Not cached: nothing on disk corresponds to it until it is written.
      return { db: openDatabase(SQL, null), changed: false, uncached: true };
    }
    let bytes: Buffer;
    let stat: { ino: number; size: number; mtimeMs: number };
    try {
      const st = await handle.stat();
      stat = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
      const cache = this.cache;
      if (cache !== null && cache.ino === stat.ino && cache.size === stat.size && cache.mtimeMs === stat.mtimeMs) {
        return { db: cache.db, changed: false, uncached: false };
      }
      bytes = await handle.readFile();
    } catch (error) {
      throw storageError(`cannot read ${this.dbPath}`, error);
    } finally {
      await handle.close().catch(() => undefined);
    }
    this.dropCache();
    await this.removeLeftovers();
    const SQL = await loadSqlJs();
    try {
      const db = openDatabase(SQL, bytes);
      this.cache = { db, ...stat };
      return { db, changed: false, uncached: false };
    } catch (error) {
      if (!(error instanceof CorruptDatabaseError)) throw error;
      const aside = `${this.dbPath}.corrupt-${Date.now()}`;
      try {
        await fsp.rename(this.dbPath, aside);
      } catch (renameError) {
        throw storageError(`cannot move corrupt ${this.dbPath} aside`, renameError);
      }
      // A new database knows no segment offsets: every segment present is read from 0.
      return { db: openDatabase(SQL, null), changed: true, uncached: true };
    }
  }

  /** Removes temp / stale-lock files left by dead processes. */
  private async removeLeftovers(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dataDir);
    } catch {
      return;
    }
    for (const name of names) {
      const match = LEFTOVER_PATTERN.exec(name);
      if (match === null || match[1] === undefined) continue;
      if (isPidAlive(Number(match[1]))) continue;
      await fsp.unlink(join(this.dataDir, name)).catch(() => undefined);
    }
  }

  private async readSegments(db: Database): Promise<Consumed> {
    let names: string[];
    try {
      names = await fsp.readdir(this.pendingDir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') names = [];
      else throw storageError(`cannot list ${this.pendingDir}`, error);
    }
    const offsets = new Map<string, number>();
    for (const [name, offset] of queryAll(db, 'SELECT name, offset FROM segments')) {
      if (typeof name === 'string') offsets.set(name, toCount(offset ?? 0));
    }
    const consumed: Consumed = { segments: [], events: [], corrupt: 0 };
    names.sort();
    for (const name of names) {
      const pid = segmentPid(name);
      if (pid === null) continue;
      const path = join(this.pendingDir, name);
      // Decide before reading: a writer that is gone now cannot add anything after the read.
      const gone = pid === process.pid ? !isSegmentOpenForWriting(path) : !isPidAlive(pid);
      const storedOffset = offsets.get(name) ?? null;
      const read = await readFrom(path, storedOffset ?? 0);
      if (read === null) continue;
      const { bytes, start } = read;
      const complete = bytes.lastIndexOf(0x0a) + 1;
      if (complete > 0) {
        const lines = bytes.toString('utf8', 0, complete).split('\n');
        lines.pop(); // after the final '\n'
        for (const line of lines) {
          const event = parseLine(line, consumed.events.length);
          if (event === null) consumed.corrupt++;
          else consumed.events.push(event);
        }
      }
      if (gone && complete < bytes.length) consumed.corrupt++; // torn last line of a dead writer
      consumed.segments.push({
        name,
        path,
        storedOffset: start === 0 && storedOffset !== null && storedOffset > 0 ? null : storedOffset,
        newOffset: start + complete,
        gone,
      });
    }
    return consumed;
  }

  /** Inserts the consumed events, records offsets, bounds and prunes. True if anything changed. */
  private apply(db: Database, consumed: Consumed): boolean {
    let changed = false;
    const now = Date.now();
    if (consumed.events.length > 0) {
      const events = consumed.events.sort((a, b) =>
        a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.order - b.order,
      );
      const insert = db.prepare(
        "INSERT OR IGNORE INTO events (event_id, timestamp, type, state, body, stored_at) VALUES (?, ?, ?, 'pending', ?, ?)",
      );
      try {
        for (const e of events) insert.run([e.eventId, e.timestamp, e.type, e.body, now]);
      } finally {
        insert.free();
      }
      changed = true;
    }
    if (consumed.corrupt > 0) {
      addToCounter(db, META_CORRUPT, consumed.corrupt);
      changed = true;
    }
    for (const segment of consumed.segments) {
      if (segment.newOffset === 0 || segment.newOffset === segment.storedOffset) continue;
      db.run('INSERT OR REPLACE INTO segments (name, offset) VALUES (?, ?)', [segment.name, segment.newOffset]);
      changed = true;
    }
    const pending = toCount(scalar(db, "SELECT COUNT(*) FROM events WHERE state = 'pending'"));
    const excess = pending - this.limits.maxPendingEvents;
    if (excess > 0) {
      db.run(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?)",
        [excess],
      );
      addToCounter(db, META_DROPPED, db.getRowsModified());
      changed = true;
    }
    const retentionMs = Math.max(0, this.limits.retentionDays) * DAY_MS;
    db.run("DELETE FROM events WHERE state = 'synced' AND synced_at <= ?", [now - retentionMs]);
    if (db.getRowsModified() > 0) changed = true;
    return changed;
  }

  /** Writes events.db atomically and remembers its identity for the cache. */
  private async persist(db: Database): Promise<void> {
    const bytes = db.export();
    const tmp = `${this.dbPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const handle = await fsp.open(tmp, 'w');
      try {
        let offset = 0;
        while (offset < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
          if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
          offset += bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, this.dbPath);
    } catch (error) {
      await fsp.unlink(tmp).catch(() => undefined);
      throw storageError(`cannot write ${this.dbPath}`, error);
    }
    await fsyncDir(this.dataDir);
    if (this.cache !== null && this.cache.db !== db) this.dropCache();
    try {
      const st = await fsp.stat(this.dbPath);
      this.cache = { db, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      this.cache = null;
      this.dropDb(db);
    }
  }

  /** Deletes segments that are fully consumed and whose writer is gone (after events.db is durable). */
  private async deleteConsumedSegments(segments: readonly SegmentPlan[]): Promise<void> {
    for (const segment of segments) {
      if (!segment.gone) continue;
      try {
        await fsp.unlink(segment.path);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw storageError(`cannot delete journal segment ${segment.path}`, error);
      }
    }
  }
}

function serialize(events: readonly TelemetryEvent[]): string {
  let data = '';
  for (const event of events) data += `${JSON.stringify(event)}\n`;
  return data;
}

/** Runs `sql` once per id; true if any row changed. */
function updateEach(
  db: Database,
  sql: string,
  ids: readonly string[],
  params: (id: string) => SqlValue[],
): boolean {
  if (ids.length === 0) return false;
  let modified = 0;
  const stmt = db.prepare(sql);
  try {
    for (const id of ids) {
      stmt.run(params(id));
      modified += db.getRowsModified();
    }
  } finally {
    stmt.free();
  }
  return modified > 0;
}

/** Drops `segments` rows of files that no longer exist (their data is in events.db). */
function removeStaleSegmentRows(db: Database, present: readonly SegmentPlan[]): void {
  const live = new Set(present.filter((s) => !s.gone).map((s) => s.name));
  const gone = new Set(present.filter((s) => s.gone).map((s) => s.name));
  for (const [name] of queryAll(db, 'SELECT name FROM segments')) {
    if (typeof name !== 'string' || live.has(name)) continue;
    // Rows of segments deleted in this round are kept until the file is really gone.
    if (gone.has(name)) continue;
    db.run('DELETE FROM segments WHERE name = ?', [name]);
  }
}
