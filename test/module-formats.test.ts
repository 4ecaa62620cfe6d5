import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(code: string, type: 'commonjs' | 'module'): string {
  return execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { encoding: 'utf8', cwd: new URL('..', import.meta.url) }).trim();
}

describe('package formats', () => {
  it('loads with require() (CJS build) and picks a backend', () => {
    const out = run(
      "const t = require('@telemetry-kit/node'); const c = require('@telemetry-kit/core'); console.log(t.backend, typeof t.TelemetryKit.builder, typeof c.telemetryKit, t.backendSelection().fallbackReason !== undefined);",
      'commonjs',
    );
    expect(out).toMatch(/^(js|native) function function true$/);
  });

  it('loads with import (ESM build)', () => {
    const out = run("import { backend, TelemetryKit } from '@telemetry-kit/node'; import { telemetryKit } from '@telemetry-kit/core'; console.log(backend, typeof TelemetryKit.builder, typeof telemetryKit);", 'module');
    expect(out).toMatch(/^(js|native) function function$/);
  });
});
