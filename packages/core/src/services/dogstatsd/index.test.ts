import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('the DogStatsD entry', () => {
  it('bundles for --platform=neutral without Node built-ins and aggregates in the bundle', async () => {
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
    expect(code).not.toMatch(/from\s+["'](node:)?(fs|path|os|crypto|child_process|process|dgram|http|zlib)["']/);
    expect(code).not.toMatch(/require\(["'](node:)?\w+["']\)/);

    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as typeof import('./index.js');
    const agg = new mod.DogStatsDAggregator({ globalTags: ['edge:yes'], maxContexts: 10 });
    agg.ingest(new TextEncoder().encode('hits:2|c\nlat:5|d'), 1_700_000_001_000);
    const flush = agg.flush(1_700_000_010_000, false);
    expect(flush.series).toEqual([{ metric: 'hits', type: 2, points: [{ timestamp: 1_700_000_000, value: 0.2 }], interval: 10, tags: ['edge:yes'] }]);
    expect(flush.sketches?.length).toBeGreaterThan(0);
  });
});
