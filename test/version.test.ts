import { readFileSync } from 'node:fs';
import { SDK_VERSION } from '@telemetry-kit/core';
import { describe, expect, it } from 'vitest';

function versionOf(path: string): string {
  return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
}

describe('versions', () => {
  it('SDK_VERSION matches every package.json', () => {
    expect(SDK_VERSION).toBe(versionOf('../packages/core/package.json'));
    expect(SDK_VERSION).toBe(versionOf('../packages/node/package.json'));
  });
});
