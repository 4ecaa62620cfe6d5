import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importNeutralBundle } from '../../../../../test/helpers/neutral-bundle.js';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('the DogStatsD entry', () => {
  it('bundles for --platform=neutral without Node built-ins and aggregates in the bundle', async () => {
    const mod = await importNeutralBundle<typeof import('./index.js')>(ENTRY);
    const agg = new mod.DogStatsDAggregator({ globalTags: ['edge:yes'], maxContexts: 10 });
    agg.ingest(new TextEncoder().encode('hits:2|c\nlat:5|d'), 1_700_000_001_000);
    const flush = agg.flush(1_700_000_010_000, false);
    expect(flush.series).toEqual([{ metric: 'hits', type: 2, points: [{ timestamp: 1_700_000_000, value: 0.2 }], interval: 10, tags: ['edge:yes'] }]);
    expect(flush.sketches?.length).toBeGreaterThan(0);
  });
});
