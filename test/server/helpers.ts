/**
 * Ingestion server tests: servers on 127.0.0.1:0 over a temp data dir or a throwaway PostgreSQL
 * schema, valid events, and signed requests sent with node:http (so that any header can be
 * left out or bent) and signed with node:crypto, independently of the SDK's client.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe } from 'vitest';
import {
  createIngestServer,
  openAppRegistry,
  type AppCredentials,
  type IngestServer,
  type IngestServerOptions,
  type StorageSpec,
} from '../../packages/node/src/server/index.js';
import { tempDir } from '../helpers/env.js';

export const PG_URL = process.env.TELEMETRY_KIT_TEST_PG_URL;
/** In CI the PostgreSQL suites must run: a missing URL fails them instead of skipping them. */
export const PG_REQUIRED = process.env.CI === 'true';

export type StorageKindUnderTest = 'embedded' | 'postgres';

/** The storages a suite runs against: embedded always, PostgreSQL when configured (or required). */
export const STORAGE_KINDS: StorageKindUnderTest[] = PG_URL !== undefined || PG_REQUIRED ? ['embedded', 'postgres'] : ['embedded'];

const schemas: string[] = [];

/** A fresh storage location: a temp dir, or a new schema in the test database. */
export function storageSpec(kind: StorageKindUnderTest): StorageSpec {
  if (kind === 'embedded') return { dataDir: tempDir('tk-server-') };
  if (PG_URL === undefined) {
    throw new Error('TELEMETRY_KIT_TEST_PG_URL is not set: CI=true requires the PostgreSQL server tests (see .ci/postgres.sh)');
  }
  const schema = `tk_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return { databaseUrl: PG_URL, schema, maxConnections: 4 };
}

afterAll(async () => {
  if (schemas.length === 0 || PG_URL === undefined) return;
  const pg = await import('pg');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  try {
    for (const schema of schemas.splice(0)) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pool.end();
  }
});

/** describe() once per storage kind, named after it. */
export function describeStorages(name: string, body: (kind: StorageKindUnderTest) => void): void {
  for (const kind of STORAGE_KINDS) describe(`${name} [${kind}]`, () => body(kind));
}

export interface RunningServer {
  url: string;
  server: IngestServer;
  app: AppCredentials;
  spec: StorageSpec;
  /** Adds another app to the same storage. */
  addApp(name?: string, orgId?: string): Promise<AppCredentials>;
  revoke(appId: string): Promise<void>;
}

const running: IngestServer[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close({ graceMs: 1_000 });
});

/** A listening server with one app; closed after the test. */
export async function startServer(kind: StorageKindUnderTest, options: Omit<IngestServerOptions, 'storage'> & { spec?: StorageSpec } = {}): Promise<RunningServer> {
  const spec = options.spec ?? storageSpec(kind);
  const registry = await openAppRegistry(spec);
  try {
    const { credentials } = await registry.addApp('test-app');
    const server = createIngestServer({ rateLimit: false, log: () => undefined, ...options, storage: spec });
    running.push(server);
    const url = await server.listen(0, '127.0.0.1');
    return {
      url,
      server,
      app: credentials,
      spec,
      addApp: async (name = 'other-app', orgId?: string) => {
        const again = await openAppRegistry(spec);
        try {
          return (await again.addApp(name, orgId === undefined ? {} : { orgId })).credentials;
        } finally {
          await again.close();
        }
      },
      revoke: async (appId: string) => {
        const again = await openAppRegistry(spec);
        try {
          await again.revokeApp(appId);
        } finally {
          await again.close();
        }
      },
    };
  } finally {
    await registry.close();
  }
}

export interface EventOptions {
  type?: string;
  command?: string;
  success?: boolean;
  durationMs?: number;
  version?: string;
  os?: string;
}

/** A schema-v1 event with a fresh event_id. */
export function validEvent(options: EventOptions = {}): Record<string, unknown> {
  const type = options.type ?? 'command_execution';
  const data: Record<string, unknown> =
    type === 'command_execution'
      ? {
          command: options.command ?? 'deploy',
          ...(options.success === undefined ? { success: true } : { success: options.success }),
          ...(options.durationMs === undefined ? {} : { duration_ms: options.durationMs }),
        }
      : type === 'feature_used'
        ? { feature: 'cache' }
        : { note: 'custom' };
  return {
    schema_version: '1.0.0',
    event_id: randomUUID(),
    timestamp: '2026-01-02T03:04:05.678Z',
    service: { name: 'my-cli', version: options.version ?? '1.4.2', language: 'javascript', language_version: '20.20.2' },
    user_id: `client_${'a'.repeat(64)}`,
    session_id: `sess_${'b'.repeat(32)}`,
    environment: { os: options.os ?? 'linux', os_version: '6.1.0', arch: 'x64', ci: false, ci_name: null, shell: 'bash' },
    event: { type, category: type === 'command_execution' ? 'usage' : type === 'feature_used' ? 'library' : 'custom', data },
    metadata: { sdk_version: 'telemetry-kit-node/0.1.0', backend: 'js' },
  };
}

export function sign(secret: string, timestamp: string, nonce: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}:${nonce}:`).update(body).digest('hex');
}

