/**
 * The fluent builder of DESIGN.md §3. It only collects options: `build()` validates them and
 * hands the result to a runtime-specific factory, so the same builder serves every backend.
 */
import { resolveConfig, type ConsentOptions, type PrivacyOptions, type ResolvedConfig, type SyncCredentials, type TelemetryOptions } from './config.js';

export class TelemetryKitBuilder<T> {
  private readonly options: TelemetryOptions = {};

  constructor(private readonly factory: (config: ResolvedConfig) => T) {}

  /** Required: `[a-z0-9_-]{1,64}`. */
  serviceName(name: string): this {
    this.options.serviceName = name;
    return this;
  }

  /** The application's version (never the SDK's). Defaults to `0.0.0`. */
  serviceVersion(version: string): this {
    this.options.serviceVersion = version;
    return this;
  }

  /** Defaults to the OS data directory + `/telemetry-kit/<service>`. */
  dataDir(path: string): this {
    this.options.dataDir = path;
    return this;
  }

  withSyncCredentials(credentials: SyncCredentials): this {
    this.options.sync = credentials;
    return this;
  }

  /** Defaults to true when credentials are given. */
  autoSync(enabled: boolean): this {
    this.options.autoSync = enabled;
    return this;
  }

  /** Milliseconds between background syncs. Defaults to 60,000. */
  syncInterval(ms: number): this {
    this.options.syncIntervalMs = ms;
    return this;
  }

  /** Events per sync request. Defaults to 100. */
  batchSize(size: number): this {
    this.options.batchSize = size;
    return this;
  }

  /** Compress sync requests with gzip. Defaults to false. */
  syncGzip(enabled: boolean): this {
    this.options.syncGzip = enabled;
    return this;
  }

  /** Milliseconds each sync request may take. Defaults to 10,000. */
  syncTimeout(ms: number): this {
    this.options.syncTimeoutMs = ms;
    return this;
  }

  /** Pending events kept at most; beyond it the oldest are dropped and counted. Defaults to 10,000. */
  maxPendingEvents(count: number): this {
    this.options.maxPendingEvents = count;
    return this;
  }

  /** Days synced events are kept for inspection. Defaults to 7. */
  retentionDays(days: number): this {
    this.options.retentionDays = days;
    return this;
  }

  privacy(options: PrivacyOptions): this {
    this.options.privacy = { ...this.options.privacy, ...options };
    return this;
  }

  consent(options: ConsentOptions): this {
    this.options.consent = { ...this.options.consent, ...options };
    return this;
  }

  /**
   * Validates the options and creates the client. Synchronous: storage opens lazily.
   *
   * @throws TelemetryError `INVALID_CONFIG` naming the field at fault.
   */
  build(): T {
    return this.factory(resolveConfig(this.options));
  }
}
