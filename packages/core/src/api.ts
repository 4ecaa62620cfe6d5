/**
 * What both entries of @telemetry-kit/core export: the runtime-agnostic API without any
 * runtime attached. `index.ts` adds the portable runtime, `node/index.ts` the Node adapters.
 */
export * from './types.js';
export * from './errors.js';
export * from './config.js';
export * from './storage.js';
export type { Runtime, PlatformInfo, EnvVars } from './runtime.js';
export type { Sha256Hex } from './sha256.js';
export { TelemetryKitBuilder } from './builder.js';
export { QueuedTelemetryClient, clientHooks, type ClientHooks } from './queued-client.js';
export { JsEngine } from './js-engine.js';
export { jsClient } from './js-client.js';
export type { TelemetryEngine, EngineQuery } from './engine.js';
export { MemoryConsentStore, MemoryEventStore, MemoryIdentityStore } from './memory-store.js';
export { detectCi, type CiInfo } from './ci-detect.js';
export { consentAllows, envDisabledReason, isDebugMode, isEnabledFlag, serviceDisableVariable } from './tracking-gate.js';
export { deriveUserId, isValidInstallId, newInstallId, newSessionId, uuidV4 } from './ids.js';
export * from './normalize.js';
export * from './privacy.js';
export * from './event-builder.js';
export { SDK_NAME, SDK_VERSION, SCHEMA_VERSION } from './version.js';
export * from './sync/protocol.js';
export type { SyncError, SyncErrorCode, SyncOutcome, SyncPassOptions } from './sync/outcome.js';
export { parseLastError } from './sync/last-error.js';
export { fullJitterDelay, backoffCeiling, BACKOFF_BASE_MS, BACKOFF_CAP_MS } from './sync/backoff.js';
export { runSyncPass, SyncPass, type SyncStore, type SyncPassDeps } from './sync/sync-pass.js';
export { fetchTransport, compressionStreamGzip, NetworkError, type HttpTransport, type HttpRequest, type HttpResponse, type Gzip } from './sync/transport.js';
