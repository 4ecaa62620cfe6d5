/**
 * The telemetry API in front of any engine. A track call does only CPU work (validate,
 * snapshot, queue) and returns; a single background loop hands each batch of drafts to the
 * engine, which makes them durable before the callers' promises resolve. Tracking never
 * rejects: failures are recorded, not thrown.
 */
import type { ConsentOptions, ResolvedConfig } from './config.js';
import type { TelemetryEngine } from './engine.js';
import { TelemetryError, describeError } from './errors.js';
import { commandDraft, customDraft, featureDraft, type EventDraft } from './event-builder.js';
import { consentAllows } from './tracking-gate.js';
import type { SyncOutcome } from './sync/outcome.js';
import { SyncScheduler } from './sync/sync-scheduler.js';
import type {
  BackendName,
  CommandOptions,
  ConsentStatus,
  EventsQuery,
  EventState,
  FeatureOptions,
  ShutdownOptions,
  StoredEvent,
  SyncOptions,
  SyncResult,
  TelemetryClient,
  TelemetryStats,
  TrackResult,
  TrackStatus,
} from './types.js';

interface QueuedEvent {
  draft: EventDraft;
  resolve: (result: TrackResult) => void;
}

export interface ClientHooks {
  consent: Required<ConsentOptions>;
  sync: {
    /** Credentials are configured. */
    enabled: boolean;
    /** Background passes on a timer, and a final pass in shutdown(). */
    auto: boolean;
    intervalMs: number;
  };
  /** Uniform in [0, 1): backoff jitter. */
  random(): number;
  /** A random v4 UUID; runs inside every track call, so it must be cheap. */
  uuid(): string;
  /** Runs `flush` synchronously when the process exits normally; returns the unregister call. */
  onExit(flush: () => void): () => void;
}

const EVENT_STATES: readonly EventState[] = ['pending', 'synced', 'dead_letter'];
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 2_000;
/** The first automatic pass comes this long after the first event (or one interval, if shorter). */
const FIRST_SYNC_DELAY_MS = 5_000;

/** The hooks of a client for `config`, with the runtime's uuid, exit hook and randomness. */
export function clientHooks(config: ResolvedConfig, runtime: Pick<ClientHooks, 'uuid' | 'onExit' | 'random'>): ClientHooks {
  return {
    consent: config.consent,
    sync: { enabled: config.sync !== null, auto: config.autoSync, intervalMs: config.syncIntervalMs },
    uuid: runtime.uuid,
    onExit: runtime.onExit,
    random: runtime.random,
  };
}

function toResult(outcome: SyncOutcome): SyncResult {
  const { accepted, rejected, duplicates, remaining, error } = outcome;
  return { accepted, rejected, duplicates, remaining, error };
}

function settled(status: TrackStatus): Promise<TrackResult> {
  return Promise.resolve({ status, eventId: null });
}

