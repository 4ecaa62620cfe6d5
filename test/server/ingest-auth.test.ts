/** Who may ingest: headers, token, org/app, timestamp, signature and nonce (DESIGN.md §7). */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeStorages, errorCode, ingest, send, signedRequest, startServer, validEvent } from './helpers.js';

describeStorages('ingest authentication', (kind) => {
  it('accepts a correctly signed batch and answers 200 with the counts', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { events: [validEvent(), validEvent()] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'success', accepted: 2, rejected: 0, duplicates: 0 });
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it.each(['authorization', 'x-timestamp', 'x-nonce', 'x-signature', 'x-batch-size', 'x-schema-version'])(
    'a request without %s is refused with 400 missing_header',
    async (header) => {
      const server = await startServer(kind);
      const answer = await ingest(server, { omit: [header] });
      expect(answer.status).toBe(400);
      expect(errorCode(answer)).toBe('missing_header');
      expect((answer.body['error'] as { message: string }).message.toLowerCase()).toContain(header);
    },
  );

  it('an Authorization header that is not "Bearer <token>" is refused with 401 unauthorized', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { headers: { authorization: `Basic ${server.app.token}` } });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('unauthorized');
  });

  it('an unknown token is refused with 401 unauthorized', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { token: 'tk_not-a-real-token' });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('unauthorized');
  });

  it('a revoked token is refused with 401 unauthorized', async () => {
    const server = await startServer(kind);
    expect((await ingest(server)).status).toBe(200);
    await server.revoke(server.app.appId);
    const answer = await ingest(server);
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('unauthorized');
  });

  it("a token used on another app's path is refused with 403 forbidden", async () => {
    const server = await startServer(kind);
    const other = await server.addApp('other-app');
    const otherApp = await ingest(server, { appId: other.appId, orgId: other.orgId });
    expect(otherApp.status).toBe(403);
    expect(errorCode(otherApp)).toBe('forbidden');
    const otherOrg = await ingest(server, { orgId: 'org_someone_else' });
    expect(otherOrg.status).toBe(403);
    expect(errorCode(otherOrg)).toBe('forbidden');
  });

  it('a signature made with another secret is refused with 401 bad_signature', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { secret: 'not-the-secret' });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('bad_signature');
  });

  it('a signature that is not 64 hex digits is refused with 401 bad_signature', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { signature: 'abc' });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('bad_signature');
  });

  it('a body changed after signing is refused with 401 bad_signature and nothing is stored', async () => {
    const server = await startServer(kind);
    const event = validEvent();
    const answer = await ingest(server, {
      events: [event],
      tamper: (body) => Buffer.from(body.toString('utf8').replace('"deploy"', '"destroy"'), 'utf8'),
    });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('bad_signature');
    const stored = await send(server.url, 'GET', `/v1/apps/${server.app.appId}/events`, { authorization: `Bearer ${server.app.token}` });
    expect(stored.body['events']).toEqual([]);
  });

  it('a signature over another timestamp is refused with 401 bad_signature', async () => {
    const server = await startServer(kind);
    const now = Math.floor(Date.now() / 1000);
    const { path, headers, payload } = signedRequest(server.app, { timestamp: String(now) });
    headers['x-timestamp'] = String(now - 1);
    const answer = await send(server.url, 'POST', path, headers, payload);
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('bad_signature');
  });

  it.each([
    ['301 s old', -301],
    ['301 s ahead', 301],
  ])('a timestamp %s is refused with 401 timestamp_skew', async (_label, offset) => {
    const now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now });
    const answer = await ingest(server, { timestamp: String(now / 1000 + offset) });
    expect(answer.status).toBe(401);
    expect(errorCode(answer)).toBe('timestamp_skew');
  });

  it.each([
    ['300 s old', -300],
    ['300 s ahead', 300],
  ])('a timestamp %s is still accepted', async (_label, offset) => {
    const now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now });
    expect((await ingest(server, { timestamp: String(now / 1000 + offset) })).status).toBe(200);
  });

  it('a timestamp that is not integer seconds is refused with 400 malformed', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { timestamp: '2026-01-02T03:00:00Z' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it('a replayed request (same nonce) is refused with 409 nonce_replayed and stores nothing twice', async () => {
    const server = await startServer(kind);
    const { path, headers, payload } = signedRequest(server.app, { events: [validEvent()] });
    expect((await send(server.url, 'POST', path, headers, payload)).status).toBe(200);
    const replay = await send(server.url, 'POST', path, headers, payload);
    expect(replay.status).toBe(409);
    expect(errorCode(replay)).toBe('nonce_replayed');
  });

  it('a nonce is remembered for the whole window: a replay 599 s later (re-signed, same nonce) is refused', async () => {
    let now = 1_767_322_800_000;
    const server = await startServer(kind, { clock: () => now });
    const nonce = randomUUID();
    expect((await ingest(server, { nonce, timestamp: String(now / 1000) })).status).toBe(200);
    now += 599_000;
    const replay = await ingest(server, { nonce, timestamp: String(now / 1000) });
    expect(replay.status).toBe(409);
    expect(errorCode(replay)).toBe('nonce_replayed');
  });

  it('a nonce that is not a UUID is refused with 400 malformed', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { nonce: 'once' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it('an unsupported X-Schema-Version is refused with 400 malformed', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { headers: { 'x-schema-version': '2.0.0' } });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });
});
