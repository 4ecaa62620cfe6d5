/**
 * The JS backend of the telemetry API. A track call does only CPU work (validate, snapshot,
 * queue) and returns; a single background loop waits for the install id and consent once,
 * sanitizes, and appends whole batches to the store, which makes them durable before the
 * callers' promises resolve. Tracking never rejects: failures are recorded, not thrown.
 */
import type { ResolvedConfig } from './config.js';
import { detectCi } from './ci-detect.js';
import { TelemetryError, describeError } from './errors.js';
import { commandDraft, customDraft, featureDraft, finalizeEvent, type EventContext, type EventDraft } from './event-builder.js';
import { deriveUserId, newSessionId } from './ids.js';
import { MemoryConsentStore, MemoryEventStore, MemoryIdentityStore } from './memory-store.js';
import type { Runtime } from './runtime.js';
import type { ConsentStore, EventStore, IdentityStore } from './storage.js';
import { consentAllows, envDisabledReason, isDebugMode } from './tracking-gate.js';
import type {
  BackendName,
  CommandOptions,
  ConsentRecord,
  ConsentStatus,
  EventsQuery,
  EventState,
  FeatureOptions,
  ShutdownOptions,
  StoredEvent,
  SyncResult,
  TelemetryClient,
  TelemetryEvent,
  TelemetryStats,
  TrackResult,
  TrackStatus,
} from './types.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

interface QueuedEvent {
  draft: EventDraft;
  resolve: (result: TrackResult) => void;
}

const EVENT_STATES: readonly EventState[] = ['pending', 'synced', 'dead_letter'];
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 2_000;

let processSessionId: string | null = null;

function settled(status: TrackStatus, eventId: string | null = null): Promise<TrackResult> {
  return Promise.resolve({ status, eventId });
}

export class JsTelemetryClient implements TelemetryClient {
  readonly backend: BackendName = 'js';
  private store: EventStore;
  private identity: IdentityStore;
  private consentStore: ConsentStore;
  /** undefined until read; null when nothing is stored. */
  private consent: ConsentRecord | null | undefined;
  private context: Promise<EventContext> | null = null;
  private readonly queue: QueuedEvent[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  private unregisterExit: (() => void) | null = null;
  private readonly envDisabled: string | null;
  private readonly debug: boolean;
  private readonly warned = new Set<string>();
  private lastError: string | null = null;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly runtime: Runtime,
  ) {
    const stores = runtime.openStores(config, (message) => this.warnOnce(message));
    this.store = stores.events;
    this.identity = stores.identity;
    this.consentStore = stores.consent;
    this.envDisabled = envDisabledReason(runtime.env, config.serviceName);
    this.debug = isDebugMode(runtime.env);
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
    return { event_id: this.runtime.uuid(), timestamp: new Date().toISOString() };
  }

  private submit(makeDraft: () => EventDraft | null): Promise<TrackResult> {
    if (this.closed) return settled('shutdown');
    if (this.envDisabled !== null) return settled('disabled');
    if (this.consent !== undefined && !this.consentAllowsTracking()) return settled('no_consent');
    let draft: EventDraft | null;
    try {
      draft = makeDraft();
    } catch (error) {
      // Drafting is written not to throw; this guards the host program against a bug in it.
      this.lastError = describeError(error);
      draft = null;
    }
    if (draft === null) return settled('invalid');
    const event = draft;
    this.unregisterExit ??= this.runtime.onExit(() => this.flushOnExit());
    return new Promise((resolve) => {
      this.queue.push({ draft: event, resolve });
      this.kick();
    });
  }