export class QueuedTelemetryClient implements TelemetryClient {
  private readonly queue: QueuedEvent[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  /** Set while optOut() runs: nothing may be stored between its drain and its deletion. */
  private optingOut = false;
  private unregisterExit: (() => void) | null = null;
  private readonly scheduler: SyncScheduler;

  constructor(
    private readonly engine: TelemetryEngine,
    private readonly hooks: ClientHooks,
  ) {
    const { sync } = hooks;
    this.scheduler = new SyncScheduler({
      auto: sync.enabled && sync.auto && engine.envDisabledReason === null,
      intervalMs: sync.intervalMs,
      firstDelayMs: Math.min(FIRST_SYNC_DELAY_MS, sync.intervalMs),
      random: () => hooks.random(),
      now: () => Date.now(),
      runPass: (options, background) =>
        background && engine.syncInBackground ? engine.syncInBackground(options) : engine.sync(options),
      pending: async () => (await engine.stats()).pending,
    });
  }

  get backend(): BackendName {
    return this.engine.backend;
  }

  trackCommand(command: string, options?: CommandOptions): Promise<TrackResult> {
    return this.submit(() => commandDraft(this.draftIdentity(), command, options));
  }

  trackFeature(feature: string, options?: FeatureOptions): Promise<TrackResult> {
    return this.submit(() => featureDraft(this.draftIdentity(), feature, options));
  }

  track(type: string, data?: Record<string, unknown>): Promise<TrackResult> {
    return this.submit(() => customDraft(this.draftIdentity(), type, data));
  }

  private draftIdentity(): Pick<EventDraft, 'event_id' | 'timestamp'> {
    return { event_id: this.hooks.uuid(), timestamp: new Date().toISOString() };
  }

  private submit(makeDraft: () => EventDraft | null): Promise<TrackResult> {
    if (this.closed) return settled('shutdown');
    if (this.engine.envDisabledReason !== null) return settled('disabled');
    if (this.optingOut) return settled('no_consent');
    const known = this.engine.knownConsent();
    if (known !== undefined && !consentAllows(known, this.hooks.consent)) return settled('no_consent');
    let draft: EventDraft | null;
    try {
      draft = makeDraft();
    } catch {
      // Drafting is written not to throw; this guards the host program against a bug in it.
      draft = null;
    }
    if (draft === null) return settled('invalid');
    const event = draft;
    this.unregisterExit ??= this.hooks.onExit(() => this.flushOnExit());
    this.scheduler.noteActivity();
    return new Promise((resolve) => {
      this.queue.push({ draft: event, resolve });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      let statuses: TrackStatus[];
      try {
        statuses = await this.engine.persist(batch.map((item) => item.draft));
      } catch {
        // Engines keep events rather than fail (memory fallback); this is the last guard.
        statuses = [];
      }
      batch.forEach((item, i) => {
        const status = statuses[i] ?? 'invalid';
        item.resolve({ status, eventId: status === 'stored' ? item.draft.event_id : null });
      });
    }
  }

  /** Runs from the process `exit` handler and after a timed-out shutdown. */
  private flushOnExit(): void {
    const batch = this.queue.splice(0);
    try {
      this.engine.persistSync(batch.map((item) => item.draft));
    } catch {
      // An exit handler must never turn a clean exit into a crash.
    }
  }

  /** Waits until everything tracked so far has reached the engine. */
  private async idle(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  /**
   * Sends pending events now (after everything tracked so far is stored). Network and server
   * failures resolve with `error` set and the events kept; only a missing configuration throws.
   */
  async sync(options: SyncOptions = {}): Promise<SyncResult> {
    if (!this.hooks.sync.enabled) {
      throw new TelemetryError('INVALID_CONFIG', 'sync() needs withSyncCredentials({ endpoint, orgId, appId, token, secret })', { field: 'sync' });
    }
    const { maxBatches, timeoutMs } = options;
    if (maxBatches !== undefined && !(Number.isInteger(maxBatches) && maxBatches >= 1)) {
      throw new TelemetryError('INVALID_CONFIG', `invalid sync: maxBatches must be a positive integer, got ${String(maxBatches)}`, { field: 'maxBatches' });
    }
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new TelemetryError('INVALID_CONFIG', `invalid sync: timeoutMs must be a positive number, got ${String(timeoutMs)}`, { field: 'timeoutMs' });
    }
    await this.idle();
    const outcome = await this.scheduler.sync({
      ...(maxBatches === undefined ? {} : { maxBatches }),
      ...(timeoutMs === undefined ? {} : { deadlineMs: Date.now() + timeoutMs }),
    });
    return toResult(outcome);
  }

  async stats(): Promise<TelemetryStats> {
    await this.idle();
    const stats = await this.engine.stats();
    stats.autoSync = this.scheduler.autoState;
    return stats;
  }

  async events(query: EventsQuery = {}): Promise<StoredEvent[]> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
      throw new TelemetryError('INVALID_CONFIG', `invalid query: limit must be an integer from 1 to 1000000, got ${String(limit)}`, { field: 'limit' });
    }
    if (query.state !== undefined && !EVENT_STATES.includes(query.state)) {
      throw new TelemetryError('INVALID_CONFIG', `invalid query: state must be one of ${EVENT_STATES.join(', ')}, got ${String(query.state)}`, { field: 'state' });
    }
    await this.idle();
    return this.engine.events({ limit, ...(query.state === undefined ? {} : { state: query.state }) });
  }

  consentStatus(): ConsentStatus {
    return this.engine.consentStatus();
  }

  async grantConsent(): Promise<void> {
    await this.engine.setConsent('granted');
  }

  async denyConsent(): Promise<void> {
    await this.engine.setConsent('denied');
  }

  /** Always wins, required or not: records the decision and deletes everything not yet sent. */
  async optOut(): Promise<void> {
    this.optingOut = true;
    try {
      for (const item of this.queue.splice(0)) item.resolve({ status: 'no_consent', eventId: null });
      await this.idle();
      await this.engine.setConsent('opted_out');
    } finally {
      this.optingOut = false;
    }
  }

  async resetId(): Promise<void> {
    await this.idle();
    await this.engine.resetId();
  }

  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new TelemetryError('INVALID_CONFIG', `invalid shutdown: timeoutMs must be a non-negative number, got ${String(timeoutMs)}`, { field: 'timeoutMs' });
    }
    if (this.closed) return;
    this.closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Ref'd on purpose: an awaited shutdown() must settle even when the only work left is a
    // background sync request on an unref'd socket. It is bounded by timeoutMs either way.
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const deadlineMs = Date.now() + timeoutMs;
    const work = (async () => {
      await this.idle();
      this.scheduler.close();
      // The final pass waits for a background pass in flight instead of racing it.
      if (this.scheduler.autoState === 'on') await this.scheduler.sync({ deadlineMs }).catch(() => undefined);
      await this.engine.close();
      return 'done' as const;
    })().catch((error: unknown) => describeError(error));
    const outcome = await Promise.race([work, timedOut]);
    clearTimeout(timer);
    // Past the bound, whatever is still queued or in flight is written synchronously.
    if (outcome === 'timeout') this.flushOnExit();
    this.unregisterExit?.();
    this.unregisterExit = null;
  }
}
