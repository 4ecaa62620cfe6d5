import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode, tempDir } from './helpers/env.js';
import { isolatedInstall } from './helpers/isolated-install.js';
import { nativeBuilt } from './helpers/backend.js';

interface Probe {
  backend: string;
  reason: string | null;
  build: string;
}

async function probe(dir: string, backend: 'auto' | 'native', env: Record<string, string> = {}): Promise<Probe> {
  const result = await runNode(join(dir, 'probe.mjs'), [join(dir, 'data')], { env: { TELEMETRY_KIT_BACKEND: backend, ...env } });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Probe;
}

describe('loading the native backend', () => {
  it('an absent native package: auto falls back to js and says why; native fails clearly', async () => {
    const dir = isolatedInstall();
    expect(await probe(dir, 'auto')).toEqual({ backend: 'js', reason: '@telemetry-kit/native is not installed', build: 'ok' });
    const forced = await probe(dir, 'native');
    expect(forced.build).toMatch(/^BACKEND: TELEMETRY_KIT_BACKEND=native but the native addon cannot be used: @telemetry-kit\/native is not installed$/);
  });

  it('a native package of another version is refused', async () => {
    const dir = isolatedInstall("exports.NativeTelemetryEngine = class {}; exports.version = () => '9.9.9';");
    const auto = await probe(dir, 'auto');
    expect(auto.backend).toBe('js');
    expect(auto.reason).toBe('@telemetry-kit/native is version 9.9.9, this package needs 0.1.0');
    expect((await probe(dir, 'native')).build).toMatch(/^BACKEND: .*version 9\.9\.9/);
  });

  it('a native package whose loader throws (no binary for this platform) is refused', async () => {
    const dir = isolatedInstall("throw new Error('Cannot find native binding. npm has a bug related to optional dependencies');");
    const auto = await probe(dir, 'auto');
    expect(auto.backend).toBe('js');
    expect(auto.reason).toMatch(/^no usable @telemetry-kit\/native binary for linux-x64-(gnu|musl): Cannot find native binding/);
  });

  it('a native package without the engine is refused', async () => {
    const dir = isolatedInstall('exports.something = 1;');
    expect((await probe(dir, 'auto')).reason).toBe('@telemetry-kit/native does not provide the engine this version needs');
  });

  it('an unknown TELEMETRY_KIT_BACKEND value fails build() naming the variable', async () => {
    const dir = isolatedInstall();
    const result = await runNode(join(dir, 'probe.mjs'), [join(dir, 'data')], { env: { TELEMETRY_KIT_BACKEND: 'rust' } });
    expect((JSON.parse(result.stdout) as Probe).build).toMatch(/^INVALID_CONFIG: .*TELEMETRY_KIT_BACKEND/);
  });

  it.runIf(nativeBuilt())('a corrupt .node file: auto falls back to js with the dlopen error; native fails', async () => {
    const garbage = join(tempDir(), 'telemetry-kit.linux-x64-gnu.node');
    writeFileSync(garbage, 'this is not a shared object');
    const root = new URL('../', import.meta.url).pathname;
    const script = join(root, 'test/helpers/probe-backend.mjs');
    const env = { NAPI_RS_NATIVE_LIBRARY_PATH: garbage };
    const auto = JSON.parse((await runNode(script, [tempDir()], { env: { ...env, TELEMETRY_KIT_BACKEND: 'auto' } })).stdout) as Probe;
    expect(auto.backend).toBe('js');
    expect(auto.reason).toMatch(/^no usable @telemetry-kit\/native binary/);
    const forced = JSON.parse((await runNode(script, [tempDir()], { env: { ...env, TELEMETRY_KIT_BACKEND: 'native' } })).stdout) as Probe;
    expect(forced.build).toMatch(/^BACKEND: /);
  });

  it.runIf(nativeBuilt())('the built addon loads in auto mode', async () => {
    const root = new URL('../', import.meta.url).pathname;
    const result = JSON.parse((await runNode(join(root, 'test/helpers/probe-backend.mjs'), [tempDir()], { env: { TELEMETRY_KIT_BACKEND: 'auto' } })).stdout) as Probe;
    expect(result).toEqual({ backend: 'native', reason: null, build: 'ok' });
  });
});

describe.runIf(nativeBuilt())('native errors', () => {
  it('a panic in a Rust worker thread becomes a rejected promise with a TelemetryError code, not an abort', async () => {
    const { createRequire } = await import('node:module');
    const native = createRequire(import.meta.url)('@telemetry-kit/native') as { panicInWorkerForTests(): Promise<void> };
    const { toTelemetryError } = await import('../packages/node/src/native-engine.js');
    const error: unknown = await native.panicInWorkerForTests().then(
      () => null,
      (e: unknown) => e,
    );
    expect(toTelemetryError(error)).toMatchObject({ name: 'TelemetryError', code: 'STORAGE', message: expect.stringContaining('deliberate panic') as unknown });
    // The process is still here to run this line.
    expect(process.exitCode ?? 0).toBe(0);
  });
});
