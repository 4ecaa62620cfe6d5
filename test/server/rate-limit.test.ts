/** Per-token rate limit: 429 with Retry-After in seconds, and forged requests do not use up the allowance. */
import { expect, it } from 'vitest';
import { describeStorages, errorCode, getJson, ingest, startServer } from './helpers.js';

describeStorages('rate limit', (kind) => {
  it('past the burst a token gets 429 rate_limited with Retry-After, and may send again once it has passed', async () => {
    let now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now, rateLimit: { requestsPerSecond: 0.5, burst: 2 } });
    const timestamp = () => String(Math.floor(now / 1000));
    expect((await ingest(server, { timestamp: timestamp() })).status).toBe(200);
    expect((await ingest(server, { timestamp: timestamp() })).status).toBe(200);
    const limited = await ingest(server, { timestamp: timestamp() });
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('rate_limited');
    expect(limited.headers['retry-after']).toBe('2');
    now += 1_000;
    expect((await ingest(server, { timestamp: timestamp() })).headers['retry-after']).toBe('1');
    now += 1_000;
    expect((await ingest(server, { timestamp: timestamp() })).status).toBe(200);
  });

  it('each token has its own bucket', async () => {
    const now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now, rateLimit: { requestsPerSecond: 1, burst: 1 } });
    const other = await server.addApp('other');
    const timestamp = String(now / 1000);
    expect((await ingest(server, { timestamp })).status).toBe(200);
    expect((await ingest(server, { timestamp })).status).toBe(429);
    const otherServer = { ...server, app: other };
    expect((await ingest(otherServer, { timestamp })).status).toBe(200);
  });

  it('requests with a bad signature do not use up the allowance', async () => {
    const now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now, rateLimit: { requestsPerSecond: 1, burst: 1 } });
    const timestamp = String(now / 1000);
    for (let i = 0; i < 3; i++) expect((await ingest(server, { timestamp, secret: 'forged' })).status).toBe(401);
    expect((await ingest(server, { timestamp })).status).toBe(200);
  });

  it('the query endpoints count against the same bucket', async () => {
    const now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now, rateLimit: { requestsPerSecond: 1, burst: 1 } });
    expect((await getJson(server, `/v1/apps/${server.app.appId}/summary`)).status).toBe(200);
    const limited = await getJson(server, `/v1/apps/${server.app.appId}/events`);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
  });
});
