/**
 * Telemetry never holds the host program open: a CLI whose automatic sync request is still in
 * flight (the server never answers) exits as soon as its own work is done, and the unsent events
 * stay pending for the next run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HELPERS_DIR, runNode, tempDir } from '../helpers/env.js';
import { startIngestStub, type IngestStub } from '../helpers/ingest-stub.js';
import { buildKit } from './kit.js';

let stub: IngestStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

describe('process exit with auto-sync', () => {
  it('exits promptly while a sync request hangs, and keeps the events', async () => {
    stub = await startIngestStub('conformance-secret');
    stub.handler = () => ({ status: 200, hangUp: false, delayMs: 60_000, body: {} });
    const dir = tempDir();
    let lastLineAt = 0;
    const result = await runNode(`${HELPERS_DIR}sync-child.mjs`, [dir, stub.url, '20', '1500'], {
      timeoutMs: 20_000,
      onStdout: (chunk) => {
        if (chunk.includes('last-line')) lastLineAt = Date.now();
      },
    });
    const exitedAt = Date.now();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^last-line \d+ (js|native)\n$/);
    // The automatic pass had started: its request reached the server and was left hanging.
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.eventIds).toHaveLength(20);
    // Not held by the hanging request (it would hold the process for 60 s).
    expect(exitedAt - lastLineAt).toBeLessThan(5_000);
    const kit = buildKit(dir, (b) => b.autoSync(false));
    try {
      expect((await kit.stats()).pending).toBe(20);
    } finally {
      await kit.shutdown();
    }
  });
});
