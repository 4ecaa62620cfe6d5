/**
 * The native engine: the Rust core behind the napi addon. This class only converts between
 * the JS shapes and the addon's; every decision (consent, sanitization, storage) is made in
 * Rust. Drafts cross the boundary as one JSON string per batch.
 */
import { homedir } from 'node:os';
import {
  SDK_NAME,
  SDK_VERSION,
  TelemetryError,
  parseLastError,
  resolveDataDir,
  type ConsentStatus,
  type EngineQuery,
  type EventDraft,
  type EventState,
  type ResolvedConfig,
  type StoredEvent,
  type SyncOutcome,
  type SyncPassOptions,
  type TelemetryEngine,
  type TelemetryErrorCode,
  type TelemetryEvent,
  type TelemetryStats,
  type TrackStatus,
} from '@telemetry-kit/core/node';
import type { NativeBinding, NativeEngineHandle } from './native-binding.js';

const CODES: readonly TelemetryErrorCode[] = ['INVALID_CONFIG', 'STORAGE', 'AUTH', 'RATE_LIMITED', 'SERVER', 'NETWORK', 'CONSENT', 'SHUTDOWN', 'BACKEND'];

/** The addon reports errors as `CODE: message`; anything else is an internal failure. */
export function toTelemetryError(error: unknown): TelemetryError {
  if (error instanceof TelemetryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const match = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  const code = match?.[1] as TelemetryErrorCode | undefined;
  if (match && code && CODES.includes(code)) return new TelemetryError(code, match[2] ?? '', { cause: error });
  return new TelemetryError('STORAGE', `native backend failed: ${message}`, { cause: error });
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toTelemetryError(error);
  }
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

/** napi maps an absent option to `undefined`, never `null`. */
function homeDirOption(): { homeDir?: string } {
  try {
    const home = homedir();
    return home ? { homeDir: home } : {};
  } catch {
    return {};
  }
}

const SYNC_ERROR_CODES: readonly string[] = ['AUTH', 'RATE_LIMITED', 'SERVER', 'NETWORK'];

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** The addon's outcome JSON, checked against the `SyncOutcome` shape rather than trusted. */
export function parseOutcome(json: string): SyncOutcome {
  const value: unknown = JSON.parse(json);
  const outcome = value as Partial<Record<keyof SyncOutcome, unknown>> | null;
  const error = outcome?.error as { code?: unknown; message?: unknown } | null | undefined;
  const counts = outcome && [outcome.accepted, outcome.rejected, outcome.duplicates, outcome.remaining, outcome.batches];
  const errorOk = error === null || (typeof error === 'object' && error !== undefined && SYNC_ERROR_CODES.includes(String(error.code)) && typeof error.message === 'string');
  if (!counts || !counts.every(isCount) || !errorOk) {
    throw new TelemetryError('BACKEND', `native sync returned an unexpected outcome: ${json.slice(0, 200)}`);
  }
  return value as SyncOutcome;
}

export class NativeEngine implements TelemetryEngine {
  readonly backend = 'native' as const;
  readonly envDisabledReason: string | null;
  private readonly handle: NativeEngineHandle;
  /** Batches handed to the addon and not yet confirmed: persistSync() hands them over again. */
  private readonly inFlight = new Set<readonly EventDraft[]>();
  private consent: ConsentStatus | undefined;

  constructor(binding: NativeBinding, config: ResolvedConfig) {
    try {
      this.handle = new binding.NativeTelemetryEngine({
        serviceName: config.serviceName,
        serviceVersion: config.serviceVersion,
        dataDir: resolveDataDir(config),
        maxPendingEvents: config.maxPendingEvents,
        retentionDays: config.retentionDays,
        sanitizePaths: config.privacy.sanitizePaths,
        sanitizeEmails: config.privacy.sanitizeEmails,
        redactKeys: [...config.privacy.redactKeys],
        consentRequired: config.consent.required,
        consentDefaultGranted: config.consent.defaultGranted,
        env: stringEnv(),
        ...homeDirOption(),
        languageVersion: process.versions.node,
        sdkVersion: `${SDK_NAME}/${SDK_VERSION}`,
        // napi reads an absent option as `undefined`, never `null`.
        ...(config.sync === null ? {} : { sync: { ...config.sync } }),
        batchSize: config.batchSize,
        syncGzip: config.syncGzip,
        syncTimeoutMs: config.syncTimeoutMs,
      });
    } catch (error) {
      throw toTelemetryError(error);
    }
    this.envDisabledReason = this.handle.envDisabledReason ?? null;
  }

  knownConsent(): ConsentStatus | undefined {
    // Asked on every track call: once the engine has read the decision, it changes only
    // through setConsent() below, so the napi call is skipped from then on.
    this.consent ??= (this.handle.knownConsent() ?? undefined) as ConsentStatus | undefined;
    return this.consent;
  }

  async persist(drafts: readonly EventDraft[]): Promise<TrackStatus[]> {
    this.inFlight.add(drafts);
    try {
      return (await call(() => this.handle.persist(JSON.stringify(drafts)))) as TrackStatus[];
    } finally {
      this.inFlight.delete(drafts);
      this.emitWarnings();
    }
  }

  persistSync(drafts: readonly EventDraft[]): void {
    // Written twice at worst (once by a worker thread still running): stored once, by event_id.
    const all = [...[...this.inFlight].flat(), ...drafts];
    this.handle.persistSync(JSON.stringify(all));
  }

  async stats(): Promise<TelemetryStats> {
    const stats = await call(() => this.handle.stats());
    this.emitWarnings();
    return {
      pending: stats.pending,
      synced: stats.synced,
      deadLettered: stats.deadLettered,
      dropped: stats.dropped,
      corrupt: stats.corrupt,
      lastSync: stats.lastSync ?? null,
      lastError: parseLastError(stats.lastError),
      autoSync: 'off',
      backend: this.backend,
      storage: stats.storage === 'memory' ? 'memory' : 'file',
      dataDir: stats.dataDir ?? null,
      consent: stats.consent as ConsentStatus,
      trackingEnabled: stats.trackingEnabled,
      disabledReason: stats.disabledReason ?? null,
    };
  }

  /** One sync pass in Rust, on a libuv worker: the process stays alive until it settles. */
  async sync(options: SyncPassOptions): Promise<SyncOutcome> {
    const json = await call(() => this.handle.syncNow(JSON.stringify(options)));
    return parseOutcome(json);
  }

  /**
   * One sync pass on a thread the addon owns, for auto-sync. Unlike {@link sync}, nothing
   * here keeps the process alive: a CLI exits as soon as its own work is done, even with a
   * request in flight. The promise therefore MAY NEVER SETTLE — when the process exits first,
   * the pass is cut off (events it had not marked stay pending, are sent again by a later pass
   * and stored once by the server) and no callback comes. Do not await it on an exit path.
   */
  syncInBackground(options: SyncPassOptions): Promise<SyncOutcome> {
    return new Promise((resolve, reject) => {
      try {
        this.handle.syncInBackground(JSON.stringify(options), (error, json) => {
          if (error) reject(toTelemetryError(error));
          else if (json === undefined) reject(new TelemetryError('BACKEND', 'native sync reported no outcome'));
          else {
            try {
              resolve(parseOutcome(json));
            } catch (parseError) {
              reject(toTelemetryError(parseError));
            }
          }
        });
      } catch (error) {
        reject(toTelemetryError(error));
      }
    });
  }

  async events(query: EngineQuery): Promise<StoredEvent[]> {
    const rows = await call(() => this.handle.events(query.limit, query.state ?? null));
    return rows.map((row) => ({ state: row.state as EventState, event: JSON.parse(row.body) as TelemetryEvent }));
  }

  consentStatus(): ConsentStatus {
    return this.handle.consentStatus() as ConsentStatus;
  }

  async setConsent(status: Exclude<ConsentStatus, 'unknown'>): Promise<void> {
    this.consent = status;
    await call(() => this.handle.setConsent(status));
    this.emitWarnings();
  }

  async resetId(): Promise<void> {
    await call(() => this.handle.resetId());
  }

  async close(): Promise<void> {
    await call(() => this.handle.close());
  }

  private emitWarnings(): void {
    for (const message of this.handle.takeWarnings()) process.emitWarning(message, { code: 'TELEMETRY_KIT' });
  }
}
