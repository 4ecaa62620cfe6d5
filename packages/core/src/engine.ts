/**
 * What a backend does with tracked events. The shared front (`QueuedTelemetryClient`) turns
 * calls into drafts and batches them; an engine makes them durable and answers queries. The JS
 * engine does this in TypeScript, the native engine in Rust behind the napi addon, so one
 * batch crosses the boundary once, however many calls it holds.
 */
import type {
  BackendName,
  ConsentStatus,
  EventState,
  StoredEvent,
  TelemetryStats,
  TrackStatus,
} from './types.js';
import type { EventDraft } from './event-builder.js';
import type { SyncOutcome, SyncPassOptions } from './sync/outcome.js';

export interface EngineQuery {
  limit: number;
  state?: EventState;
}

export interface TelemetryEngine {
  readonly backend: BackendName;
  /** The environment variable that disables tracking and sync, or null; fixed at creation. */
  readonly envDisabledReason: string | null;
  /** The consent decision if it is known without I/O; undefined until first loaded. */
  knownConsent(): ConsentStatus | undefined;
  /** Checks consent, sanitizes and stores; resolves once stored events are durable. */
  persist(drafts: readonly EventDraft[]): Promise<TrackStatus[]>;
  /** The process is exiting: store the drafts and anything still in flight, synchronously. */
  persistSync(drafts: readonly EventDraft[]): void;
  stats(): Promise<TelemetryStats>;
  events(query: EngineQuery): Promise<StoredEvent[]>;
  consentStatus(): ConsentStatus;
  /** Records a decision; `opted_out` also deletes every pending event. */
  setConsent(status: Exclude<ConsentStatus, 'unknown'>): Promise<void>;
  resetId(): Promise<void>;
  /**
   * One sync pass (docs/PROTOCOL.md, "Client behaviour"): sends pending events in signed batches
   * and records the outcome. Only called when credentials are configured and tracking is allowed.
   */
  sync(options: SyncPassOptions): Promise<SyncOutcome>;
  /**
   * The same pass for auto-sync, run so that it does not keep the process alive (the native
   * engine runs it on a Rust thread); the promise may never settle if the process exits first.
   * Engines whose `sync` already holds nothing open (the JS engine's sockets are unref'd) omit it.
   */
  syncInBackground?(options: SyncPassOptions): Promise<SyncOutcome>;
  /** Makes everything durable and releases files; the engine may be used again afterwards. */
  close(): Promise<void>;
}
