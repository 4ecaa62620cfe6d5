/**
 * What the client needs from persistence. The Node adapter implements these over files and
 * sql.js, the memory store serves runtimes without a file system, and the native backend keeps
 * the same on-disk layout so that either backend can continue the other's data dir.
 */
import type { ConsentRecord, EventState, StoredEvent, TelemetryEvent } from './types.js';

export interface EventCounts {
  pending: number;
  synced: number;
  deadLettered: number;
  /** Pending events dropped because the bound was reached. */
  dropped: number;
  /** Journal lines that could not be parsed and were skipped. */
  corrupt: number;
}

/** A pending event as stored: its JSON is sent verbatim, never re-serialized. */
export interface PendingEvent {
  eventId: string;
  body: string;
}

/** What sync learned about a set of events, recorded in one write. */
export interface Delivery {
  synced: readonly string[];
  deadLettered: ReadonlyArray<{ eventIds: readonly string[]; reason: string }>;
  at: Date;
  /** Meta values to set in the same write; keys left out are untouched. */
  meta: Partial<Record<MetaKey, string | null>>;
}

export interface EventStoreLimits {
  maxPendingEvents: number;
  retentionDays: number;
}

export interface ListQuery {
  limit: number;
  state?: EventState;
}

/** Keys of the small key/value table kept beside the events. */
export type MetaKey = 'last_sync' | 'last_error';

export interface EventStore {
  readonly kind: 'file' | 'memory';
  /** The data directory, or null in memory. */
  readonly location: string | null;
  /** Creates what the first append needs (files), so it can overlap other start-up work. */
  prepare(): Promise<void>;
  /** Resolves once the events are durable (fsynced, for a file store). */
  append(events: readonly TelemetryEvent[]): Promise<void>;
  /** Synchronous best-effort write, for the process `exit` handler only. */
  appendSync(events: readonly TelemetryEvent[]): void;
  /** The most recent `limit` events (of `state`, if given), oldest first. */
  list(query: ListQuery): Promise<StoredEvent[]>;
  counts(): Promise<EventCounts>;
  /** The oldest pending events, at most `limit`, oldest first. */
  pendingBatch(limit: number): Promise<PendingEvent[]>;
  markSynced(eventIds: readonly string[], syncedAt: Date): Promise<void>;
  markDeadLettered(eventIds: readonly string[], reason: string): Promise<void>;
  /** markSynced + markDeadLettered + setMeta as one write. */
  settle(delivery: Delivery): Promise<void>;
  /** Deletes every pending event (opt-out); returns how many. */
  deletePending(): Promise<number>;
  getMeta(key: MetaKey): Promise<string | null>;
  setMeta(key: MetaKey, value: string | null): Promise<void>;
  /** Makes everything durable and releases files. The store may be used again afterwards. */
  close(): Promise<void>;
}

/** The random install id (64 hex characters) the anonymous `user_id` is derived from. */
export interface IdentityStore {
  /** Reads the id, creating it (or replacing a corrupt one) on first use. */
  load(): Promise<string>;
  loadSync(): string;
  /** Forgets the id; the next `load` creates a new one. */
  reset(): Promise<void>;
}

export interface ConsentStore {
  /** The stored decision, or null when there is none or it cannot be read. */
  load(): Promise<ConsentRecord | null>;
  loadSync(): ConsentRecord | null;
  save(record: ConsentRecord): Promise<void>;
}

export interface Stores {
  events: EventStore;
  identity: IdentityStore;
  consent: ConsentStore;
}
