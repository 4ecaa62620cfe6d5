/**
 * @telemetry-kit/core/node — Node adapters: file storage (journal segments + sql.js), state
 * files, process exit hooks, and a builder for the JS backend on Node.
 */
import { TelemetryKitBuilder } from '../builder.js';
import { jsClient } from '../js-client.js';
import type { TelemetryClient } from '../types.js';
import { nodeRuntime, type NodeRuntimeOptions } from './node-runtime.js';

export * from '../api.js';
export * from './file-event-store.js';
export { FileConsentStore, FileIdentityStore, INSTALL_ID_FILE, CONSENT_FILE } from './state-files.js';
export { defaultDataDir } from './data-dir.js';
export { nodeRuntime, resolveDataDir, type NodeRuntimeOptions } from './node-runtime.js';
export { onProcessExit } from './exit-hooks.js';
// Serverless services (DESIGN.md §8): the runtime-agnostic part and its Node servers.
export * from '../services/index.js';
export * from './services/index.js';
// Storage building blocks the ingestion server (@telemetry-kit/node, src/server/) reuses.
export { JournalWriter, SEGMENT_NAME_PATTERN, fsyncDir, isSegmentOpenForWriting } from './journal-segment.js';
export { acquireLock } from './lock-file.js';
export { loadSqlJs } from './sqlite-database.js';

/** The JS backend on Node: durable file storage in the data dir. */
export function nodeTelemetryKit(options: NodeRuntimeOptions = {}): TelemetryKitBuilder<TelemetryClient> {
  const runtime = nodeRuntime(options);
  return new TelemetryKitBuilder((config) => jsClient(config, runtime));
}
