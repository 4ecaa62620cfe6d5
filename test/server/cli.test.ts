/** `telemetry-kit serve` and `telemetry-kit apps`, run as a user would (the built CLI, child processes). */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode, tempDir, type ChildResult } from '../helpers/env.js';
import { PG_REQUIRED, PG_URL, errorCode, send, signedRequest, validEvent } from './helpers.js';

const BIN = fileURLToPath(new URL('../../packages/node/bin/telemetry-kit.js', import.meta.url));

interface Credentials {
  orgId: string;
  appId: string;
  token: string;
  secret: string;
}

async function addApp(storage: string[], name = 'my-cli'): Promise<Credentials> {
  const result = await runNode(BIN, ['apps', 'add', name, ...storage, '--json']);
  expect(result.code).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Credentials;
}

interface Serving {
  url: string;
  stop: (signal: NodeJS.Signals) => Promise<ChildResult>;
}

/** Starts `serve --port 0`, resolves once it printed its URL. */
function serve(storage: string[], extra: string[] = []): Promise<Serving> {
  return new Promise((resolve, reject) => {
    let killer: ((signal: NodeJS.Signals) => void) | null = null;
    let seen = '';
    let started = false;
    const finished = runNode(BIN, ['serve', '--port', '0', ...storage, ...extra], {
      timeoutMs: 30_000,
      onStdout: (chunk, kill) => {
        killer = kill;
        seen += chunk;
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m.exec(seen);
        if (match?.[1] !== undefined && !started) {
          started = true;
          resolve({
            url: match[1],
            stop: async (signal) => {
              killer?.(signal);
              return finished;
            },
          });
        }
      },
    });
    finished.then((result) => {
      if (!started) reject(new Error(`serve exited before listening: ${result.code} ${result.stderr}`));
    }, reject);
  });
}

async function ingestEvents(url: string, app: Credentials, events: Array<Record<string, unknown>>): Promise<number> {
  const request = signedRequest(app, { events });
  return (await send(url, 'POST', request.path, request.headers, request.payload)).status;
}

async function storedIds(url: string, app: Credentials): Promise<string[]> {
  const answer = await send(url, 'GET', `/v1/apps/${app.appId}/events?limit=1000`, { authorization: `Bearer ${app.token}` });
  return (answer.body['events'] as Array<{ event_id: string }>).map((event) => event.event_id).sort();
}

