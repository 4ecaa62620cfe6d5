import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runNode, tempDir } from './helpers/env.js';
import { startIngestStub, type IngestStub } from './helpers/ingest-stub.js';

const BIN = fileURLToPath(new URL('../packages/node/bin/telemetry-kit.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/track-child.mjs', import.meta.url));
const SECRET = 'cli-secret';

let stub: IngestStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

describe('telemetry-kit sync', () => {
  it('sends the backlog with a progress line per ten batches, then status shows the last sync', async () => {
    stub = await startIngestStub(SECRET);
    const dir = tempDir();
    expect((await runNode(CHILD, ['many', dir, '250', 'cli'])).code).toBe(0);
    const env = { TELEMETRY_KIT_ENDPOINT: stub.url, TELEMETRY_KIT_ORG_ID: 'o', TELEMETRY_KIT_APP_ID: 'a', TELEMETRY_KIT_TOKEN: 't', TELEMETRY_KIT_SECRET: SECRET };
    const result = await runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, 'sync', '--batch-size', '20'], { env });
    expect(result, JSON.stringify(result)).toMatchObject({ code: 0 });
    expect(result.stderr).toContain('synced 200/250 (50 pending)');
    expect(result.stderr).toContain('synced 250/250 (0 pending)');
    expect(result.stdout).toContain('accepted 250, duplicates 0, rejected 0, pending 0');
    expect(stub.stored.size).toBe(250);
    expect(stub.requests.every((r) => r.signatureValid && r.eventIds.length <= 20)).toBe(true);
    const status = await runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, 'status']);
    expect(status.stdout).toMatch(/synced:\s+250/);
    expect(status.stdout).toMatch(/last sync:\s+\d{4}-\d\d-\d\dT/);
    expect(status.stdout).toMatch(/last error:\s+none/);
  });

  it('a server error exits 1, keeps the events and shows in status', async () => {
    stub = await startIngestStub(SECRET);
    stub.handler = () => ({ status: 503, body: { error: { code: 'internal', message: 'maintenance' } } });
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    const result = await runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, 'sync', '--json', '--endpoint', stub.url, '--org', 'o', '--app', 'a', '--token', 't', '--secret', SECRET]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ accepted: 0, remaining: 1, error: { code: 'SERVER', status: 503 } });
    const status = await runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, 'status']);
    expect(status.stdout).toMatch(/last error:\s+SERVER: HTTP 503 internal: maintenance/);
  });

  it('missing credentials: exit 2 naming the field', async () => {
    const dir = tempDir();
    const result = await runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, 'sync', '--endpoint', 'http://127.0.0.1:1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/sync\.orgId.*\[INVALID_CONFIG\]/);
  });
});
