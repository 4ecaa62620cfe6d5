/**
 * The sync client of DESIGN.md §7 on the backend under test, against a scripted endpoint on
 * loopback that checks every signature independently.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { setEnv, tempDir } from '../helpers/env.js';
import { startIngestStub, type IngestStub, type StubRequest } from '../helpers/ingest-stub.js';
import { useKits, type Configure } from './kit.js';

const open = useKits();
const SECRET = 'conformance-secret';
const stubs: IngestStub[] = [];

afterEach(async () => {
  for (const stub of stubs.splice(0)) await stub.close();
});

async function stub(): Promise<IngestStub> {
  const s = await startIngestStub(SECRET);
  stubs.push(s);
  return s;
}

function credentials(endpoint: string): Configure {
  return (b) => b.withSyncCredentials({ endpoint, orgId: 'org-1', appId: 'app-1', token: 'token-1', secret: SECRET }).autoSync(false);
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function trackN(kit: ReturnType<typeof open>, n: number, data: (i: number) => Record<string, unknown> = (i) => ({ i })): Promise<string[]> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => kit.track('sync_test', data(i))));
  return results.map((r) => {
    expect(r.status).toBe('stored');
    return r.eventId as string;
  });
}

function allSent(requests: readonly StubRequest[]): string[] {
  return requests.flatMap((r) => r.eventIds);
}

describe('sync: requests', () => {
  it('sends signed batches of batchSize with every protocol header, and marks events synced', async () => {
    const server = await stub();
    const kit = open(tempDir(), (b) => credentials(server.url)(b).batchSize(4));
    const ids = await trackN(kit, 10);
    const result = await kit.sync();
    expect(result).toEqual({ accepted: 10, rejected: 0, duplicates: 0, remaining: 0, error: null });
    expect(server.requests.map((r) => r.eventIds.length)).toEqual([4, 4, 2]);
    expect(new Set(allSent(server.requests))).toEqual(new Set(ids));
    const nonces = new Set<string>();
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/v1/ingest/org-1/app-1');
      expect(request.signatureValid).toBe(true);
      expect(request.headers.authorization).toBe('Bearer token-1');
      expect(request.headers['x-batch-size']).toBe(String(request.eventIds.length));
      expect(request.headers['x-schema-version']).toBe('1.0.0');
      expect(request.headers['x-sdk-version']).toBe(`telemetry-kit-node/0.1.0 (${kit.backend})`);
      expect(request.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(request.headers['x-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(request.headers['x-nonce']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      nonces.add(String(request.headers['x-nonce']));
      expect(request.compressed).toBe(false);
    }
    expect(nonces.size).toBe(3);
    // The body carries the stored events verbatim.
    const stored = await kit.events({ limit: 100 });
    const sentBodies = server.requests.flatMap((r) => (JSON.parse(r.body) as { events: unknown[] }).events);
    expect(sentBodies).toEqual(stored.map((s) => s.event));
    expect(stored.every((s) => s.state === 'synced')).toBe(true);
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 0, synced: 10, lastError: null });
    expect(Date.parse(stats.lastSync ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // Nothing left: a second sync sends nothing.
    expect(await kit.sync()).toMatchObject({ accepted: 0, remaining: 0, error: null });
    expect(server.requests).toHaveLength(3);
  });

  it('gzips bodies when asked; the signature covers the uncompressed body', async () => {
    const server = await stub();
    const kit = open(tempDir(), (b) => credentials(server.url)(b).syncGzip(true));
    await trackN(kit, 3);
    expect(await kit.sync()).toMatchObject({ accepted: 3, error: null });
    expect(server.requests[0]).toMatchObject({ compressed: true, signatureValid: true });
    expect(server.requests[0]?.headers['content-encoding']).toBe('gzip');
  });

  it('sync() without credentials throws INVALID_CONFIG', async () => {
    const kit = open(tempDir());
    await expect(kit.sync()).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('maxBatches bounds one call, for progress over large backlogs', async () => {
    const server = await stub();
    const kit = open(tempDir(), (b) => credentials(server.url)(b).batchSize(2));
    await trackN(kit, 7);
    expect(await kit.sync({ maxBatches: 2 })).toMatchObject({ accepted: 4, remaining: 3 });
    expect(await kit.sync({ maxBatches: 2 })).toMatchObject({ accepted: 3, remaining: 0 });
  });
});

describe('sync: faults', () => {
  it('server down: events kept with a NETWORK error, then delivered once it is back, stored exactly once', async () => {
    const port = await closedPort();
    const dir = tempDir();
    const down = open(dir, credentials(`http://127.0.0.1:${port}`));
    const ids = await trackN(down, 5);
    const failed = await down.sync();
    expect(failed).toMatchObject({ accepted: 0, remaining: 5, error: { code: 'NETWORK' } });
    const stats = await down.stats();
    expect(stats.pending).toBe(5);
    expect(stats.lastError).toMatchObject({ code: 'NETWORK' });
    await down.shutdown();

    const server = await stub();
    const up = open(dir, credentials(server.url));
    expect(await up.sync()).toMatchObject({ accepted: 5, remaining: 0, error: null });
    expect([...server.stored].sort()).toEqual([...ids].sort());
    expect((await up.stats()).lastError).toBeNull();
  });

  it('500 then 200: the events stay pending after the 500 and are stored once', async () => {
    const server = await stub();
    server.script.push({ status: 500, body: { error: { code: 'internal', message: 'boom' } } });
    const kit = open(tempDir(), credentials(server.url));
    await trackN(kit, 4);
    expect(await kit.sync()).toMatchObject({ remaining: 4, error: { code: 'SERVER', status: 500 } });
    expect(await kit.sync()).toMatchObject({ accepted: 4, remaining: 0, error: null });
    expect(server.stored.size).toBe(4);
    expect(server.requests).toHaveLength(2);
  });

  it('a timeout after the server stored the batch: the retry is answered as duplicates, stored once', async () => {
    const server = await stub();
    server.script.push({ status: 200, store: true, delayMs: 3_000, body: { status: 'success', accepted: 3, rejected: 0, duplicates: 0 } });
    const kit = open(tempDir(), (b) => credentials(server.url)(b).syncTimeout(300));
    await trackN(kit, 3);
    expect(await kit.sync()).toMatchObject({ remaining: 3, error: { code: 'NETWORK' } });
    expect(server.stored.size).toBe(3);
    expect(await kit.sync()).toMatchObject({ accepted: 0, duplicates: 3, remaining: 0, error: null });
    expect(server.stored.size).toBe(3);
    expect((await kit.stats()).synced).toBe(3);
  });

  it('429 with Retry-After: 2 → no request before 2 s, then delivered', async () => {
    const server = await stub();
    server.script.push({ status: 429, headers: { 'retry-after': '2' }, body: { error: { code: 'rate_limited', message: 'slow down' } } });
    const kit = open(tempDir(), credentials(server.url));
    await trackN(kit, 2);
    const limited = await kit.sync();
    expect(limited).toMatchObject({ remaining: 2, error: { code: 'RATE_LIMITED', status: 429, retryAfterMs: 2000 } });
    // Inside the window: answered locally, no request.
    expect(await kit.sync()).toMatchObject({ remaining: 2, error: { code: 'RATE_LIMITED' } });
    expect(server.requests).toHaveLength(1);
    const first = server.requests[0]?.receivedAt ?? 0;
    const until = Date.now() + 10_000;
    let result = await kit.sync();
    while (result.error !== null && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      result = await kit.sync();
    }
    expect(result).toMatchObject({ accepted: 2, error: null });
    expect(server.requests).toHaveLength(2);
    expect((server.requests[1]?.receivedAt ?? 0) - first).toBeGreaterThanOrEqual(1_900);
  });

  it('413: the batch is split until every event is delivered', async () => {
    const server = await stub();
    server.handler = (request) =>
      request.eventIds.length > 3 ? { status: 413, body: { error: { code: 'payload_too_large', message: 'too big' } } } : server.accept(request);
    const kit = open(tempDir(), (b) => credentials(server.url)(b).batchSize(10));
    const ids = await trackN(kit, 10);
    expect(await kit.sync()).toMatchObject({ accepted: 10, rejected: 0, remaining: 0, error: null });
    expect([...server.stored].sort()).toEqual([...ids].sort());
    expect(server.requests.map((r) => r.eventIds.length)).toEqual([10, 5, 3, 2, 5, 3, 2]);
  });

  it('413 for a single event dead-letters it and goes on', async () => {
    const server = await stub();
    server.handler = (request) =>
      request.body.includes('"huge":true') ? { status: 413, body: { error: { code: 'payload_too_large', message: 'too big' } } } : server.accept(request);
    const kit = open(tempDir(), credentials(server.url));
    await trackN(kit, 4, (i) => ({ i, huge: i === 2 }));
    expect(await kit.sync()).toMatchObject({ accepted: 3, rejected: 1, remaining: 0, error: null });
    const dead = await kit.events({ state: 'dead_letter' });
    expect(dead).toHaveLength(1);
    expect(dead[0]?.event.event.data).toMatchObject({ huge: true });
  });

  it('207: rejected events are dead-lettered and never resent, the others marked synced', async () => {
    const server = await stub();
    server.handler = (request) => {
      const events = (JSON.parse(request.body) as { events: Array<{ event_id: string; event: { data: { bad?: boolean } } }> }).events;
      const bad = events.filter((e) => e.event.data.bad === true);
      const good = events.filter((e) => e.event.data.bad !== true);
      for (const e of good) server.stored.add(e.event_id);
      return {
        status: 207,
        body: {
          status: 'partial',
          accepted: good.length,
          rejected: bad.length,
          duplicates: 0,
          errors: bad.map((e) => ({ event_id: e.event_id, code: 'schema', message: 'bad event' })),
        },
      };
    };
    const kit = open(tempDir(), credentials(server.url));
    await trackN(kit, 6, (i) => ({ i, bad: i % 3 === 0 }));
    expect(await kit.sync()).toMatchObject({ accepted: 4, rejected: 2, remaining: 0, error: null });
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 0, synced: 4, deadLettered: 2 });
    const dead = await kit.events({ state: 'dead_letter' });
    expect(dead.map((d) => d.event.event.data)).toEqual([{ i: 0, bad: true }, { i: 3, bad: true }]);
    await trackN(kit, 1);
    await kit.sync();
    expect(server.requests[1]?.eventIds).toHaveLength(1);
  });

  it.each([401, 403])('%i: auto-sync stops, events are kept and the error shows in stats()', async (status) => {
    const server = await stub();
    server.handler = () => ({ status, body: { error: { code: status === 401 ? 'bad_signature' : 'forbidden', message: 'no' } } });
    const kit = open(tempDir(), (b) => credentials(server.url)(b).autoSync(true).syncInterval(1_000));
    await trackN(kit, 3);
    await server.waitForRequests(1);
    const until = Date.now() + 5_000;
    let stats = await kit.stats();
    while (stats.autoSync !== 'stopped' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      stats = await kit.stats();
    }
    expect(stats).toMatchObject({ pending: 3, autoSync: 'stopped', lastError: { code: 'AUTH' } });
    await trackN(kit, 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(server.requests).toHaveLength(1);
    // An explicit sync still tries (the credentials may have been fixed server-side).
    expect(await kit.sync()).toMatchObject({ remaining: 4, error: { code: 'AUTH', status } });
  });

  it('DO_NOT_TRACK=1: nothing is sent, ever — not even events stored before', async () => {
    const server = await stub();
    const dir = tempDir();
    const before = open(dir, credentials(server.url));
    await trackN(before, 3);
    await before.shutdown();
    setEnv({ DO_NOT_TRACK: '1' });
    const kit = open(dir, (b) => credentials(server.url)(b).autoSync(true).syncInterval(1_000));
    expect((await kit.track('x')).status).toBe('disabled');
    expect(await kit.sync()).toMatchObject({ accepted: 0, remaining: 3, error: null });
    await new Promise((r) => setTimeout(r, 1_500));
    await kit.shutdown();
    expect(server.requests).toHaveLength(0);
  });
});

describe('sync: auto-sync and shutdown', () => {
  it('auto-sync delivers in the background', async () => {
    const server = await stub();
    const kit = open(tempDir(), (b) => credentials(server.url)(b).autoSync(true).syncInterval(1_000));
    const ids = await trackN(kit, 5);
    await server.waitForRequests(1);
    const until = Date.now() + 5_000;
    while ((await kit.stats()).synced < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect([...server.stored].sort()).toEqual([...ids].sort());
  });

  it('shutdown() runs a final sync', async () => {
    const server = await stub();
    const kit = open(tempDir(), (b) => credentials(server.url)(b).autoSync(true).syncInterval(60_000));
    const ids = await trackN(kit, 3);
    await kit.shutdown();
    expect([...server.stored].sort()).toEqual([...ids].sort());
  });

  it('the final sync is bounded by the shutdown timeout', async () => {
    const server = await stub();
    server.handler = (request) => ({ ...server.accept(request), delayMs: 2_000 });
    const kit = open(tempDir(), (b) => credentials(server.url)(b).autoSync(true).syncInterval(60_000));
    await trackN(kit, 2);
    const started = Date.now();
    await kit.shutdown({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(1_900);
    await server.waitForRequests(1);
    // The abandoned pass records the late answer; let it finish before the data dir is removed.
    while (server.stored.size < 2) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2_500));
  });

  it('a background pass and shutdown() overlapping never send an event twice', async () => {
    const server = await stub();
    server.handler = (request) => ({ ...server.accept(request), delayMs: 400 });
    const kit = open(tempDir(), (b) => credentials(server.url)(b).autoSync(true).syncInterval(1_000).batchSize(5));
    await trackN(kit, 12);
    await server.waitForRequests(1);
    await kit.shutdown({ timeoutMs: 10_000 });
    const sent = allSent(server.requests);
    expect(sent).toHaveLength(12);
    expect(new Set(sent).size).toBe(12);
  });
});
