/**
 * The embedded app registry: `apps.db`, a small SQLite file (sql.js) beside the event store.
 * `telemetry-kit apps` rewrites it whole under a lock while a server may be running; the server
 * notices through the file's identity (a rename gives a new inode) and re-reads it, so an app
 * added or revoked takes effect on the next request.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TelemetryError, acquireLock, loadSqlJs } from '@telemetry-kit/core/node';
import type { Database } from 'sql.js';
import { isValidId, newAppId, newOrgId, newSecret, newToken, tokenHash, type AppCredentials } from '../credentials.js';
import { readFileIfExists, writeFileDurably } from './durable-file.js';
import type { AppAuth, AppRecord, AppRegistry } from './types.js';

export const APPS_FILE = 'apps.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  app_id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  name TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 1;
`;

interface Snapshot {
  identity: string;
  byTokenHash: Map<string, AppAuth>;
  apps: AppAuth[];
}

function record(app: AppAuth): AppRecord {
  return { orgId: app.orgId, appId: app.appId, name: app.name, createdAt: app.createdAt, revokedAt: app.revokedAt };
}

export function validateAppName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 128 || /[\u0000-\u001f]/.test(trimmed)) {
    throw new TelemetryError('INVALID_CONFIG', `invalid app name ${JSON.stringify(name)}: 1-128 printable characters`, { field: 'name' });
  }
  return trimmed;
}

export function validateOrgId(orgId: string): string {
  if (!isValidId(orgId)) {
    throw new TelemetryError('INVALID_CONFIG', `invalid org id ${JSON.stringify(orgId)}: 1-128 of A-Z a-z 0-9 _ . -`, { field: 'orgId' });
  }
  return orgId;
}

export class EmbeddedAppRegistry implements AppRegistry {
  private readonly path: string;
  private snapshot: Snapshot | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly clock: () => number,
  ) {
    this.path = join(dataDir, APPS_FILE);
  }

  async findByToken(token: string): Promise<AppAuth | null> {
    const snapshot = await this.current();
    return snapshot.byTokenHash.get(tokenHash(token)) ?? null;
  }

  async listApps(): Promise<AppRecord[]> {
    return (await this.current()).apps.map(record);
  }

  async addApp(name: string, options: { orgId?: string } = {}): Promise<{ app: AppRecord; credentials: AppCredentials }> {
    const cleanName = validateAppName(name);
    const requestedOrg = options.orgId === undefined ? undefined : validateOrgId(options.orgId);
    return this.mutate((db) => {
      const orgId = requestedOrg ?? defaultOrg(db);
      const credentials: AppCredentials = { orgId, appId: newAppId(), token: newToken(), secret: newSecret() };
      // Strictly after every app so far: `apps list` keeps creation order within a millisecond.
      const latest = db.exec('SELECT COALESCE(MAX(created_at), 0) FROM apps')[0]?.values[0]?.[0];
      const createdAt = Math.max(this.clock(), Number(latest ?? 0) + 1);
      db.run('INSERT INTO apps (app_id, org_id, name, token_sha256, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        credentials.appId,
        orgId,
        cleanName,
        tokenHash(credentials.token),
        credentials.secret,
        createdAt,
      ]);
      return { app: { orgId, appId: credentials.appId, name: cleanName, createdAt, revokedAt: null }, credentials };
    });
  }

  async revokeApp(appId: string): Promise<AppRecord | null> {
    return this.mutate((db) => {
      db.run('UPDATE apps SET revoked_at = ? WHERE app_id = ? AND revoked_at IS NULL', [this.clock(), appId]);
      const row = readApps(db).find((app) => app.appId === appId);
      return row === undefined ? null : record(row);
    });
  }

  async close(): Promise<void> {
    this.snapshot = null;
  }

  /** The apps as on disk now: re-read only when the file was replaced since the last read. */
  private async current(): Promise<Snapshot> {
    let identity: string;
    try {
      const st = await fsp.stat(this.path);
      identity = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      identity = 'missing';
    }
    if (this.snapshot?.identity === identity) return this.snapshot;
    const bytes = await readFileIfExists(this.path);
    const db = await openAppsDb(bytes);
    try {
      const apps = readApps(db);
      this.snapshot = { identity, apps, byTokenHash: new Map(apps.map((app) => [app.tokenSha256, app])) };
      return this.snapshot;
    } finally {
      db.close();
    }
  }

  private async mutate<T>(change: (db: Database) => T): Promise<T> {
    await fsp.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const release = await acquireLock(`${this.path}.lock`);
    try {
      const db = await openAppsDb(await readFileIfExists(this.path));
      try {
        db.exec('BEGIN');
        const result = change(db);
        db.exec('COMMIT');
        await writeFileDurably(this.path, db.export());
        this.snapshot = null;
        return result;
      } finally {
        db.close();
      }
    } finally {
      await release();
    }
  }
}

interface StoredApp extends AppAuth {
  tokenSha256: string;
}

async function openAppsDb(bytes: Uint8Array | null): Promise<Database> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes !== null && bytes.length > 0 ? bytes : undefined);
  try {
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw new TelemetryError('STORAGE', `cannot open ${APPS_FILE}: ${String(error)}`, { cause: error });
  }
  return db;
}

function readApps(db: Database): StoredApp[] {
  const stmt = db.prepare('SELECT app_id, org_id, name, token_sha256, secret, created_at, revoked_at FROM apps ORDER BY created_at, app_id');
  const apps: StoredApp[] = [];
  try {
    while (stmt.step()) {
      const [appId, orgId, name, tokenSha256, secret, createdAt, revokedAt] = stmt.get();
      apps.push({
        appId: String(appId),
        orgId: String(orgId),
        name: String(name),
        tokenSha256: String(tokenSha256),
        secret: String(secret),
        createdAt: Number(createdAt),
        revokedAt: revokedAt === null || revokedAt === undefined ? null : Number(revokedAt),
      });
    }
  } finally {
    stmt.free();
  }
  return apps;
}

/** The org apps join unless told otherwise, created once per storage. */
function defaultOrg(db: Database): string {
  const stmt = db.prepare("SELECT value FROM settings WHERE key = 'default_org_id'");
  try {
    if (stmt.step()) return String(stmt.get()[0]);
  } finally {
    stmt.free();
  }
  const orgId = newOrgId();
  db.run("INSERT INTO settings (key, value) VALUES ('default_org_id', ?)", [orgId]);
  return orgId;
}
