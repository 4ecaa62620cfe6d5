/**
 * Embedded storage: one data dir, one server process, no database to run.
 *
 *   server.pid          the owning server (data-dir-owner.ts)
 *   apps.db             apps and credentials (embedded-apps.ts), rewritten by `telemetry-kit apps`
 *   ingest.db           SQLite (sql.js): events, unexpired nonces; replaced whole, atomically
 *   journal/<pid>-<hex>.jsonl   requests stored since ingest.db was last written (ingest-journal.ts)
 *
 * Why a journal in front of SQLite: sql.js keeps the database in memory and can only persist it
 * by exporting the whole file, so making each request durable through it would rewrite the
 * whole database per request. A request is instead acknowledged once its journal line is
 * written and fdatasync'ed — core's JournalWriter, the SDK's own journal, group-commits the
 * lines of concurrent requests into one write+fdatasync. The in-memory database receives the
 * same rows shortly after (one transaction per 50 ms of requests; a query first applies what is
 * still waiting), so queries see every acknowledged event. Consolidation exports the database
 * to ingest.db (temp file, fsync, rename) and only then deletes the journal segments it covers;
 * it runs when the journal has grown by max(64 MiB, size of ingest.db) — so rewriting the file
 * costs at most about one extra write of each byte ingested — after 30 s without writes, and on
 * close. On start, ingest.db is loaded and every segment still present is replayed (rows
 * already in ingest.db are skipped by event_id).
 *
 * core's Consolidator is not reused: it implements the SDK's event states, bounds and
 * multi-process lock protocol, where the server has a schema of its own and one writer process.
 *
 * Dedupe: a Set of every stored event_id (about 100 bytes per event on top of the database
 * itself). The whole database lives in memory: this storage suits one machine and millions of
 * events; PostgreSQL is the option beyond that.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { JournalWriter, TelemetryError, fsyncDir, isSegmentOpenForWriting, loadSqlJs } from '@telemetry-kit/core/node';
import type { Database, SqlValue } from 'sql.js';
import type { EventRow } from '../event-row.js';
import { NonceWindow } from '../nonce-window.js';
import { SUMMARY_PERCENTILES, countsObject, nearestRank, successBlock, type AppSummary } from '../summary.js';
import { claimDataDir } from './data-dir-owner.js';
import { readFileIfExists, writeFileDurably } from './durable-file.js';
import { EmbeddedAppRegistry } from './embedded-apps.js';
import { journalLine, listSegments, readSegment, type JournalRecord } from './ingest-journal.js';
import type { EventQuery, IngestBatch, IngestStorage, StoreResult } from './types.js';

export const INGEST_DB_FILE = 'ingest.db';
export const JOURNAL_DIR = 'journal';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  type TEXT NOT NULL,
  command TEXT,
  service_version TEXT,
  os TEXT,
  success INTEGER,
  duration_ms INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_app_seq ON events (app_id, seq);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
PRAGMA user_version = 1;
`;

/**
 * No UNIQUE index on event_id: dedupe happens before a row gets here (the Set of stored ids, also
 * applied to a replayed journal), and an index over random UUIDs would make every insert dirty
 * a random page of the in-memory database — the largest cost of an insert in sql.js.
 * The rollback journal stays in memory: a transaction on an in-memory database has no file to
 * protect, and sql.js would otherwise write and delete one in its virtual file system each time.
 * (export() reopens the database, which resets pragmas: they are set again after each one.)
 */
const PRAGMAS = 'PRAGMA journal_mode = MEMORY;';

/** Rows reach the in-memory database in transactions of up to this much time's worth of requests. */
const APPLY_DELAY_MS = 50;

const INSERT_EVENT = `INSERT INTO events
  (event_id, org_id, app_id, received_at, timestamp, type, command, service_version, os, success, duration_ms, body)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))`;

export interface EmbeddedStorageOptions {
  dataDir: string;
  /** ms since the epoch; defaults to Date.now. */
  clock?: () => number;
  /** Consolidate once the journal has grown by max(this, ingest.db's size). Defaults to 64 MiB. */
  consolidateMinBytes?: number;
  /** Consolidate after this long without a write, if the journal is not empty. Defaults to 30 s. */
  idleConsolidateMs?: number;
  /** Where background failures are reported. Defaults to stderr. */
  log?: (line: string) => void;
}

