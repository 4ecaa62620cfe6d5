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
  /** Makes everything durable and releases files; the engine may be used again afterwards. */
  close(): Promise<void>;
}
