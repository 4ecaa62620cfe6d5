import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TelemetryKit } from '@telemetry-kit/node';
import { HELPERS_DIR, runNode, tempDir } from '../helpers/env.js';
import { expectValidEvent } from '../helpers/schema.js';
import { useKits } from './kit.js';

const CHILD = join(HELPERS_DIR, 'track-child.mjs');
const openKit = useKits();
const open = (dir: string): TelemetryKit => openKit(dir, (b) => b.serviceName('child-cli'));

describe('process lifecycle', () => {
  it('kill -9 right after an awaited trackCommand loses nothing', async () => {
    const dir = tempDir();
    let acknowledged = '';
    const result = await runNode(CHILD, ['kill9', dir], {
      onStdout: (chunk, kill) => {
        const match = /ok (\S+)/.exec(chunk);
        if (match?.[1]) {
          acknowledged = match[1];
          kill('SIGKILL');
        }
      },
    });
    expect(result.signal).toBe('SIGKILL');
    const events = await open(dir).events();
    expect(events.map((s) => s.event.event_id)).toEqual([acknowledged]);
  });

  it('an unawaited trackCommand before process.exit() is written by the exit handler', async () => {
    const dir = tempDir();
    const result = await runNode(CHILD, ['exit', dir]);
    expect(result.code).toBe(0);
    const events = await open(dir).events();
    expect(events.map((s) => s.event.event.data.command)).toEqual(['exit-test']);
    expectValidEvent(events[0]?.event);
  });

  it('an unawaited trackCommand whose write is in flight at process.exit() is not lost', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const dir = tempDir();
      const result = await runNode(CHILD, ['exit-soon', dir]);
      expect(result.code).toBe(0);
      const events = await open(dir).events();
      expect(events.map((s) => s.event.event.data.command)).toEqual(['exit-soon-test']);
    }
  });

  it('two processes tracking 5,000 events each into one data dir store exactly 10,000', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([runNode(CHILD, ['many', dir, '5000', 'a']), runNode(CHILD, ['many', dir, '5000', 'b'])]);
    expect(a.stdout.trim()).toBe('stored 5000');
    expect(b.stdout.trim()).toBe('stored 5000');
    const kit = open(dir);
    const events = await kit.events({ limit: 20_000 });
    expect(events).toHaveLength(10_000);
    const keys = new Set(events.map((s) => `${String(s.event.event.data.tag)}:${String(s.event.event.data.i)}`));
    expect(keys.size).toBe(10_000);
    expect(new Set(events.map((s) => s.event.event_id)).size).toBe(10_000);
  });

  it('telemetry does not hold the process open', async () => {
    const dir = tempDir();
    const result = await runNode(CHILD, ['natural', dir], { timeoutMs: 20_000 });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('done');
  });

  it('TELEMETRY_KIT_DEBUG=1 prints each event as JSON to stderr', async () => {
    const dir = tempDir();
    const result = await runNode(CHILD, ['one', dir], { env: { TELEMETRY_KIT_DEBUG: '1' } });
    expect(result.code).toBe(0);
    const line = result.stderr.split('\n').find((l) => l.startsWith('{'));
    expect(line).toBeDefined();
    const event = JSON.parse(line ?? '{}') as { event: { data: Record<string, unknown> } };
    expectValidEvent(event);
    expect(event.event.data.path).toBe('~/x');
    expect(String(event.event.data.contact)).toMatch(/^<email:[0-9a-f]{8}>$/);
  });
});
