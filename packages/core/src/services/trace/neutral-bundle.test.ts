import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importNeutralBundle } from '../../../../../test/helpers/neutral-bundle.js';
import { encodeV04, wireSpan } from '../../../../../test/helpers/trace-payloads.js';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('trace agent core', () => {
  it('bundles for --platform=neutral without Node built-ins and works from the bundle', async () => {
    const mod = await importNeutralBundle<typeof import('./index.js')>(ENTRY);
    const buffer = new mod.TraceBuffer({ agentVersion: '1', globalTags: {}, now: () => 1_700_000_000_000 });
    expect(buffer.ingest('v0.4', encodeV04([[wireSpan()]]), { lang: 'nodejs' })).toMatchObject({ ok: true, accepted: 1 });
    expect(buffer.flush(1_700_000_000_000).agentPayload?.length).toBeGreaterThan(50);
  });
});
