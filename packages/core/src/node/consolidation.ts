/**
 * Consolidation: everything FileEventStore does under the events.db lock — load (or replace a
 * corrupt) events.db, read the journal segments, insert/bound/prune, run the operation, write
 * events.db atomically and delete the consumed segments (the segment side is in
 * journal-consumer.ts). The protocol is specified in the block comment at the top of
 * file-event-store.ts.
 *
 * FileEventStore loads this module lazily (dynamic import) on its first read, mutation or
 * consolidation, so that a process that only tracks never evaluates it, journal-consumer.ts,
 * sqlite-database.ts (nor sql.js) or lock-file.ts.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { EventStoreLimits } from '../storage.js';
import { deleteConsumedSegments, readSegments, removeStaleSegmentRows } from './journal-consumer.js';
import type { Consumed } from './journal-consumer.js';
import { fsyncDir } from './journal-segment.js';
import { acquireLock, isPidAlive } from './lock-file.js';
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
import { errorCode, storageError } from './storage-error.js';

const DAY_MS = 86_400_000;
const DB_FILE = 'events.db';
const LEFTOVER_PATTERN = /^events\.db\.(?:tmp|lock\.stale)-([0-9]+)-[0-9a-f]+$/;

function toCount(value: SqlValue): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
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

/** The SQL helpers an operation may use (handed to it so that its caller needs no static import). */
const sqlHelpers = {
  queryAll,
  scalar,
  readMeta,
  writeMeta,
  readCounter,
  toCount,
  updateEach,
  META_DROPPED,
  META_CORRUPT,
};
export type SqlHelpers = typeof sqlHelpers;

/** What an operation returns: its result, and whether it changed the database (= write it). */
export interface OpResult<T> {
  result: T;
  changed: boolean;
}

/** An operation on the consolidated database, run inside the consolidation's transaction. */
export type Operation<T> = (db: Database, sql: SqlHelpers) => OpResult<T>;

export interface ConsolidatorOptions {
  /** Absolute data dir. */
  dataDir: string;
  /** Absolute journal segment dir (<dataDir>/pending). */
  pendingDir: string;
  limits: EventStoreLimits;
  lockStaleMs: number;
  lockTimeoutMs: number;
}

interface CachedDb {
  db: Database;
  ino: number;
  size: number;
  mtimeMs: number;
}


function closeDb(db: Database): void {
  try {
    db.close();
  } catch {
    // already closed
  }
}

/**
 * Consolidates one data dir. Keeps the last database read or written in memory and reuses it
 * while events.db is unchanged on disk. Callers serialize calls to run() within the process.
 */
export class Consolidator {
  private readonly dataDir: string;
  private readonly dbPath: string;
  private readonly lockPath: string;
  private readonly pendingDir: string;
  private readonly limits: EventStoreLimits;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  private cache: CachedDb | null = null;

  constructor(options: ConsolidatorOptions) {
    this.dataDir = options.dataDir;
    this.dbPath = join(this.dataDir, DB_FILE);
    this.lockPath = `${this.dbPath}.lock`;
    this.pendingDir = options.pendingDir;
    this.limits = options.limits;
    this.lockStaleMs = options.lockStaleMs;
    this.lockTimeoutMs = options.lockTimeoutMs;
  }

  /** Takes the lock, consolidates, applies `op` and writes events.db if anything changed. */
  async run<T>(op: Operation<T>): Promise<T> {
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
  }

  /** Frees the in-memory database (the next run() reads events.db again). */
  dropCache(): void {
    const cache = this.cache;
    this.cache = null;
    if (cache !== null) closeDb(cache.db);
  }

  private async underLock<T>(op: Operation<T>): Promise<T> {
    const loaded = await this.loadDb();
    const db = loaded.db;
    try {
      const consumed = await readSegments(db, this.pendingDir);
      let changed = loaded.changed;
      let out: OpResult<T>;
      db.exec('BEGIN');
      try {
        changed = this.apply(db, consumed) || changed;
        out = op(db, sqlHelpers);
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
      else if (loaded.uncached) closeDb(db);
      await deleteConsumedSegments(consumed.segments);
      return out.result;
    } catch (error) {
      // The in-memory copy may now differ from the file: reload next time.
      if (this.cache?.db === db) this.dropCache();
      else closeDb(db);
      throw error;
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
      closeDb(db);
    }
  }
}

