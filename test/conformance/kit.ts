/** Builds clients for the conformance suite on the backend under test. */
import { TelemetryKit } from '@telemetry-kit/node';
import { afterEach, beforeEach, expect } from 'vitest';
import { expectedBackend } from '../helpers/backend.js';
import { clearAmbientEnv } from '../helpers/env.js';
import { expectValidEvent } from '../helpers/schema.js';

export type Builder = ReturnType<typeof TelemetryKit.builder>;
export type Configure = (builder: Builder) => Builder;

export function buildKit(dataDir: string, configure: Configure = (b) => b): TelemetryKit {
  const kit = configure(TelemetryKit.builder().serviceName('conformance').serviceVersion('2.3.4').dataDir(dataDir)).build();
  const expected = expectedBackend();
  if (expected !== 'auto') expect(kit.backend).toBe(expected);
  return kit;
}

/**
 * For a test file: each test starts without the host's opt-out variables, and every client
 * opened with the returned function has its events checked against the JSON Schema and is
 * shut down after the test.
 */
export function useKits(): (dataDir: string, configure?: Configure) => TelemetryKit {
  const open: TelemetryKit[] = [];
  beforeEach(() => clearAmbientEnv());
  afterEach(async () => {
    for (const kit of open.splice(0)) {
      // Every event any conformance test produced must match schema v1.
      for (const stored of await kit.events({ limit: 1_000_000 })) expectValidEvent(stored.event);
      await kit.shutdown();
    }
  });
  return (dataDir, configure) => {
    const kit = buildKit(dataDir, configure);
    open.push(kit);
    return kit;
  };
}
