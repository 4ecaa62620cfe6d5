/**
 * The shape of `@telemetry-kit/native` as this package uses it. The addon's own generated
 * `index.d.ts` exists only once it is built, so the contract is restated here and checked at
 * load time (`isNativeBinding`) instead of trusted.
 */
export interface NativeEngineConfig {
  serviceName: string;
  serviceVersion: string;
  dataDir: string;
  maxPendingEvents: number;
  retentionDays: number;
  sanitizePaths: boolean;
  sanitizeEmails: boolean;
  redactKeys: string[];
  consentRequired: boolean;
  consentDefaultGranted: boolean;
  /** The process environment (opt-out variables, CI detection, shell). */
  env: Record<string, string>;
  /** Absent when unknown: napi reads `undefined`, not `null`, as no value. */
  homeDir?: string;
  languageVersion: string;
  sdkVersion: string;
  /** Absent when no endpoint is configured: sync passes then send nothing. */
  sync?: NativeSyncCredentials;
  /** Events per sync request. */
  batchSize: number;
  syncGzip: boolean;
  /** Bound on each sync request, in ms. */
  syncTimeoutMs: number;
}

export interface NativeSyncCredentials {
  endpoint: string;
  orgId: string;
  appId: string;
  token: string;
  secret: string;
}

export interface NativeStats {
  pending: number;
  synced: number;
  deadLettered: number;
  dropped: number;
  corrupt: number;
  lastSync?: string | null;
  lastError?: string | null;
  storage: string;
  dataDir?: string | null;
  consent: string;
  trackingEnabled: boolean;
  disabledReason?: string | null;
}

export interface NativeStoredEvent {
  state: string;
  /** The event's JSON exactly as stored. */
  body: string;
}

export interface NativeEngineHandle {
  readonly envDisabledReason?: string | null;
  knownConsent(): string | null | undefined;
  /** `drafts` is a JSON array of EventDraft; resolves with one status per draft. */
  persist(draftsJson: string): Promise<string[]>;
  persistSync(draftsJson: string): void;
  stats(): Promise<NativeStats>;
  events(limit: number, state?: string | null): Promise<NativeStoredEvent[]>;
  consentStatus(): string;
  setConsent(status: string): Promise<void>;
  resetId(): Promise<void>;
  /**
   * One sync pass on a libuv worker; `optionsJson` is a JSON `SyncPassOptions`. Resolves with
   * a JSON `SyncOutcome`. The pending task keeps Node alive until it settles.
   */
  syncNow(optionsJson: string): Promise<string>;
  /**
   * One sync pass on a thread the addon owns, reported to `callback` through a weak
   * threadsafe function: it never keeps Node alive, and if the process exits first the
   * callback is simply never called.
   */
  syncInBackground(optionsJson: string, callback: (err: Error | null, outcomeJson: string | undefined) => void): void;
  close(): Promise<void>;
  /** Warnings raised since the last call (e.g. the memory fallback), each once. */
  takeWarnings(): string[];
}

export interface NativeBinding {
  NativeTelemetryEngine: new (config: NativeEngineConfig) => NativeEngineHandle;
  /** The addon's crate version; must equal the SDK version. */
  version(): string;
}

export function isNativeBinding(value: unknown): value is NativeBinding {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<Record<keyof NativeBinding, unknown>>;
  return typeof candidate.NativeTelemetryEngine === 'function' && typeof candidate.version === 'function';
}
