/** Event schema v1 (DESIGN.md §4) and the shapes the public API returns. */
import type { SyncError } from './sync/outcome.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type BackendName = 'native' | 'js';

export interface ServiceInfo {
  name: string;
  version: string;
  language: 'javascript';
  language_version: string;
}

export interface EnvironmentInfo {
  os: string;
  os_version: string;
  arch: string;
  ci: boolean;
  ci_name: string | null;
  shell: string | null;
}

export interface EventBody {
  type: string;
  category: string;
  data: JsonObject;
}

export interface TelemetryEvent {
  schema_version: string;
  event_id: string;
  timestamp: string;
  service: ServiceInfo;
  user_id: string;
  session_id: string;
  environment: EnvironmentInfo;
  event: EventBody;
  metadata: { sdk_version: string; backend: BackendName };
}

export type EventState = 'pending' | 'synced' | 'dead_letter';

export interface StoredEvent {
  state: EventState;
  event: TelemetryEvent;
}

export type ConsentStatus = 'unknown' | 'granted' | 'denied' | 'opted_out';

export interface ConsentRecord {
  status: ConsentStatus;
  timestamp: string;
  service: string;
}

/** What happened to one tracked event. Tracking never rejects; this says why nothing was stored. */
export type TrackStatus =
  | 'stored'
  | 'disabled'
  | 'no_consent'
  | 'invalid'
  | 'shutdown';

export interface TrackResult {
  status: TrackStatus;
  eventId: string | null;
}

export interface CommandOptions {
  subcommand?: string;
  flags?: readonly string[];
  success?: boolean;
  durationMs?: number;
  exitCode?: number;
  metadata?: Record<string, unknown>;
}

export interface FeatureOptions {
  method?: string;
  success?: boolean;
  metadata?: Record<string, unknown>;
}

export interface EventsQuery {
  /** At most this many events, the most recent ones, returned oldest first. Defaults to 100. */
  limit?: number;
  /** Only events in this state. Defaults to every state. */
  state?: EventState;
}

export interface SyncResult {
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Pending events left. */
  remaining: number;
  /** Why the sync stopped early (events are kept), or null. */
  error: SyncError | null;
}

/** The last sync (or storage) error, as kept in the data dir. */
export interface LastError {
  code: string;
  message: string;
  /** ISO-8601 time it happened, when known. */
  at: string | null;
}

export interface TelemetryStats {
  pending: number;
  synced: number;
  deadLettered: number;
  /** Pending events dropped because `maxPendingEvents` was reached. */
  dropped: number;
  /** Journal lines that could not be read back (torn or corrupt) and were skipped. */
  corrupt: number;
  lastSync: string | null;
  lastError: LastError | null;
  /** `off` without credentials or with autoSync(false); `stopped` after the server refused the credentials. */
  autoSync: 'off' | 'on' | 'stopped';
  backend: BackendName;
  storage: 'file' | 'memory';
  dataDir: string | null;
  consent: ConsentStatus;
  trackingEnabled: boolean;
  /** Why tracking is off (`DO_NOT_TRACK`, consent, ...), or null when it is on. */
  disabledReason: string | null;
}

export interface SyncOptions {
  /** Stop after this many requests were answered (progress for large backlogs). */
  maxBatches?: number;
  /** Bound on the whole call. */
  timeoutMs?: number;
}

export interface ShutdownOptions {
  /** Bound on the final sync and flush. Defaults to 2000 ms. */
  timeoutMs?: number;
}

/** The API every backend implements (DESIGN.md §3). */
export interface TelemetryClient {
  readonly backend: BackendName;
  trackCommand(command: string, options?: CommandOptions): Promise<TrackResult>;
  trackFeature(feature: string, options?: FeatureOptions): Promise<TrackResult>;
  track(type: string, data?: Record<string, unknown>): Promise<TrackResult>;
  sync(options?: SyncOptions): Promise<SyncResult>;
  stats(): Promise<TelemetryStats>;
  events(query?: EventsQuery): Promise<StoredEvent[]>;
  grantConsent(): Promise<void>;
  denyConsent(): Promise<void>;
  optOut(): Promise<void>;
  consentStatus(): ConsentStatus;
  /** Forget the install id: the next event carries a new anonymous `user_id`. */
  resetId(): Promise<void>;
  shutdown(options?: ShutdownOptions): Promise<void>;
}
