/**
 * The ingestion server of sync protocol v1 (docs/PROTOCOL.md) and its storages. The CLI loads
 * this module only for `serve` and `apps`.
 */
export { createIngestServer, type IngestServer } from './ingest-server.js';
export { DEFAULT_RATE_LIMIT, resolveLimits, type IngestLimits, type IngestServerOptions } from './server-options.js';
export type { RateLimit } from './rate-limiter.js';
export type { AppSummary } from './summary.js';
export type { AppCredentials } from './credentials.js';
export { defaultServerDataDir, describeStorage, openAppRegistry, openIngestStorage, type StorageSpec } from './storage/open-storage.js';
export type { AppAuth, AppRecord, AppRegistry, EventQuery, IngestBatch, IngestStorage, StorageKind, StoreResult } from './storage/types.js';
