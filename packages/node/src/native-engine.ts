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
  resolveDataDir,
  type ConsentStatus,
  type EngineQuery,
  type EventDraft,
  type EventState,
  type ResolvedConfig,
  type StoredEvent,
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
      lastError: stats.lastError ?? null,
      backend: this.backend,
      storage: stats.storage === 'memory' ? 'memory' : 'file',
      dataDir: stats.dataDir ?? null,
      consent: stats.consent as ConsentStatus,
      trackingEnabled: stats.trackingEnabled,
      disabledReason: stats.disabledReason ?? null,
    };
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
