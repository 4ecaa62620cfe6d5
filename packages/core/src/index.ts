/**
 * @telemetry-kit/core — the runtime-agnostic telemetry core. This entry imports no Node
 * built-in; Node storage and process adapters live in `@telemetry-kit/core/node`.
 */
import { TelemetryKitBuilder } from './builder.js';
import { jsClient } from './js-client.js';
import { portableRuntime } from './portable-runtime.js';
import type { Runtime } from './runtime.js';
import type { TelemetryClient } from './types.js';

export * from './api.js';
export { portableRuntime, type PortableRuntimeOptions } from './portable-runtime.js';
export { nobleSha256Hex } from './noble-sha256.js';
// Serverless services, runtime-agnostic part: config, errors, DogStatsD and trace agent codecs.
export * from './services/index.js';

/** A builder for runtimes without a file system: events are kept in memory. */
export function telemetryKit(runtime: Runtime = portableRuntime()): TelemetryKitBuilder<TelemetryClient> {
  return new TelemetryKitBuilder((config) => jsClient(config, runtime));
}