function rowParams(row: EventRow): SqlValue[] {
  return [
    row.eventId,
    row.orgId,
    row.appId,
    row.receivedAt,
    row.timestamp,
    row.type,
    row.command,
    row.serviceVersion,
    row.os,
    row.success === null ? null : row.success ? 1 : 0,
    row.durationMs,
    // As UTF-8 bytes, CAST to TEXT by the statement: sql.js copies a byte array into WASM memory
    // at once, where a string is encoded character by character in JavaScript.
    Buffer.from(row.body, 'utf8'),
  ];
}

function queryRows(db: Database, sql: string, params: SqlValue[]): SqlValue[][] {
  const stmt = db.prepare(sql);
  try {
    stmt.bind(params);
    const rows: SqlValue[][] = [];
    while (stmt.step()) rows.push(stmt.get());
    return rows;
  } finally {
    stmt.free();
  }
}

function counts(db: Database, column: 'type' | 'command' | 'service_version' | 'os', appId: string): Record<string, number> {
  const rows = queryRows(db, `SELECT ${column}, COUNT(*) FROM events WHERE app_id = ? AND ${column} IS NOT NULL GROUP BY ${column}`, [appId]);
  return countsObject(rows.map(([key, count]) => [String(key), Number(count)] as const));
}

export async function openEmbeddedStorage(options: EmbeddedStorageOptions): Promise<EmbeddedStorage> {
  const dataDir = resolve(options.dataDir);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const release = await claimDataDir(dataDir);
  const storage = new EmbeddedStorage(dataDir, options, release);
  try {
    await storage.load();
  } catch (error) {
    await release();
    throw error instanceof TelemetryError ? error : new TelemetryError('STORAGE', `cannot open ${dataDir}: ${String(error)}`, { cause: error });
  }
  return storage;
}

export class EmbeddedStorage implements IngestStorage {
  readonly kind = 'embedded' as const;
  readonly apps: EmbeddedAppRegistry;
  readonly dataDir: string;

