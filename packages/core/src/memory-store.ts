/**
 * Stores for runtimes without a file system (edge workers, browsers) and the fallback when the
 * data dir cannot be written. Same semantics as the file store, nothing survives the process.
 */
import { newInstallId, type RandomBytes } from './ids.js';
import type { ConsentStore, Delivery, EventCounts, EventStore, EventStoreLimits, IdentityStore, ListQuery, MetaKey, PendingEvent } from './storage.js';
import type { ConsentRecord, EventState, StoredEvent, TelemetryEvent } from './types.js';

interface Row {
  state: EventState;
  event: TelemetryEvent;
  syncedAt: number | null;
}

const DAY_MS = 86_400_000;

export class MemoryEventStore implements EventStore {
  readonly kind = 'memory';
  readonly location = null;
  private rows: Row[] = [];
  private readonly ids = new Set<string>();
  private readonly meta = new Map<MetaKey, string>();
  private dropped = 0;

  constructor(private readonly limits: EventStoreLimits) {}

  async prepare(): Promise<void> {}

  async append(events: readonly TelemetryEvent[]): Promise<void> {
    this.appendSync(events);
  }

  appendSync(events: readonly TelemetryEvent[]): void {
    for (const event of events) {
      if (this.ids.has(event.event_id)) continue;
      this.ids.add(event.event_id);
      this.rows.push({ state: 'pending', event, syncedAt: null });
    }
    this.enforceLimits();
  }

  private enforceLimits(): void {
    const cutoff = Date.now() - this.limits.retentionDays * DAY_MS;
    let excess = this.rows.filter((row) => row.state === 'pending').length - this.limits.maxPendingEvents;
    this.dropped += Math.max(0, excess);
    this.rows = this.rows.filter((row) => {
      const keep =
        row.state === 'pending' ? excess-- <= 0 : !(row.state === 'synced' && row.syncedAt !== null && row.syncedAt <= cutoff);
      if (!keep) this.ids.delete(row.event.event_id);
      return keep;
    });
  }

  async list(query: ListQuery): Promise<StoredEvent[]> {
    const rows = query.state === undefined ? this.rows : this.rows.filter((row) => row.state === query.state);
    return rows.slice(Math.max(0, rows.length - query.limit)).map(({ state, event }) => ({ state, event }));
  }

  async counts(): Promise<EventCounts> {
    const count = (state: EventState): number => this.rows.filter((row) => row.state === state).length;
    return { pending: count('pending'), synced: count('synced'), deadLettered: count('dead_letter'), dropped: this.dropped, corrupt: 0 };
  }

  async pendingBatch(limit: number): Promise<PendingEvent[]> {
    return this.rows
      .filter((row) => row.state === 'pending')
      .slice(0, limit)
      .map((row) => ({ eventId: row.event.event_id, body: JSON.stringify(row.event) }));
  }

  async markSynced(eventIds: readonly string[], syncedAt: Date): Promise<void> {
    this.setState(eventIds, 'synced', syncedAt.getTime());
    this.enforceLimits();
  }

  async markDeadLettered(eventIds: readonly string[]): Promise<void> {
    this.setState(eventIds, 'dead_letter', null);
  }

  async settle(delivery: Delivery): Promise<void> {
    await this.markSynced(delivery.synced, delivery.at);
    for (const { eventIds } of delivery.deadLettered) await this.markDeadLettered(eventIds);
    for (const [key, value] of Object.entries(delivery.meta) as Array<[MetaKey, string | null]>) await this.setMeta(key, value);
  }

  private setState(eventIds: readonly string[], state: EventState, syncedAt: number | null): void {
    const wanted = new Set(eventIds);
    for (const row of this.rows) {
      if (wanted.has(row.event.event_id)) {
        row.state = state;
        row.syncedAt = syncedAt;
      }
    }
  }

  async deletePending(): Promise<number> {
    const before = this.rows.length;
    this.rows = this.rows.filter((row) => {
      if (row.state === 'pending') this.ids.delete(row.event.event_id);
      return row.state !== 'pending';
    });
    return before - this.rows.length;
  }

  async getMeta(key: MetaKey): Promise<string | null> {
    return this.meta.get(key) ?? null;
  }

  async setMeta(key: MetaKey, value: string | null): Promise<void> {
    if (value === null) this.meta.delete(key);
    else this.meta.set(key, value);
  }

  async close(): Promise<void> {}
}

export class MemoryIdentityStore implements IdentityStore {
  private installId: string | null = null;

  constructor(private readonly random: RandomBytes) {}

  async load(): Promise<string> {
    return this.loadSync();
  }

  loadSync(): string {
    this.installId ??= newInstallId(this.random);
    return this.installId;
  }

  async reset(): Promise<void> {
    this.installId = null;
  }
}

export class MemoryConsentStore implements ConsentStore {
  private record: ConsentRecord | null = null;

  async load(): Promise<ConsentRecord | null> {
    return this.record;
  }

  loadSync(): ConsentRecord | null {
    return this.record;
  }

  async save(record: ConsentRecord): Promise<void> {
    this.record = record;
  }
}
