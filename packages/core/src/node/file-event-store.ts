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
 *   pending/<pid>-<hex>.jsonl   (hex = 12 digits of creation ms, a 4-digit per-process
 *                           counter, 8 random digits: one writer's segments sort by creation)
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
 *    markDeadLettered sets state 'dead_letter' + error on pending rows only; settle does both
 *    and sets meta keys in one write.
 */
import { join, resolve } from 'node:path';
import type { Delivery, EventCounts, EventStore, EventStoreLimits, ListQuery, MetaKey, PendingEvent } from '../storage.js';
import type { EventState, StoredEvent, TelemetryEvent } from '../types.js';
// Type-only: consolidation.js (and through it sql.js and the lock) is loaded on first use, below.
import type { Consolidator, Operation } from './consolidation.js';
import { JournalWriter } from './journal-segment.js';
import type { JournalStats } from './journal-segment.js';
import type { SqlValue } from './sqlite-database.js';
import { storageError } from './storage-error.js';

export interface FileEventStoreOptions {
  /** Consolidate in the background after this many lines written (default: maxPendingEvents; 0 = never). */
  consolidateEveryLines?: number;
  /** Lock staleness bound, default 10 s. */
  lockStaleMs?: number;
  /** How long to wait for the lock, default 10 s. */
  lockTimeoutMs?: number;
}

const PENDING_DIR = 'pending';

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

type ConsolidationModule = typeof import('./consolidation.js');

let consolidationModule: Promise<ConsolidationModule> | null = null;

/**
 * Loads consolidation.js once per process. Dynamic so that a short process that only tracks
 * (appends to its journal segment) never evaluates the consolidation code, sql.js glue or lock.
 */
function loadConsolidation(): Promise<ConsolidationModule> {
  if (consolidationModule === null) {
    const loading = import('./consolidation.js');
    // A failed load may be retried by a later call.
    loading.catch(() => {
      if (consolidationModule === loading) consolidationModule = null;
    });
    consolidationModule = loading;
  }
  return consolidationModule;
}


function isEventState(value: SqlValue): value is EventState {
  return value === 'pending' || value === 'synced' || value === 'dead_letter';
}

export class FileEventStore implements EventStore {
  readonly kind = 'file' as const;
  readonly location: string;

  private readonly dataDir: string;
  private readonly pendingDir: string;
  private readonly writer: JournalWriter;
  private readonly consolidateEveryLines: number;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  /** Created on first use (it holds the cached events.db). */
  private consolidator: Consolidator | null = null;
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
    this.pendingDir = join(this.dataDir, PENDING_DIR);
    // Consolidation runs sql.js on the main thread, so it is kept off the tracking path: only
    // when this writer alone could push the store past its bound (reads consolidate anyway).
    const every = options.consolidateEveryLines ?? limits.maxPendingEvents;
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

  prepare(): Promise<void> {
    return this.writer.prepare();
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
    return this.withDb((db, { queryAll }) => {
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
    return this.withDb((db, { queryAll, readCounter, toCount, META_DROPPED, META_CORRUPT }) => {
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

  pendingBatch(limit: number): Promise<PendingEvent[]> {
    const n = Math.floor(limit);
    return this.withDb((db, { queryAll }) => {
      if (!(n > 0)) return { result: [], changed: false };
      const result: PendingEvent[] = [];
      for (const [eventId, body] of queryAll(
        db,
        "SELECT event_id, body FROM events WHERE state = 'pending' ORDER BY seq ASC LIMIT ?",
        [n],
      )) {
        if (typeof eventId === 'string' && typeof body === 'string') result.push({ eventId, body });
      }
      return { result, changed: false };
    });
  }

  markSynced(eventIds: readonly string[], syncedAt: Date): Promise<void> {
    const at = syncedAt.getTime();
    return this.withDb((db, { updateEach }) => ({
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
    return this.withDb((db, { updateEach }) => ({
      result: undefined,
      changed: updateEach(
        db,
        "UPDATE events SET state = 'dead_letter', error = ? WHERE event_id = ? AND state = 'pending'",
        eventIds,
        (id) => [reason, id],
      ),
    }));
  }

  settle(delivery: Delivery): Promise<void> {
    const at = delivery.at.getTime();
    return this.withDb((db, { updateEach, readMeta, writeMeta }) => {
      let changed = updateEach(
        db,
        "UPDATE events SET state = 'synced', synced_at = ?, error = NULL WHERE event_id = ? AND state != 'synced'",
        delivery.synced,
        (id) => [at, id],
      );
      for (const { eventIds, reason } of delivery.deadLettered) {
        const marked = updateEach(
          db,
          "UPDATE events SET state = 'dead_letter', error = ? WHERE event_id = ? AND state = 'pending'",
          eventIds,
          (id) => [reason, id],
        );
        changed ||= marked;
      }
      for (const [key, value] of Object.entries(delivery.meta) as Array<[MetaKey, string | null]>) {
        if (readMeta(db, key) === value) continue;
        writeMeta(db, key, value);
        changed = true;
      }
      return { result: undefined, changed };
    });
  }

  deletePending(): Promise<number> {
    return this.withDb((db) => {
      db.run("DELETE FROM events WHERE state = 'pending'");
      const deleted = db.getRowsModified();
      return { result: deleted, changed: deleted > 0 };
    });
  }

  getMeta(key: MetaKey): Promise<string | null> {
    return this.withDb((db, { readMeta }) => ({ result: readMeta(db, key), changed: false }));
  }

  setMeta(key: MetaKey, value: string | null): Promise<void> {
    return this.withDb((db, { readMeta, writeMeta }) => {
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
    void runExclusive(this.dataDir, async () => this.consolidator?.dropCache());
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

  private withDb<T>(op: Operation<T>): Promise<T> {
    return runExclusive(this.dataDir, async () => {
      this.linesSinceConsolidation = 0;
      await this.writer.rotate();
      const consolidator = await this.getConsolidator();
      return consolidator.run(op);
    });
  }

  private async getConsolidator(): Promise<Consolidator> {
    if (this.consolidator === null) {
      let mod: ConsolidationModule;
      try {
        mod = await loadConsolidation();
      } catch (error) {
        throw storageError('cannot load the consolidation module', error);
      }
      this.consolidator ??= new mod.Consolidator({
        dataDir: this.dataDir,
        pendingDir: this.pendingDir,
        limits: this.limits,
        lockStaleMs: this.lockStaleMs,
        lockTimeoutMs: this.lockTimeoutMs,
      });
    }
    return this.consolidator;
  }
}

function serialize(events: readonly TelemetryEvent[]): string {
  let data = '';
  for (const event of events) data += `${JSON.stringify(event)}\n`;
  return data;
}