describe('telemetry-kit apps', () => {
  it('apps add --json prints exactly one JSON object {orgId, appId, token, secret}', async () => {
    const dir = tempDir();
    const result = await runNode(BIN, ['apps', 'add', 'my-cli', '--data', dir, '--json']);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['orgId', 'appId', 'token', 'secret']);
    for (const value of Object.values(parsed)) expect(value).toEqual(expect.stringMatching(/^\S{8,}$/));
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('apps add without --json shows the credentials once; apps list never shows them', async () => {
    const dir = tempDir();
    const added = await runNode(BIN, ['apps', 'add', 'shown-once', '--data', dir]);
    expect(added.code).toBe(0);
    const secret = /secret: +(\S+)/.exec(added.stdout)?.[1];
    const token = /token: +(\S+)/.exec(added.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(added.stdout).toContain('shown only now');
    const list = await runNode(BIN, ['apps', 'list', '--data', dir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('shown-once');
    expect(list.stdout).toContain('active');
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).not.toContain(token);
    const json = JSON.parse((await runNode(BIN, ['apps', 'list', '--data', dir, '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(1);
    expect(Object.keys(json[0] ?? {}).sort()).toEqual(['appId', 'createdAt', 'name', 'orgId', 'revokedAt']);
  });

  it('apps revoke marks the app revoked; an unknown app id fails with exit code 2', async () => {
    const dir = tempDir();
    const app = await addApp(['--data', dir]);
    const revoked = await runNode(BIN, ['apps', 'revoke', app.appId, '--data', dir]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${app.appId}`);
    const list = JSON.parse((await runNode(BIN, ['apps', 'list', '--data', dir, '--json'])).stdout) as Array<{ revokedAt: string | null }>;
    expect(list[0]?.revokedAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
    const unknown = await runNode(BIN, ['apps', 'revoke', 'app_nope', '--data', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no app "app_nope"');
  });

  it('--data and --database cannot be combined', async () => {
    const result = await runNode(BIN, ['apps', 'list', '--data', tempDir(), '--database', 'postgres://x@127.0.0.1/db']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/cannot be used with/);
  });
});

describe('telemetry-kit serve', () => {
  it('prints "listening on http://HOST:PORT" with --port 0, serves, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const app = await addApp(['--data', dir]);
    const server = await serve(['--data', dir]);
    const health = await send(server.url, 'GET', '/health', {});
    expect(health.body).toMatchObject({ status: 'ok', storage: 'embedded' });
    const events = [validEvent(), validEvent()];
    expect(await ingestEvents(server.url, app, events)).toBe(200);
    const exit = await server.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain('SIGTERM, shutting down');

    // The data is still there for the next server.
    const again = await serve(['--data', dir]);
    expect(await storedIds(again.url, app)).toEqual(events.map((e) => e['event_id'] as string).sort());
    expect((await again.stop('SIGINT')).code).toBe(0);
  });

  it('an app added while the server runs can ingest at once; a revoked one is refused at once', async () => {
    const dir = tempDir();
    const first = await addApp(['--data', dir]);
    const server = await serve(['--data', dir]);
    try {
      const later = await addApp(['--data', dir], 'later');
      expect(await ingestEvents(server.url, later, [validEvent()])).toBe(200);
      expect((await runNode(BIN, ['apps', 'revoke', first.appId, '--data', dir])).code).toBe(0);
      const request = signedRequest(first, { events: [validEvent()] });
      const refused = await send(server.url, 'POST', request.path, request.headers, request.payload);
      expect(refused.status).toBe(401);
      expect(errorCode(refused)).toBe('unauthorized');
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('events acknowledged before a kill -9 are there after a restart', async () => {
    const dir = tempDir();
    const app = await addApp(['--data', dir]);
    const server = await serve(['--data', dir]);
    const events = Array.from({ length: 50 }, () => validEvent());
    expect(await ingestEvents(server.url, app, events.slice(0, 25))).toBe(200);
    expect(await ingestEvents(server.url, app, events.slice(25))).toBe(200);
    const killed = await server.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const again = await serve(['--data', dir]);
    try {
      expect(await storedIds(again.url, app)).toEqual(events.map((e) => e['event_id'] as string).sort());
    } finally {
      await again.stop('SIGTERM');
    }
  });

  it('a second server on the same data dir fails with exit code 2', async () => {
    const dir = tempDir();
    const server = await serve(['--data', dir]);
    try {
      const second = await runNode(BIN, ['serve', '--port', '0', '--data', dir], { timeoutMs: 20_000 });
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('in use by another telemetry-kit server');
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('a port already in use fails with exit code 2 and says so', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runNode(BIN, ['serve', '--port', String(port), '--data', tempDir()], { timeoutMs: 20_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});

describe.skipIf(PG_URL === undefined && !PG_REQUIRED)('telemetry-kit serve --database', () => {
  it('apps add and serve work on PostgreSQL', async () => {
    if (PG_URL === undefined) throw new Error('TELEMETRY_KIT_TEST_PG_URL is not set: CI=true requires the PostgreSQL server tests');
    const schema = `tk_cli_${randomBytes(4).toString('hex')}`;
    const storage = ['--database', PG_URL, '--schema', schema];
    try {
      const app = await addApp(storage);
      const server = await serve(storage);
      try {
        expect((await send(server.url, 'GET', '/health', {})).body).toMatchObject({ status: 'ok', storage: 'postgres' });
        const event = validEvent();
        expect(await ingestEvents(server.url, app, [event])).toBe(200);
        expect(await storedIds(server.url, app)).toEqual([event['event_id']]);
      } finally {
        expect((await server.stop('SIGTERM')).code).toBe(0);
      }
    } finally {
      const pg = await import('pg');
      const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => pool.end());
    }
  });
});
