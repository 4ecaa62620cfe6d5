import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeV04, wireSpan } from '../../../../../test/helpers/trace-payloads.js';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));

describe('trace agent core', () => {
  it('bundles for --platform=neutral without Node built-ins and works from the bundle', async () => {
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
    expect(code).not.toMatch(/from\s+["'](node:)?(fs|path|os|crypto|zlib|http|child_process|process)["']/);
    expect(code).not.toMatch(/require\(["'](node:)?\w+["']\)/);

    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as typeof import('./index.js');
    const buffer = new mod.TraceBuffer({ agentVersion: '1', globalTags: {}, now: () => 1_700_000_000_000 });
    expect(buffer.ingest('v0.4', encodeV04([[wireSpan()]]), { lang: 'nodejs' })).toMatchObject({ ok: true, accepted: 1 });
    expect(buffer.flush(1_700_000_000_000).agentPayload?.length).toBeGreaterThan(50);
  });
});
