/**
 * sql.js loading (lazy, once per process) and the `events.db` schema shared with the native
 * backend. Nothing here touches the file system: callers read/write the bytes themselves.
 */
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';

export type { Database, SqlValue };

/** The schema version stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

/** The schema, identical in the native backend. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  timestamp TEXT NOT NULL,
  type TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','synced','dead_letter')),
  body TEXT NOT NULL,
  stored_at INTEGER NOT NULL,
  synced_at INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS events_state_seq ON events(state, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (name TEXT PRIMARY KEY, offset INTEGER NOT NULL);
`;

/** Meta keys used by the store itself (besides the public `last_sync` / `last_error`). */
export const META_DROPPED = 'dropped_events';
export const META_CORRUPT = 'corrupt_lines';

let sqlJsPromise: Promise<SqlJsStatic> | null = null;

/** Loads and instantiates sql.js (WASM) once per process. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (sqlJsPromise === null) {
    const loading = (async () => {
      const mod: unknown = await import('sql.js');
      const init = pickInit(mod);
      return init();
    })();
    // A failed load (e.g. missing WASM) may be retried by a later call.
    loading.catch(() => {
      if (sqlJsPromise === loading) sqlJsPromise = null;
    });
    sqlJsPromise = loading;
  }
  return sqlJsPromise;
}

type InitFn = () => Promise<SqlJsStatic>;

/** `import('sql.js')` yields the CommonJS export either directly or as `default`. */
function pickInit(mod: unknown): InitFn {
  if (typeof mod === 'function') return mod as InitFn;
  if (typeof mod === 'object' && mod !== null && 'default' in mod) {
    const inner: unknown = (mod as { default: unknown }).default;
    if (typeof inner === 'function') return inner as InitFn;
    if (typeof inner === 'object' && inner !== null && 'default' in inner) {
      const innermost: unknown = (inner as { default: unknown }).default;
      if (typeof innermost === 'function') return innermost as InitFn;
    }
  }
  throw new Error('sql.js did not export an init function');
}

const SQLITE_HEADER = 'SQLite format 3\u0000';

export function hasSqliteHeader(bytes: Uint8Array): boolean {
  if (bytes.length < SQLITE_HEADER.length) return false;
  for (let i = 0; i < SQLITE_HEADER.length; i++) {
    if (bytes[i] !== SQLITE_HEADER.charCodeAt(i)) return false;
  }
  return true;
}

/** Thrown by {@link openDatabase} when the bytes are not a usable events database. */
export class CorruptDatabaseError extends Error {
  override readonly name = 'CorruptDatabaseError';
}

/**
 * Opens a database from file bytes (null or empty = a new database), checks it and creates the
 * schema. Throws {@link CorruptDatabaseError} when the bytes are not a healthy SQLite file.
 */
export function openDatabase(SQL: SqlJsStatic, bytes: Uint8Array | null): Database {
  const fresh = bytes === null || bytes.length === 0;
  if (!fresh && !hasSqliteHeader(bytes)) {
    throw new CorruptDatabaseError('not a SQLite database (bad header)');
  }
  let db: Database;
  try {
    db = new SQL.Database(fresh ? undefined : bytes);
  } catch (error) {
    throw new CorruptDatabaseError(`cannot open database: ${String(error)}`, { cause: error });
  }
  try {
    if (!fresh) {
      const check = scalar(db, 'PRAGMA quick_check');
      if (check !== 'ok') throw new Error(`quick_check: ${String(check)}`);
    }
    db.exec(SCHEMA_SQL);
    const version = scalar(db, 'PRAGMA user_version');
    if (typeof version !== 'number' || version < SCHEMA_VERSION) {
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
  } catch (error) {
    db.close();
    throw new CorruptDatabaseError(`database check failed: ${String(error)}`, { cause: error });
  }
  return db;
}

/** All rows of a query. */
export function queryAll(db: Database, sql: string, params: SqlValue[] = []): SqlValue[][] {
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

/** The first column of the first row, or null. */
export function scalar(db: Database, sql: string, params: SqlValue[] = []): SqlValue {
  const row = queryAll(db, sql, params)[0];
  return row === undefined ? null : (row[0] ?? null);
}

export function readMeta(db: Database, key: string): string | null {
  const value = scalar(db, 'SELECT value FROM meta WHERE key = ?', [key]);
  return typeof value === 'string' ? value : null;
}

export function writeMeta(db: Database, key: string, value: string | null): void {
  if (value === null) db.run('DELETE FROM meta WHERE key = ?', [key]);
  else db.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', [key, value]);
}

/** Adds `delta` to an integer counter kept in `meta`. */
export function addToCounter(db: Database, key: string, delta: number): void {
  if (delta === 0) return;
  writeMeta(db, key, String(readCounter(db, key) + delta));
}

export function readCounter(db: Database, key: string): number {
  const raw = readMeta(db, key);
  if (raw === null) return 0;
  const n = Number(raw);
  return Number.isFinite(n) ? n : 0;
}
