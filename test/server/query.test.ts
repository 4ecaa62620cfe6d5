/** Reading back: events, summary, health, and the answers to unknown paths and methods. */
import { expect, it } from 'vitest';
import { SDK_VERSION } from '../../packages/core/src/version.js';
import { describeStorages, errorCode, getJson, ingest, send, startServer, validEvent } from './helpers.js';

describeStorages('query endpoints', (kind) => {
  it('GET /health answers 200 with the storage kind and version', async () => {
    const server = await startServer(kind);
    const answer = await send(server.url, 'GET', '/health', {});
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok', storage: kind, version: SDK_VERSION });
  });

  it('GET /v1/apps/{appId}/events returns the stored events, newest first, with limit and type filters', async () => {
    const server = await startServer(kind);
    const first = validEvent({ command: 'first' });
    const feature = validEvent({ type: 'feature_used' });
    const last = validEvent({ command: 'last' });
    expect((await ingest(server, { events: [first] })).status).toBe(200);
    expect((await ingest(server, { events: [feature] })).status).toBe(200);
    expect((await ingest(server, { events: [last] })).status).toBe(200);

    const all = await getJson(server, `/v1/apps/${server.app.appId}/events`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ app_id: server.app.appId, count: 3, events: [last, feature, first] });
    const limited = await getJson(server, `/v1/apps/${server.app.appId}/events?limit=2`);
    expect(limited.body['events']).toEqual([last, feature]);
    const commands = await getJson(server, `/v1/apps/${server.app.appId}/events?type=command_execution`);
    expect(commands.body['events']).toEqual([last, first]);
  });

  it('events of one app are not visible to another', async () => {
    const server = await startServer(kind);
    const other = await server.addApp('other');
    expect((await ingest(server, { events: [validEvent()] })).status).toBe(200);
    const mine = await getJson(server, `/v1/apps/${other.appId}/events`, other.token);
    expect(mine.body).toEqual({ app_id: other.appId, count: 0, events: [] });
  });

  it.each(['0', '1001', 'ten', '-1', '1.5'])('limit=%s is refused with 400 malformed', async (limit) => {
    const server = await startServer(kind);
    const answer = await getJson(server, `/v1/apps/${server.app.appId}/events?limit=${limit}`);
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it('the query endpoints need the app own token: none or unknown → 401, revoked → 401, another app → 403', async () => {
    const server = await startServer(kind);
    const other = await server.addApp('other');
    for (const path of [`/v1/apps/${server.app.appId}/events`, `/v1/apps/${server.app.appId}/summary`]) {
      const none = await getJson(server, path, '');
      expect(none.status).toBe(401);
      expect(errorCode(none)).toBe('unauthorized');
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expect((await getJson(server, path, 'tk_unknown')).status).toBe(401);
      const foreign = await getJson(server, path, other.token);
      expect(foreign.status).toBe(403);
      expect(errorCode(foreign)).toBe('forbidden');
    }
    await server.revoke(server.app.appId);
    const revoked = await getJson(server, `/v1/apps/${server.app.appId}/events`);
    expect(revoked.status).toBe(401);
  });

  it('GET /v1/apps/{appId}/summary counts by type, command, version and OS, with success rate and duration percentiles', async () => {
    const server = await startServer(kind);
    const events = [
      validEvent({ command: 'deploy', success: true, durationMs: 100 }),
      validEvent({ command: 'deploy', success: false, durationMs: 200 }),
      validEvent({ command: 'build', success: true, durationMs: 300, version: '2.0.0', os: 'darwin' }),
      validEvent({ type: 'feature_used', os: 'win32' }),
      validEvent({ type: 'custom_thing', version: '2.0.0' }),
    ];
    expect((await ingest(server, { events })).status).toBe(200);
    const answer = await getJson(server, `/v1/apps/${server.app.appId}/summary`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      app_id: server.app.appId,
      total_events: 5,
      first_event_at: '2026-01-02T03:04:05.678Z',
      last_event_at: '2026-01-02T03:04:05.678Z',
      by_type: { command_execution: 3, custom_thing: 1, feature_used: 1 },
      by_command: { deploy: 2, build: 1 },
      by_service_version: { '1.4.2': 3, '2.0.0': 2 },
      by_os: { linux: 3, darwin: 1, win32: 1 },
      commands: { total: 3, succeeded: 2, failed: 1, success_rate: 2 / 3 },
      duration_ms: { count: 3, p50: 200, p90: 300, p99: 300 },
    });
  });

  it('duration percentiles are nearest-rank: 1..100 ms gives p50 50, p90 90, p99 99', async () => {
    const server = await startServer(kind);
    const events = Array.from({ length: 100 }, (_, i) => validEvent({ durationMs: 100 - i }));
    expect((await ingest(server, { events })).status).toBe(200);
    const answer = await getJson(server, `/v1/apps/${server.app.appId}/summary`);
    expect(answer.body['duration_ms']).toEqual({ count: 100, p50: 50, p90: 90, p99: 99 });
  });

  it('the summary of an app without events has zero counts and null figures', async () => {
    const server = await startServer(kind);
    const answer = await getJson(server, `/v1/apps/${server.app.appId}/summary`);
    expect(answer.body).toMatchObject({
      total_events: 0,
      first_event_at: null,
      commands: { total: 0, success_rate: null },
      duration_ms: { count: 0, p50: null, p90: null, p99: null },
    });
  });

  it('an unknown path is 404 not_found with a JSON error', async () => {
    const server = await startServer(kind);
    const answer = await send(server.url, 'GET', '/nope', {});
    expect(answer.status).toBe(404);
    expect(errorCode(answer)).toBe('not_found');
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it('a known path with the wrong method is 405 method_not_allowed with Allow', async () => {
    const server = await startServer(kind);
    const ingestGet = await send(server.url, 'GET', `/v1/ingest/${server.app.orgId}/${server.app.appId}`, {});
    expect(ingestGet.status).toBe(405);
    expect(errorCode(ingestGet)).toBe('method_not_allowed');
    expect(ingestGet.headers['allow']).toBe('POST');
    const healthPost = await send(server.url, 'POST', '/health', {}, Buffer.from('{}'));
    expect(healthPost.status).toBe(405);
    expect(healthPost.headers['allow']).toBe('GET');
  });
});
