/**
 * PostgreSQL storage (`pg`, one Pool per process). Everything that must hold across server
 * processes lives in the database: a nonce is claimed by inserting it (primary key), an event
 * by inserting its event_id (primary key, ON CONFLICT DO NOTHING RETURNING tells new rows from
 * duplicates), so any number of servers behind a load balancer can share one database. A
 * request is acknowledged after its INSERT commits (durable under PostgreSQL's default
 * synchronous_commit). Tables live in their own schema (default `telemetry_kit`), created when
 * missing under an advisory lock, so that servers starting together do not race.
 * `pg` is imported when a storage opens, not when the CLI starts.
 */
import type { Pool, PoolClient } from 'pg';
import { TelemetryError } from '@telemetry-kit/core/node';
import { newAppId, newOrgId, newSecret, newToken, tokenHash, type AppCredentials } from '../credentials.js';
import { SUMMARY_PERCENTILES, countsObject, successBlock, type AppSummary } from '../summary.js';
import { validateAppName, validateOrgId } from './embedded-apps.js';
import type { AppAuth, AppRecord, AppRegistry, EventQuery, IngestBatch, IngestStorage, StoreResult } from './types.js';

export interface PostgresStorageOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Schema holding the tables. Defaults to `telemetry_kit`. */
  schema?: string;
  /** Pool size. Defaults to 10. */
  maxConnections?: number;
  clock?: () => number;
  /** Expired nonces are deleted this often. Defaults to 60 s. */
  nonceCleanupMs?: number;
  log?: (line: string) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Any constant: servers take this advisory lock while creating the schema. */
const SCHEMA_LOCK_KEY = 0x746b5f31;

function schemaSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.settings (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.apps (
  app_id text PRIMARY KEY,
  org_id text NOT NULL,
  name text NOT NULL,
  token_sha256 text NOT NULL UNIQUE,
  secret text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE TABLE IF NOT EXISTS ${s}.nonces (nonce text PRIMARY KEY, expires_at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS nonces_expires_at ON ${s}.nonces (expires_at);
CREATE TABLE IF NOT EXISTS ${s}.events (
  seq bigserial NOT NULL,
  event_id text PRIMARY KEY,
  org_id text NOT NULL,
  app_id text NOT NULL,
  received_at bigint NOT NULL,
  timestamp text NOT NULL,
  type text NOT NULL,
  command text,
  service_version text,
  os text,
  success boolean,
  duration_ms bigint,
  body text NOT NULL
);
CREATE INDEX IF NOT EXISTS events_app_seq ON ${s}.events (app_id, seq);
`;
}

function storageFailure(message: string, error: unknown): TelemetryError {
  if (error instanceof TelemetryError) return error;
  return new TelemetryError('STORAGE', `${message}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

interface AppRow {
  app_id: string;
  org_id: string;
  name: string;
  secret: string;
  created_at: string;
  revoked_at: string | null;
}

function appRecord(row: AppRow): AppRecord {
  return {
    orgId: row.org_id,
    appId: row.app_id,
    name: row.name,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

async function createPool(options: PostgresStorageOptions): Promise<Pool> {
  const pg = await import('pg');
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // An idle client losing its connection (server restart) must not crash the process: the
  // pool drops it and the next query opens a new one.
  pool.on('error', (error) => options.log?.(`telemetry-kit server: idle PostgreSQL connection failed: ${error.message}`));
  return pool;
}

async function ensureSchema(pool: Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query(schemaSql(schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function connect(options: PostgresStorageOptions): Promise<{ pool: Pool; schema: string }> {
  const schema = options.schema ?? 'telemetry_kit';
  if (!SCHEMA_NAME.test(schema)) {
    throw new TelemetryError('INVALID_CONFIG', `invalid PostgreSQL schema name ${JSON.stringify(schema)}`, { field: 'schema' });
  }
  const pool = await createPool(options);
  try {
    await ensureSchema(pool, schema);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw storageFailure(`cannot prepare PostgreSQL database ${redactUrl(options.url)}`, error);
  }
  return { pool, schema };
}

export class PostgresAppRegistry implements AppRegistry {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly clock: () => number,
    /** Whether close() ends the pool (a registry opened on its own owns it). */
    private readonly ownsPool: boolean,
  ) {}

  async addApp(name: string, options: { orgId?: string } = {}): Promise<{ app: AppRecord; credentials: AppCredentials }> {
    const cleanName = validateAppName(name);
    const orgId = options.orgId === undefined ? await this.defaultOrg() : validateOrgId(options.orgId);
    const credentials: AppCredentials = { orgId, appId: newAppId(), token: newToken(), secret: newSecret() };
    // Strictly after every app so far, so `apps list` shows creation order even for apps added
    // within the same millisecond (the id that breaks ties is random).
    const inserted = await this.pool.query<{ created_at: string }>(
      `INSERT INTO ${this.schema}.apps (app_id, org_id, name, token_sha256, secret, created_at)
       SELECT $1, $2, $3, $4, $5, GREATEST($6::bigint, COALESCE(MAX(created_at), 0) + 1) FROM ${this.schema}.apps
       RETURNING created_at`,
      [credentials.appId, orgId, cleanName, tokenHash(credentials.token), credentials.secret, this.clock()],
    );
    const createdAt = Number(inserted.rows[0]?.created_at ?? this.clock());
    return { app: { orgId, appId: credentials.appId, name: cleanName, createdAt, revokedAt: null }, credentials };
  }

  async listApps(): Promise<AppRecord[]> {
    const result = await this.pool.query<AppRow>(
      `SELECT app_id, org_id, name, secret, created_at, revoked_at FROM ${this.schema}.apps ORDER BY created_at, app_id`,
    );
    return result.rows.map(appRecord);
  }

  async revokeApp(appId: string): Promise<AppRecord | null> {
    await this.pool.query(`UPDATE ${this.schema}.apps SET revoked_at = $1 WHERE app_id = $2 AND revoked_at IS NULL`, [this.clock(), appId]);
    const result = await this.pool.query<AppRow>(
      `SELECT app_id, org_id, name, secret, created_at, revoked_at FROM ${this.schema}.apps WHERE app_id = $1`,
      [appId],
    );
    const row = result.rows[0];
    return row === undefined ? null : appRecord(row);
  }

  async findByToken(token: string): Promise<AppAuth | null> {
    // Not cached: a revocation must take effect on every server at once.
    const result = await this.pool.query<AppRow>(
      `SELECT app_id, org_id, name, secret, created_at, revoked_at FROM ${this.schema}.apps WHERE token_sha256 = $1`,
      [tokenHash(token)],
    );
    const row = result.rows[0];
    return row === undefined ? null : { ...appRecord(row), secret: row.secret };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private async defaultOrg(): Promise<string> {
    // Two processes adding their first app at once agree on one org: the insert that loses does nothing.
    await this.pool.query(`INSERT INTO ${this.schema}.settings (key, value) VALUES ('default_org_id', $1) ON CONFLICT (key) DO NOTHING`, [newOrgId()]);
    const result = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.schema}.settings WHERE key = 'default_org_id'`);
    const value = result.rows[0]?.value;
    if (value === undefined) throw new TelemetryError('STORAGE', 'default org id missing after insert');
    return value;
  }
}

export async function openPostgresAppRegistry(options: PostgresStorageOptions): Promise<PostgresAppRegistry> {
  const { pool, schema } = await connect({ ...options, maxConnections: options.maxConnections ?? 2 });
  return new PostgresAppRegistry(pool, schema, options.clock ?? Date.now, true);
}

export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const { pool, schema } = await connect(options);
  return new PostgresStorage(pool, schema, options);
}

export class PostgresStorage implements IngestStorage {
  readonly kind = 'postgres' as const;
  readonly apps: PostgresAppRegistry;
  private readonly clock: () => number;
  private readonly cleanupTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    options: PostgresStorageOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.apps = new PostgresAppRegistry(pool, schema, this.clock, false);
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.cleanupTimer = setInterval(() => {
      this.deleteExpiredNonces().catch((error: unknown) => log(`telemetry-kit server: nonce cleanup failed: ${String(error)}`));
    }, options.nonceCleanupMs ?? 60_000);
    this.cleanupTimer.unref();
  }

  async claimNonce(nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    // An expired row not yet cleaned up is taken over instead of counting as a replay.
    const result = await this.pool.query(
      `INSERT INTO ${this.schema}.nonces (nonce, expires_at) VALUES ($1, $2)
       ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE ${this.schema}.nonces.expires_at <= $3
       RETURNING 1`,
      [nonce, expiresAtMs, nowMs],
    );
    return result.rowCount === 1;
  }

  async storeBatch(batch: IngestBatch): Promise<StoreResult> {
    if (batch.rows.length === 0) return { accepted: 0, duplicates: 0 };
    const rows = batch.rows;
    // One statement per batch: the rows travel as parallel arrays and unnest() turns them back.
    const result = await this.pool.query(
      `INSERT INTO ${this.schema}.events
         (event_id, org_id, app_id, received_at, timestamp, type, command, service_version, os, success, duration_ms, body)
       SELECT e.event_id, $2::text, $3::text, $4::bigint, e.timestamp, e.type, e.command, e.service_version, e.os, e.success, e.duration_ms, e.body
       FROM unnest($1::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::bigint[], $12::text[])
         WITH ORDINALITY AS e(event_id, timestamp, type, command, service_version, os, success, duration_ms, body, ord)
       ORDER BY e.ord
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        rows.map((r) => r.eventId),
        batch.orgId,
        batch.appId,
        batch.receivedAt,
        rows.map((r) => r.timestamp),
        rows.map((r) => r.type),
        rows.map((r) => r.command),
        rows.map((r) => r.serviceVersion),
        rows.map((r) => r.os),
        rows.map((r) => r.success),
        rows.map((r) => r.durationMs),
        rows.map((r) => r.body),
      ],
    );
    const accepted = result.rowCount ?? 0;
    return { accepted, duplicates: rows.length - accepted };
  }

  async listEvents(appId: string, query: EventQuery): Promise<unknown[]> {
    const params: unknown[] = [appId, query.limit];
    let filter = '';
    if (query.type !== undefined) {
      params.push(query.type);
      filter = ' AND type = $3';
    }
    const result = await this.pool.query<{ body: string }>(
      `SELECT body FROM ${this.schema}.events WHERE app_id = $1${filter} ORDER BY seq DESC LIMIT $2`,
      params,
    );
    return result.rows.map((row) => JSON.parse(row.body) as unknown);
  }

  async summary(appId: string): Promise<AppSummary> {
    const s = this.schema;
    const client: PoolClient = await this.pool.connect();
    try {
      // One snapshot for all the figures.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const totals = await client.query<{ total: string; first: string | null; last: string | null }>(
        `SELECT COUNT(*) AS total, MIN(timestamp) AS first, MAX(timestamp) AS last FROM ${s}.events WHERE app_id = $1`,
        [appId],
      );
      const group = async (column: 'type' | 'command' | 'service_version' | 'os'): Promise<Record<string, number>> => {
        const result = await client.query<{ key: string; count: string }>(
          `SELECT ${column} AS key, COUNT(*) AS count FROM ${s}.events WHERE app_id = $1 AND ${column} IS NOT NULL GROUP BY ${column}`,
          [appId],
        );
        return countsObject(result.rows.map((row) => [row.key, Number(row.count)] as const));
      };
      const byType = await group('type');
      const byCommand = await group('command');
      const byVersion = await group('service_version');
      const byOs = await group('os');
      const success = await client.query<{ succeeded: string; failed: string }>(
        `SELECT COUNT(*) FILTER (WHERE success) AS succeeded, COUNT(*) FILTER (WHERE NOT success) AS failed
         FROM ${s}.events WHERE app_id = $1 AND success IS NOT NULL`,
        [appId],
      );
      const durations = await client.query<{ count: string; percentiles: string[] | null }>(
        `SELECT COUNT(duration_ms) AS count,
                percentile_disc($2::float8[]) WITHIN GROUP (ORDER BY duration_ms) AS percentiles
         FROM ${s}.events WHERE app_id = $1 AND duration_ms IS NOT NULL`,
        [appId, [...SUMMARY_PERCENTILES]],
      );
      await client.query('COMMIT');
      const totalsRow = totals.rows[0];
      const successRow = success.rows[0];
      const durationRow = durations.rows[0];
      const percentile = (i: number): number | null => {
        const value = durationRow?.percentiles?.[i];
        return value === undefined || value === null ? null : Number(value);
      };
      return {
        app_id: appId,
        total_events: Number(totalsRow?.total ?? 0),
        first_event_at: totalsRow?.first ?? null,
        last_event_at: totalsRow?.last ?? null,
        by_type: byType,
        by_command: byCommand,
        by_service_version: byVersion,
        by_os: byOs,
        commands: successBlock(Number(successRow?.succeeded ?? 0), Number(successRow?.failed ?? 0)),
        duration_ms: { count: Number(durationRow?.count ?? 0), p50: percentile(0), p90: percentile(1), p99: percentile(2) },
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Deletes nonces past their expiry (they can no longer be replayed: the timestamp check refuses them). */
  async deleteExpiredNonces(): Promise<number> {
    const result = await this.pool.query(`DELETE FROM ${this.schema}.nonces WHERE expires_at <= $1`, [this.clock()]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.cleanupTimer);
    await this.pool.end();
  }
}
