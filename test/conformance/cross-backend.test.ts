import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '@telemetry-kit/node';
import { nativeBuilt } from '../helpers/backend.js';
import { HELPERS_DIR, runNode, tempDir } from '../helpers/env.js';

const CHILD = join(HELPERS_DIR, 'track-child.mjs');

interface Dump {
  backend: string;
  events: StoredEvent[];
}

describe.runIf(nativeBuilt())('one data dir, both backends', () => {
  it('1,000 events from js and 1,000 from native (alternating processes) are stored and read back identically', async () => {
    const dir = tempDir();
    for (let round = 0; round < 4; round += 1) {
      for (const backend of ['js', 'native'] as const) {
        const result = await runNode(CHILD, ['many', dir, '250', `${backend}-${round}`], { env: { TELEMETRY_KIT_BACKEND: backend } });
        expect(result.stdout.trim()).toBe('stored 250');
      }
    }
    const dumps: Dump[] = [];
    for (const backend of ['js', 'native', 'js'] as const) {
      const result = await runNode(CHILD, ['dump', dir], { env: { TELEMETRY_KIT_BACKEND: backend } });
      dumps.push(JSON.parse(result.stdout) as Dump);
    }
    const [js, native, jsAgain] = dumps as [Dump, Dump, Dump];
    expect([js.backend, native.backend]).toEqual(['js', 'native']);
    expect(js.events).toHaveLength(2_000);
    expect(new Set(js.events.map((s) => s.event.event_id)).size).toBe(2_000);
    const byBackend = (events: StoredEvent[], name: string): number => events.filter((s) => s.event.metadata.backend === name).length;
    expect([byBackend(js.events, 'js'), byBackend(js.events, 'native')]).toEqual([1_000, 1_000]);
    expect(native.events).toEqual(js.events);
    expect(jsAgain.events).toEqual(js.events);
  });
});
