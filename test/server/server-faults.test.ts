/** What the server answers when its storage fails: 500 for an ingest (nothing acknowledged), 503 from /health. */
import { expect, it } from 'vitest';
import { createIngestServer, openIngestStorage, type IngestServer, type IngestStorage } from '../../packages/node/src/server/index.js';
import { describeStorages, errorCode, ingest, send, storageSpec, validEvent, type RunningServer } from './helpers.js';

/** A real storage whose writes (or pings) fail on demand. */
async function faultyServer(kind: Parameters<typeof storageSpec>[0], fail: { store?: boolean; ping?: boolean }): Promise<RunningServer & { close: () => Promise<void> }> {
  const real = await openIngestStorage(storageSpec(kind));
  const { credentials } = await real.apps.addApp('faulty');
  const storage: IngestStorage = {
    kind: real.kind,
    apps: real.apps,
    claimNonce: (...args) => real.claimNonce(...args),
    storeBatch: async (batch) => {
      if (fail.store) throw new Error('disk full');
      return real.storeBatch(batch);
    },
    listEvents: (...args) => real.listEvents(...args),
    summary: (appId) => real.summary(appId),
    ping: async () => {
      if (fail.ping) throw new Error('database unreachable');
    },
    close: () => real.close(),
  };
  const logs: string[] = [];
  const server: IngestServer = createIngestServer({ storage, rateLimit: false, log: (line) => logs.push(line) });
  const url = await server.listen(0, '127.0.0.1');
  return {
    url,
    server,
    app: credentials,
    spec: { dataDir: '' },
    addApp: async () => credentials,
    revoke: async () => undefined,
    close: async () => {
      await server.close();
      await real.close();
      expect(logs.join('\n')).toMatch(fail.store ? /disk full/ : /^$/);
    },
  };
}

describeStorages('storage faults', (kind) => {
  it('a failed write answers 500 internal, and the events can be sent again later', async () => {
    const server = await faultyServer(kind, { store: true });
    try {
      const answer = await ingest(server, { events: [validEvent()] });
      expect(answer.status).toBe(500);
      expect(errorCode(answer)).toBe('internal');
      expect(JSON.stringify(answer.body)).not.toContain('disk full');
    } finally {
      await server.close();
    }
  });

  it('/health answers 503 unavailable when the storage cannot be reached', async () => {
    const server = await faultyServer(kind, { ping: true });
    try {
      const answer = await send(server.url, 'GET', '/health', {});
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: 'unavailable', storage: kind, error: { code: 'unavailable', message: 'database unreachable' } });
    } finally {
      await server.close();
    }
  });
});