  private consentAllowsTracking(): boolean {
    return consentAllows(this.consent?.status ?? 'unknown', this.config.consent);
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Creating the journal file overlaps reading the install id; a failure shows at append.
    const prepared = this.store.prepare().catch(() => undefined);
    const context = await this.eventContext();
    await prepared;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const events = this.finalize(batch, context);
      await this.appendDurably(events);
      for (const item of batch) item.resolve({ status: 'stored', eventId: item.draft.event_id });
    }
  }

  /** Resolves items blocked by consent right away and returns the events to store. */
  private finalize(batch: QueuedEvent[], context: EventContext): TelemetryEvent[] {
    if (!this.consentAllowsTracking()) {
      for (const item of batch.splice(0)) item.resolve({ status: 'no_consent', eventId: null });
      return [];
    }
    const events = batch.map((item) => finalizeEvent(item.draft, context));
    if (this.debug) for (const event of events) this.runtime.debugLog(JSON.stringify(event));
    return events;
  }

  private async appendDurably(events: TelemetryEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.store.append(events);
    } catch (error) {
      this.lastError = describeError(error);
      this.fallBackToMemory(error);
      await this.store.append(events);
    }
  }

  /**
   * Runs from the process `exit` handler (and after a timed-out shutdown): whatever is still
   * queued is written synchronously, together with any journal write still in flight.
   */
  private flushOnExit(): void {
    const batch = this.queue.splice(0);
    try {
      const events = batch.length === 0 ? [] : this.finalize(batch, this.eventContextSync());
      this.store.appendSync(events);
    } catch (error) {
      this.lastError = describeError(error);
    }
  }

  private eventContext(): Promise<EventContext> {
    this.context ??= this.loadContext();
    return this.context;
  }

  private async loadContext(): Promise<EventContext> {
    const consent = this.consent === undefined ? this.consentStore.load().catch(() => null) : null;
    let installId: string;
    try {
      installId = await this.identity.load();
    } catch (error) {
      // The data dir cannot hold the install id, so it cannot hold events either.
      this.fallBackToMemory(error);
      installId = await this.identity.load();
    }
    const loaded = await consent;
    // A decision taken while loading (grantConsent() right after build) is newer than the file.
    if (this.consent === undefined) this.consent = loaded;
    return this.buildContext(installId);
  }

  private eventContextSync(): EventContext {
    if (this.consent === undefined) this.consentStatus();
    return this.buildContext(this.identity.loadSync());
  }

  private buildContext(installId: string): EventContext {
    const info = this.runtime.platformInfo();
    const ci = detectCi(this.runtime.env);
    processSessionId ??= newSessionId((n) => this.runtime.randomBytes(n));
    return {
      service: {
        name: this.config.serviceName,
        version: this.config.serviceVersion,
        language: 'javascript',
        language_version: info.languageVersion,
      },
      environment: {
        os: info.os,
        os_version: info.osVersion,
        arch: info.arch,
        ci: ci.ci,
        ci_name: ci.ciName,
        shell: info.shell,
      },
      userId: deriveUserId(installId, this.config.serviceName, this.runtime.sha256Hex),
      sessionId: processSessionId,
      sdkVersion: `${SDK_NAME}/${SDK_VERSION}`,
      backend: this.backend,
      sanitize: {
        homeDir: this.runtime.homeDir,
        sanitizePaths: this.config.privacy.sanitizePaths,
        sanitizeEmails: this.config.privacy.sanitizeEmails,
        redactKeys: this.config.privacy.redactKeys,
        emailSalt: installId,
        sha256Hex: this.runtime.sha256Hex,
      },
    };
  }

  private fallBackToMemory(cause: unknown): void {
    if (this.store.kind === 'memory') return;
    const where = this.store.location ?? 'the data dir';
    this.warnOnce(`telemetry-kit: cannot write to ${where} (${describeError(cause)}); events are kept in memory for this process only`);
    const limits = { maxPendingEvents: this.config.maxPendingEvents, retentionDays: this.config.retentionDays };
    this.store = new MemoryEventStore(limits);
    this.identity = new MemoryIdentityStore((n) => this.runtime.randomBytes(n));
    const consent = new MemoryConsentStore();
    if (this.consent) void consent.save(this.consent);
    this.consentStore = consent;
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.runtime.warn(message);
  }

  /** Waits until everything tracked so far has reached the store. */
  private async idle(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  /**
   * Store reads go through the context first so that an unusable data dir falls back to memory
   * (loading the install id is the probe). With tracking disabled by the environment nothing
   * may create an install id, so reads go straight to the store.
   */
  private async readyStore(): Promise<EventStore> {
    if (this.envDisabled === null) await this.eventContext();
    await this.idle();
    return this.store;
  }

  async sync(): Promise<SyncResult> {
    // The transport of DESIGN.md §7 is not part of this backend yet: nothing leaves the machine.
    const store = await this.readyStore();
    const counts = await store.counts();
    return { accepted: 0, rejected: 0, duplicates: 0, remaining: counts.pending };
  }

  async stats(): Promise<TelemetryStats> {
    const store = await this.readyStore();
    const [counts, lastSync, lastError] = await Promise.all([store.counts(), store.getMeta('last_sync'), store.getMeta('last_error')]);
    const consent = this.consentStatus();
    const consentBlocks = !consentAllows(consent, this.config.consent);
    return {
      ...counts,
      lastSync,
      lastError: lastError ?? this.lastError,
      backend: this.backend,
      storage: store.kind,
      dataDir: store.location,
      consent,
      trackingEnabled: this.envDisabled === null && !consentBlocks,
      disabledReason: this.envDisabled ?? (consentBlocks ? `consent ${consent}` : null),
    };
  }

  async events(query: EventsQuery = {}): Promise<StoredEvent[]> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
      throw new TelemetryError('INVALID_CONFIG', `invalid query: limit must be an integer from 1 to 1000000, got ${String(limit)}`, { field: 'limit' });
    }
    if (query.state !== undefined && !EVENT_STATES.includes(query.state)) {
      throw new TelemetryError('INVALID_CONFIG', `invalid query: state must be one of ${EVENT_STATES.join(', ')}, got ${String(query.state)}`, { field: 'state' });
    }
    const store = await this.readyStore();
    return store.list({ limit, ...(query.state === undefined ? {} : { state: query.state }) });
  }

  consentStatus(): ConsentStatus {
    if (this.consent === undefined) {
      try {
        this.consent = this.consentStore.loadSync();
      } catch {
        this.consent = null;
      }
    }
    return this.consent?.status ?? 'unknown';
  }

  async grantConsent(): Promise<void> {
    await this.saveConsent('granted');
  }

  async denyConsent(): Promise<void> {
    await this.saveConsent('denied');
  }

  /** Always wins, required or not: records the decision and deletes everything not yet sent. */
  async optOut(): Promise<void> {
    await this.saveConsent('opted_out');
    for (const item of this.queue.splice(0)) item.resolve({ status: 'no_consent', eventId: null });
    const store = await this.readyStore();
    await store.deletePending();
  }

  private async saveConsent(status: ConsentStatus): Promise<void> {
    const record: ConsentRecord = { status, timestamp: new Date().toISOString(), service: this.config.serviceName };
    this.consent = record;
    try {
      await this.consentStore.save(record);
    } catch (error) {
      this.fallBackToMemory(error);
      await this.consentStore.save(record);
    }
  }

  async resetId(): Promise<void> {
    await this.idle();
    await this.identity.reset();
    this.context = null;
  }

  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new TelemetryError('INVALID_CONFIG', `invalid shutdown: timeoutMs must be a non-negative number, got ${String(timeoutMs)}`, { field: 'timeoutMs' });
    }
    if (this.closed) return;
    this.closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    const work = (async () => {
      await this.idle();
      await this.store.close();
    })().catch((error: unknown) => {
      this.lastError = describeError(error);
    });
    const outcome = await Promise.race([work.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    // Past the bound, whatever is still queued is written synchronously rather than lost.
    if (outcome === 'timeout') this.flushOnExit();
    this.unregisterExit?.();
    this.unregisterExit = null;
  }
}
