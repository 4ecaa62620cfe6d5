/** Builds clients for the conformance suite on the backend under test. */
import { TelemetryKit } from '@telemetry-kit/node';
import { expect } from 'vitest';
import { expectedBackend } from '../helpers/backend.js';

export type Builder = ReturnType<typeof TelemetryKit.builder>;

export function kitBuilder(dataDir: string, service = 'conformance'): Builder {
  return TelemetryKit.builder().serviceName(service).serviceVersion('2.3.4').dataDir(dataDir);
}

export function buildKit(dataDir: string, configure: (builder: Builder) => Builder = (b) => b): TelemetryKit {
  const kit = configure(kitBuilder(dataDir)).build();
  const expected = expectedBackend();
  if (expected !== 'auto') expect(kit.backend).toBe(expected);
  return kit;
}
