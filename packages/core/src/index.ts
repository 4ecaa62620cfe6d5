/**
 * @telemetry-kit/core — the runtime-agnostic telemetry core. This entry imports no Node
 * built-in; Node storage and process adapters live in `@telemetry-kit/core/node`.
 */
import { TelemetryKitBuilder } from './builder.js';
import { portableRuntime } from './portable-runtime.js';
import type { Runtime } from './runtime.js';
import { JsTelemetryClient } from './telemetry-client.js';
import type { TelemetryClient } from './types.js';

export * from './types.js';
export * from './errors.js';
export * from './config.js';
export * from './storage.js';
export type { Runtime, PlatformInfo, EnvVars } from './runtime.js';
export { TelemetryKitBuilder } from './builder.js';
export { JsTelemetryClient } from './telemetry-client.js';
export { MemoryConsentStore, MemoryEventStore, MemoryIdentityStore } from './memory-store.js';
export { portableRuntime, type PortableRuntimeOptions } from './portable-runtime.js';
export { detectCi, type CiInfo } from './ci-detect.js';
export { consentAllows, envDisabledReason, isDebugMode, isEnabledFlag, serviceDisableVariable } from './tracking-gate.js';
export { deriveUserId, isValidInstallId, newInstallId, newSessionId, uuidV4 } from './ids.js';
export * from './normalize.js';
export * from './privacy.js';
export * from './event-builder.js';
export { SDK_NAME, SDK_VERSION, SCHEMA_VERSION } from './version.js';

/** A builder for runtimes without a file system: events are kept in memory. */
export function telemetryKit(runtime: Runtime = portableRuntime()): TelemetryKitBuilder<TelemetryClient> {
  return new TelemetryKitBuilder((config) => new JsTelemetryClient(config, runtime));
}