export interface IngestRequest {
  events?: unknown[];
  /** The exact body (then `events` is ignored). */
  body?: string | Buffer;
  timestamp?: string;
  nonce?: string;
  /** Sign with this secret instead of the app's. */
  secret?: string;
  token?: string;
  /** Post to this org/app instead of the app's own. */
  orgId?: string;
  appId?: string;
  batchSize?: string;
  /** Header names (lower case) to leave out. */
  omit?: string[];
  headers?: Record<string, string>;
  gzip?: boolean;
  /** Changes the body after it was signed. */
  tamper?: (body: Buffer) => Buffer;
  signature?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  text: string;
}

/** Header set and body of a signed ingest request, before any change a test asks for. */
export function signedRequest(app: AppCredentials, options: IngestRequest = {}): { path: string; headers: Record<string, string>; payload: Buffer } {
  const events = options.events ?? [validEvent()];
  const bodyText = options.body ?? JSON.stringify({ events });
  const body = Buffer.isBuffer(bodyText) ? bodyText : Buffer.from(bodyText, 'utf8');
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomUUID();
  const signature = options.signature ?? sign(options.secret ?? app.secret, timestamp, nonce, body);
  let payload = options.tamper ? options.tamper(body) : body;
  if (options.gzip) payload = gzipSync(payload);
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token ?? app.token}`,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': signature,
    'x-batch-size': options.batchSize ?? String(options.events?.length ?? (options.body === undefined ? events.length : 1)),
    'x-schema-version': '1.0.0',
    'x-sdk-version': 'telemetry-kit-node/0.1.0 (js)',
    'content-type': 'application/json',
    'content-length': String(payload.length),
    ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
    ...options.headers,
  };
  for (const name of options.omit ?? []) delete headers[name];
  const path = `/v1/ingest/${encodeURIComponent(options.orgId ?? app.orgId)}/${encodeURIComponent(options.appId ?? app.appId)}`;
  return { path, headers, payload };
}

/** Sends one HTTP request and reads the whole answer (bounded by a timeout). */
export function send(url: string, method: string, path: string, headers: Record<string, string>, payload?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        try {
          body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          body = { unparseable: text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function ingest(server: RunningServer, options: IngestRequest = {}): Promise<Answer> {
  const { path, headers, payload } = signedRequest(server.app, options);
  return send(server.url, 'POST', path, headers, payload);
}

/** The `{"error":{"code"}}` of an answer. */
export function errorCode(answer: Answer): string | undefined {
  const error = answer.body['error'] as { code?: string } | undefined;
  return error?.code;
}

export async function getJson(server: RunningServer, path: string, token: string = server.app.token): Promise<Answer> {
  return send(server.url, 'GET', path, token === '' ? {} : { authorization: `Bearer ${token}` });
}