  private db: Database | null = null;
  private readonly clock: () => number;
  private readonly log: (line: string) => void;
  private readonly consolidateMinBytes: number;
  private readonly idleConsolidateMs: number;
  private readonly journalDir: string;
  private readonly journal: JournalWriter;
  private readonly ids = new Set<string>();
  private readonly nonces = new NonceWindow();
  /** Durable in the journal, not yet in the in-memory database. */
  private unapplied: JournalRecord[] = [];
  private applyScheduled = false;
  /** Journal bytes not yet covered by ingest.db. */
  private journalBytes = 0;
  private dbBytes = 0;
  private writesSinceIdleCheck = 0;
  /**
   * Requests between their journal append and their rows reaching the database, by journal
   * generation (bumped at each consolidation), so consolidation knows when the segments it
   * closed are fully applied.
   */
  private generation = 0;
  private readonly inflight = new Map<number, number>();
  private drainWaiter: { generation: number; resolve: () => void } | null = null;
  private consolidation: Promise<void> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    dataDir: string,
    options: EmbeddedStorageOptions,
    private readonly releaseDir: () => Promise<void>,
  ) {
    this.dataDir = dataDir;
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.consolidateMinBytes = options.consolidateMinBytes ?? 64 * 1024 * 1024;
    this.idleConsolidateMs = options.idleConsolidateMs ?? 30_000;
    this.journalDir = join(dataDir, JOURNAL_DIR);
    this.journal = new JournalWriter(this.journalDir);
    this.apps = new EmbeddedAppRegistry(dataDir, this.clock);
  }

  /** Loads ingest.db, replays the journal into it and writes it back (then the journal is empty). */
  async load(): Promise<void> {
    const SQL = await loadSqlJs();
    const bytes = await readFileIfExists(join(this.dataDir, INGEST_DB_FILE));
    let db: Database;
    try {
      db = new SQL.Database(bytes !== null && bytes.length > 0 ? bytes : undefined);
      db.exec(SCHEMA);
      db.exec(PRAGMAS);
    } catch (error) {
      // A server must not silently start over on an unreadable database: say so and stop.
      throw new TelemetryError('STORAGE', `${join(this.dataDir, INGEST_DB_FILE)} is not a readable SQLite database: ${String(error)}`, { cause: error });
    }
    this.db = db;
    this.dbBytes = bytes?.length ?? 0;

    const ids = db.prepare('SELECT event_id FROM events');
    try {
      while (ids.step()) this.ids.add(String(ids.get()[0]));
    } finally {
      ids.free();
    }
    // Segments still present may hold rows already in ingest.db (a crash between writing it and
    // deleting them): the Set filters those out like any duplicate.
    const segments = await listSegments(this.journalDir);
    let unusable = 0;
    for (const name of segments) {
      const read = await readSegment(this.journalDir, name);
      unusable += read.unusable;
      for (const record of read.records) {
        record.rows = record.rows.filter((row) => {
          if (this.ids.has(row.eventId)) return false;
          this.ids.add(row.eventId);
          return true;
        });
        this.unapplied.push(record);
      }
    }
    if (unusable > 0) this.log(`telemetry-kit server: skipped ${unusable} incomplete journal line(s) (writes that were never acknowledged)`);
    this.applyPending();

    const now = this.clock();
    for (const [nonce, expiresAt] of queryRows(db, 'SELECT nonce, expires_at FROM nonces WHERE expires_at > ?', [now])) {
      this.nonces.restore(String(nonce), Number(expiresAt), now);
    }
    if (segments.length > 0) {
      await this.persist();
      for (const name of segments) await fsp.unlink(join(this.journalDir, name));
      await fsyncDir(this.journalDir);
    }
    this.idleTimer = setInterval(() => this.idleCheck(), Math.max(10, Math.floor(this.idleConsolidateMs / 2)));
    this.idleTimer.unref();
  }

  async claimNonce(nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    this.assertOpen();
    return this.nonces.claim(nonce, nowMs, expiresAtMs);
  }

  async storeBatch(batch: IngestBatch): Promise<StoreResult> {
    this.assertOpen();
    const fresh: EventRow[] = [];
    let duplicates = 0;
    for (const row of batch.rows) {
      if (this.ids.has(row.eventId)) duplicates++;
      else {
        // Claimed before the write so that a concurrent request with the same id counts it as
        // a duplicate. Its own journal line queues behind this one, so its answer cannot come
        // before this row is durable; if this write fails, that one fails with it.
        this.ids.add(row.eventId);
        fresh.push(row);
      }
    }
    const record: JournalRecord = {
      orgId: batch.orgId,
      appId: batch.appId,
      nonce: batch.nonce,
      nonceExpiresAt: batch.nonceExpiresAt,
      receivedAt: batch.receivedAt,
      rows: fresh,
    };
    const line = journalLine(record);
    const generation = this.generation;
    this.enter(generation);
    try {
      // A line even without new rows: it carries the nonce.
      await this.journal.append(line, 1);
    } catch (error) {
      for (const row of fresh) this.ids.delete(row.eventId);
      this.leave(generation);
      throw error;
    }
    this.unapplied.push(record);
    this.journalBytes += Buffer.byteLength(line, 'utf8');
    this.writesSinceIdleCheck++;
    this.leave(generation);
    this.scheduleApply();
    if (this.journalBytes >= Math.max(this.consolidateMinBytes, this.dbBytes)) this.consolidateInBackground();
    return { accepted: fresh.length, duplicates };
  }

  async listEvents(appId: string, query: EventQuery): Promise<unknown[]> {
    const db = this.openDb();
    this.applyPending();
    const typeFilter = query.type === undefined ? '' : ' AND type = ?';
    const params: SqlValue[] = query.type === undefined ? [appId, query.limit] : [appId, query.type, query.limit];
    return queryRows(db, `SELECT body FROM events WHERE app_id = ?${typeFilter} ORDER BY seq DESC LIMIT ?`, params).map(
      ([body]) => JSON.parse(String(body)) as unknown,
    );
  }

  async summary(appId: string): Promise<AppSummary> {
    const db = this.openDb();
    this.applyPending();
    const [total, first, last] = queryRows(db, 'SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM events WHERE app_id = ?', [appId])[0] ?? [0, null, null];
    const [succeeded, failed] = queryRows(db, 'SELECT SUM(success = 1), SUM(success = 0) FROM events WHERE app_id = ? AND success IS NOT NULL', [appId])[0] ?? [0, 0];
    const durations = queryRows(db, 'SELECT duration_ms FROM events WHERE app_id = ? AND duration_ms IS NOT NULL ORDER BY duration_ms', [appId]).map(([value]) => Number(value));
    const [p50, p90, p99] = SUMMARY_PERCENTILES.map((p) => nearestRank(durations, p));
    return {
      app_id: appId,
      total_events: Number(total ?? 0),
      first_event_at: first === null || first === undefined ? null : String(first),
      last_event_at: last === null || last === undefined ? null : String(last),
      by_type: counts(db, 'type', appId),
      by_command: counts(db, 'command', appId),
      by_service_version: counts(db, 'service_version', appId),
      by_os: counts(db, 'os', appId),
      commands: successBlock(Number(succeeded ?? 0), Number(failed ?? 0)),
      duration_ms: { count: durations.length, p50: p50 ?? null, p90: p90 ?? null, p99: p99 ?? null },
    };
  }

  async ping(): Promise<void> {
    this.openDb();
  }

  /** Writes ingest.db now and empties the journal (also runs on its own; exposed for tests and tools). */
  consolidate(): Promise<void> {
    const previous = this.consolidation ?? Promise.resolve();
    const next = previous.then(() => this.runConsolidation());
    const tracked = next.finally(() => {
      if (this.consolidation === tracked) this.consolidation = null;
    });
    this.consolidation = tracked;
    return tracked;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    try {
      await this.consolidation?.catch(() => undefined);
      if (this.journalBytes > 0 || this.unapplied.length > 0) await this.runConsolidation();
      await this.journal.close();
    } finally {
      this.db?.close();
      this.db = null;
      await this.apps.close();
      await this.releaseDir();
    }
  }

  private async runConsolidation(): Promise<void> {
    const generation = this.generation++;
    await this.journal.rotate();
    await this.drained(generation);
    const covered = this.journalBytes;
    await this.persist();
    this.journalBytes = Math.max(0, this.journalBytes - covered);
    // Every segment no longer open for writing belongs to a generation now in ingest.db.
    for (const name of await listSegments(this.journalDir)) {
      const path = join(this.journalDir, name);
      if (!isSegmentOpenForWriting(path)) await fsp.unlink(path).catch(() => undefined);
    }
    await fsyncDir(this.journalDir);
  }

  private async persist(): Promise<void> {
    const db = this.openDb();
    this.applyPending();
    db.run('DELETE FROM nonces WHERE expires_at <= ?', [this.clock()]);
    const bytes = db.export();
    db.exec(PRAGMAS);
    await writeFileDurably(join(this.dataDir, INGEST_DB_FILE), bytes);
    this.dbBytes = bytes.length;
  }

  private consolidateInBackground(): void {
    if (this.consolidation !== null || this.closed) return;
    this.consolidate().catch((error: unknown) => {
      // The journal still holds everything: nothing is lost, the next attempt retries.
      this.log(`telemetry-kit server: consolidation of ${this.dataDir} failed: ${String(error)}`);
    });
  }

  private idleCheck(): void {
    const idle = this.writesSinceIdleCheck === 0;
    this.writesSinceIdleCheck = 0;
    if (idle && this.journalBytes > 0) this.consolidateInBackground();
  }

  private scheduleApply(): void {
    if (this.applyScheduled) return;
    this.applyScheduled = true;
    setTimeout(() => {
      this.applyScheduled = false;
      if (this.db === null) return;
      try {
        this.applyPending();
      } catch (error) {
        this.log(`telemetry-kit server: cannot update the in-memory database: ${String(error)}`);
      }
    }, APPLY_DELAY_MS).unref();
  }

  /** Moves journaled records into the in-memory database, in one transaction. */
  private applyPending(): void {
    const records = this.unapplied;
    if (records.length === 0) return;
    const db = this.openDb();
    this.unapplied = [];
    db.exec('BEGIN');
    try {
      const insert = db.prepare(INSERT_EVENT);
      const nonce = db.prepare('INSERT OR REPLACE INTO nonces (nonce, expires_at) VALUES (?, ?)');
      try {
        for (const record of records) {
          nonce.run([record.nonce, record.nonceExpiresAt]);
          for (const row of record.rows) insert.run(rowParams(row));
        }
      } finally {
        insert.free();
        nonce.free();
      }
      db.exec('COMMIT');
    } catch (error) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // nothing to roll back
      }
      this.unapplied = records.concat(this.unapplied);
      throw error;
    }
  }

  private enter(generation: number): void {
    this.inflight.set(generation, (this.inflight.get(generation) ?? 0) + 1);
  }

  private leave(generation: number): void {
    const left = (this.inflight.get(generation) ?? 1) - 1;
    if (left > 0) {
      this.inflight.set(generation, left);
      return;
    }
    this.inflight.delete(generation);
    if (this.drainWaiter?.generation === generation) {
      this.drainWaiter.resolve();
      this.drainWaiter = null;
    }
  }

  private drained(generation: number): Promise<void> {
    if (!this.inflight.has(generation)) return Promise.resolve();
    return new Promise((resolveDrain) => {
      this.drainWaiter = { generation, resolve: resolveDrain };
    });
  }

  private openDb(): Database {
    if (this.db === null) throw new TelemetryError('STORAGE', `embedded storage ${this.dataDir} is closed`);
    return this.db;
  }

  private assertOpen(): void {
    if (this.closed) throw new TelemetryError('STORAGE', `embedded storage ${this.dataDir} is closed`);
  }
}
