import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../packages/core/src/index.ts', import.meta.url));

describe('runtime-agnostic core', () => {
  it('bundles for --platform=neutral without Node built-ins and tracks in memory', async () => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'neutral',
      format: 'esm',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/from\s+["'](node:)?(fs|path|os|crypto|child_process|process)["']/);
    expect(code).not.toMatch(/require\(["'](node:)?\w+["']\)/);

    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as typeof import('@telemetry-kit/core');
    const lines: string[] = [];
    const kit = mod.telemetryKit(mod.portableRuntime({ env: {}, log: (line) => lines.push(line) })).serviceName('edge-worker').build();
    expect((await kit.trackCommand('render', { metadata: { contact: 'a@b.io' } })).status).toBe('stored');
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 1, storage: 'memory', backend: 'js' });
    const [stored] = await kit.events();
    expect(String(stored?.event.event.data.contact)).toMatch(/^<email:[0-9a-f]{8}>$/);
  });
});
