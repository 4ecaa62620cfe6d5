import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importNeutralBundle } from './helpers/neutral-bundle.js';

const ENTRY = fileURLToPath(new URL('../packages/core/src/index.ts', import.meta.url));

describe('runtime-agnostic core', () => {
  it('bundles for --platform=neutral without Node built-ins and tracks in memory', async () => {
    const mod = await importNeutralBundle<typeof import('@telemetry-kit/core')>(ENTRY);
    const lines: string[] = [];
    const kit = mod.telemetryKit(mod.portableRuntime({ env: {}, log: (line) => lines.push(line) })).serviceName('edge-worker').build();
    expect((await kit.trackCommand('render', { metadata: { contact: 'a@b.io' } })).status).toBe('stored');
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 1, storage: 'memory', backend: 'js' });
    const [stored] = await kit.events();
    expect(String(stored?.event.event.data.contact)).toMatch(/^<email:[0-9a-f]{8}>$/);
  });
});
