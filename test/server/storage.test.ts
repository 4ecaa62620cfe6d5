/**
 * The storages behind the server, through their interface (the same cases on embedded and
 * PostgreSQL), then what is particular to each: the embedded journal and data dir ownership,
 * several PostgreSQL servers sharing one database.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventRow } from '../../packages/node/src/server/event-row.js';
import { openAppRegistry, openIngestStorage, type IngestBatch, type IngestStorage, type StorageSpec } from '../../packages/node/src/server/index.js';
import { openEmbeddedStorage } from '../../packages/node/src/server/storage/embedded-storage.js';
import { journalLine } from '../../packages/node/src/server/storage/ingest-journal.js';
import { PostgresStorage } from '../../packages/node/src/server/storage/postgres-storage.js';
import { PG_REQUIRED, PG_URL, describeStorages, errorCode, ingest, signedRequest, send, startServer, storageSpec, validEvent } from './helpers.js';

function batch(events: Array<Record<string, unknown>>, nonce = randomUUID(), now = Date.now()): IngestBatch {
  return {
    orgId: 'org_test',
    appId: 'app_test',
    nonce,
    nonceExpiresAt: now + 600_000,
    receivedAt: now,
    rows: events.map((event) => eventRow(event, 'org_test', 'app_test', now)),
  };
}

async function withStorage<T>(spec: StorageSpec, use: (storage: IngestStorage) => Promise<T>): Promise<T> {
  const storage = await openIngestStorage(spec);
  try {
    return await use(storage);
  } finally {
    await storage.close();
  }
}

describeStorages('storage interface', (kind) => {
  it('claimNonce: fresh → true, again within its expiry → false, after its expiry → true', async () => {
    await withStorage(storageSpec(kind), async (storage) => {
      const nonce = randomUUID();
      const now = 1_767_322_800_000;
      expect(await storage.claimNonce(nonce, now, now + 600_000)).toBe(true);
      expect(await storage.claimNonce(nonce, now + 599_999, now + 1_199_999)).toBe(false);
      expect(await storage.claimNonce(nonce, now + 600_000, now + 1_200_000)).toBe(true);
      expect(await storage.claimNonce(randomUUID(), now, now + 600_000)).toBe(true);
    });
  });

  it('storeBatch counts new rows and duplicates; rows survive a reopen, and so does dedupe', async () => {
    const spec = storageSpec(kind);
    const a = validEvent();
    const b = validEvent();
    await withStorage(spec, async (storage) => {
      expect(await storage.storeBatch(batch([a, b]))).toEqual({ accepted: 2, duplicates: 0 });
      expect(await storage.storeBatch(batch([a]))).toEqual({ accepted: 0, duplicates: 1 });
      expect(await storage.storeBatch(batch([]))).toEqual({ accepted: 0, duplicates: 0 });
    });
    await withStorage(spec, async (storage) => {
      expect(await storage.storeBatch(batch([b, validEvent()]))).toEqual({ accepted: 1, duplicates: 1 });
      expect(await storage.listEvents('app_test', { limit: 10 })).toHaveLength(3);
      expect(await storage.listEvents('other_app', { limit: 10 })).toEqual([]);
    });
  });

  it('a nonce of a stored batch is still refused after a reopen', async () => {
    const spec = storageSpec(kind);
    const nonce = randomUUID();
    const now = Date.now();
    await withStorage(spec, async (storage) => {
      expect(await storage.claimNonce(nonce, now, now + 600_000)).toBe(true);
      await storage.storeBatch(batch([validEvent()], nonce, now));
    });
    await withStorage(spec, async (storage) => {
      expect(await storage.claimNonce(nonce, now + 1_000, now + 601_000)).toBe(false);
    });
  });

  it('apps: one default org, list without secrets, revoke once, unknown app → null, lookup by token', async () => {
    const spec = storageSpec(kind);
    const registry = await openAppRegistry(spec);
    try {
      const first = await registry.addApp('first');
      const second = await registry.addApp('second');
      const elsewhere = await registry.addApp('third', { orgId: 'org_elsewhere' });
      expect(second.credentials.orgId).toBe(first.credentials.orgId);
      expect(elsewhere.credentials.orgId).toBe('org_elsewhere');
      expect(first.credentials.token).not.toBe(second.credentials.token);
      expect(first.credentials.secret).not.toBe(second.credentials.secret);

      const listed = await registry.listApps();
      expect(listed.map((app) => app.name)).toEqual(['first', 'second', 'third']);
      expect(JSON.stringify(listed)).not.toContain(first.credentials.secret);
      expect(JSON.stringify(listed)).not.toContain(first.credentials.token);

      const found = await registry.findByToken(first.credentials.token);
      expect(found).toMatchObject({ appId: first.credentials.appId, secret: first.credentials.secret, revokedAt: null });
      expect(await registry.findByToken('tk_nobody')).toBeNull();

      const revoked = await registry.revokeApp(first.credentials.appId);
      expect(revoked?.revokedAt).toEqual(expect.any(Number));
      const again = await registry.revokeApp(first.credentials.appId);
      expect(again?.revokedAt).toBe(revoked?.revokedAt);
      expect((await registry.findByToken(first.credentials.token))?.revokedAt).toBe(revoked?.revokedAt);
      expect(await registry.revokeApp('app_missing')).toBeNull();
    } finally {
      await registry.close();
    }
  });

  it('an app name must be 1-128 printable characters and an org id URL-safe', async () => {
    const registry = await openAppRegistry(storageSpec(kind));
    try {
      await expect(registry.addApp('')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(registry.addApp('x'.repeat(129))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(registry.addApp('ok', { orgId: 'has space' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    } finally {
      await registry.close();
    }
  });
});

describe('embedded storage', () => {
  it('keeps tokens only as SHA-256 hashes; apps.db is readable by its owner only', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    const registry = await openAppRegistry(spec);
    const { credentials } = await registry.addApp('hashed');
    await registry.close();
    const bytes = readFileSync(join(spec.dataDir, 'apps.db')).toString('latin1');
    expect(bytes).not.toContain(credentials.token);
    expect(bytes).toContain(credentials.secret);
    const { createHash } = await import('node:crypto');
    expect(bytes).toContain(createHash('sha256').update(credentials.token).digest('hex'));
    const { statSync } = await import('node:fs');
    expect(statSync(join(spec.dataDir, 'apps.db')).mode & 0o077).toBe(0);
  });

  it('refuses a second server on the same data dir', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    const storage = await openEmbeddedStorage(spec);
    try {
      await expect(openEmbeddedStorage(spec)).rejects.toThrow(/in use/);
    } finally {
      await storage.close();
    }
    // Released on close: a new server may take it.
    await (await openEmbeddedStorage(spec)).close();
  });

  it('takes over a data dir whose server.pid names a dead process', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    writeFileSync(join(spec.dataDir, 'server.pid'), '2147483646\n');
    await (await openEmbeddedStorage(spec)).close();
  });

  it('acknowledged batches are in the journal; consolidation moves them into ingest.db and empties the journal', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    const storage = await openEmbeddedStorage({ ...spec, consolidateMinBytes: 1 << 30 });
    try {
      await storage.storeBatch(batch([validEvent(), validEvent()]));
      const journal = join(spec.dataDir, 'journal');
      expect(readdirSync(journal).filter((name) => name.endsWith('.jsonl'))).toHaveLength(1);
      expect(existsSync(join(spec.dataDir, 'ingest.db'))).toBe(false);
      await storage.consolidate();
      expect(readdirSync(journal).filter((name) => name.endsWith('.jsonl'))).toEqual([]);
      expect(existsSync(join(spec.dataDir, 'ingest.db'))).toBe(true);
      await storage.storeBatch(batch([validEvent()]));
      expect(await storage.listEvents('app_test', { limit: 10 })).toHaveLength(3);
    } finally {
      await storage.close();
    }
    await withStorage(spec, async (storage) => expect(await storage.listEvents('app_test', { limit: 10 })).toHaveLength(3));
  });

  it('consolidates on its own once the journal outgrows the threshold', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    const storage = await openEmbeddedStorage({ ...spec, consolidateMinBytes: 1 });
    try {
      await storage.storeBatch(batch([validEvent()]));
      for (let i = 0; i < 100 && !existsSync(join(spec.dataDir, 'ingest.db')); i++) await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(join(spec.dataDir, 'ingest.db'))).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('replays a journal left by a crash, skipping a torn last line', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    const consolidated = validEvent();
    await withStorage(spec, async (storage) => {
      await storage.storeBatch(batch([consolidated]));
    });
    // What a server killed before consolidating leaves: complete lines, then a partial write.
    const journaled = validEvent();
    const journal = join(spec.dataDir, 'journal');
    const segment = join(journal, `1-${'0'.repeat(12)}0000deadbeef.jsonl`);
    // It also repeats the consolidated event, as a crash between writing ingest.db and deleting
    // the segments would leave it: the replay must not store it twice.
    writeFileSync(segment, journalLine(batch([consolidated])) + journalLine(batch([journaled])));
    appendFileSync(segment, '{"v":1,"org":"org_test","app":"app_test","nonce":"x","exp":1,"at":1,"events":[{"event_id":"torn');
    const logs: string[] = [];
    const reopened = await openEmbeddedStorage({ ...spec, log: (line) => logs.push(line) });
    try {
      const events = (await reopened.listEvents('app_test', { limit: 10 })) as Array<{ event_id: string }>;
      expect(events.map((e) => e.event_id)).toEqual([journaled['event_id'], consolidated['event_id']]);
      expect(logs.join('\n')).toContain('skipped 1 incomplete journal line');
      // Folded into ingest.db on start: the journal is empty again.
      expect(readdirSync(journal).filter((name) => name.endsWith('.jsonl'))).toEqual([]);
      expect(await reopened.storeBatch(batch([journaled]))).toEqual({ accepted: 0, duplicates: 1 });
    } finally {
      await reopened.close();
    }
  });

  it('refuses to start on an ingest.db that is not SQLite rather than start over', async () => {
    const spec = storageSpec('embedded') as { dataDir: string };
    writeFileSync(join(spec.dataDir, 'ingest.db'), 'not a database at all, certainly not SQLite');
    await expect(openEmbeddedStorage(spec)).rejects.toMatchObject({ code: 'STORAGE' });
    await (await openEmbeddedStorage(storageSpec('embedded') as { dataDir: string })).close();
  });
});

describe.skipIf(PG_URL === undefined && !PG_REQUIRED)('PostgreSQL storage', () => {
  it('several servers share one database: nonces, dedupe and reads hold across them', async () => {
    const spec = storageSpec('postgres');
    const a = await startServer('postgres', { spec });
    const b = await startServer('postgres', { spec });
    const event = validEvent();
    const request = signedRequest(a.app, { events: [event] });
    expect((await send(a.url, 'POST', request.path, request.headers, request.payload)).status).toBe(200);
    const replayed = await send(b.url, 'POST', request.path, request.headers, request.payload);
    expect(replayed.status).toBe(409);
    expect(errorCode(replayed)).toBe('nonce_replayed');
    const duplicate = await ingest({ ...b, app: a.app }, { events: [event] });
    expect(duplicate.body).toEqual({ status: 'success', accepted: 0, rejected: 0, duplicates: 1 });
    const read = await send(b.url, 'GET', `/v1/apps/${a.app.appId}/events`, { authorization: `Bearer ${a.app.token}` });
    expect(read.body['events']).toEqual([event]);
  });

  it('servers opening a new schema at the same time both succeed', async () => {
    const spec = storageSpec('postgres');
    const storages = await Promise.all([openIngestStorage(spec), openIngestStorage(spec), openIngestStorage(spec)]);
    for (const storage of storages) await storage.close();
  });

  it('stores only the SHA-256 of tokens, and cleans up expired nonces', async () => {
    const spec = storageSpec('postgres') as { databaseUrl: string; schema: string };
    const storage = (await openIngestStorage(spec)) as PostgresStorage;
    try {
      const { credentials } = await storage.apps.addApp('hashed');
      const pg = await import('pg');
      const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: 1 });
      try {
        const rows = await pool.query(`SELECT * FROM ${spec.schema}.apps`);
        expect(JSON.stringify(rows.rows)).not.toContain(credentials.token);
        const now = Date.now();
        expect(await storage.claimNonce(randomUUID(), now - 700_000, now - 100_000)).toBe(true);
        expect(await storage.claimNonce(randomUUID(), now, now + 600_000)).toBe(true);
        expect(await storage.deleteExpiredNonces()).toBe(1);
        expect((await pool.query(`SELECT COUNT(*)::int AS n FROM ${spec.schema}.nonces`)).rows[0]).toEqual({ n: 1 });
      } finally {
        await pool.end();
      }
    } finally {
      await storage.close();
    }
  });

  it('a database URL that cannot be reached fails to open with a STORAGE error that hides the password', async () => {
    const error = await openIngestStorage({ databaseUrl: 'postgres://user:hunter2@127.0.0.1:1/none', schema: 'tk_unreachable' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE' });
    expect(String((error as Error).message)).not.toContain('hunter2');
  });
});
