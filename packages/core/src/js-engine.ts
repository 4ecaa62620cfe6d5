/**
 * The TypeScript engine: builds events (install id, consent, environment, sanitization) and
 * keeps them in the runtime's stores. An unusable data dir switches it to memory with one
 * warning, so the host program never sees a storage exception from tracking.
 */
import type { ResolvedConfig } from './config.js';
import { detectCi } from './ci-detect.js';
import type { EngineQuery, TelemetryEngine } from './engine.js';
import { describeError } from './errors.js';
import { finalizeEvent, type EventContext, type EventDraft } from './event-builder.js';
import { deriveUserId, newSessionId } from './ids.js';
import { MemoryConsentStore, MemoryEventStore, MemoryIdentityStore } from './memory-store.js';
import type { Runtime } from './runtime.js';
import type { ConsentStore, EventStore, IdentityStore } from './storage.js';
import { consentAllows, envDisabledReason, isDebugMode } from './tracking-gate.js';
import type {
  BackendName,
  ConsentRecord,
  ConsentStatus,
  LastError,
  StoredEvent,
  TelemetryEvent,
  TelemetryStats,
  TrackStatus,
} from './types.js';
import { SDK_NAME, SDK_VERSION } from './version.js';
import { parseLastError } from './sync/last-error.js';
import type { SyncOutcome, SyncPassOptions } from './sync/outcome.js';
import { runSyncPass } from './sync/sync-pass.js';

let processSessionId: string | null = null;

export class JsEngine implements TelemetryEngine {
  readonly backend: BackendName = 'js';
  readonly envDisabledReason: string | null;
  private store: EventStore;
  private identity: IdentityStore;
  private consentStore: ConsentStore;
  /** undefined until read; null when nothing is stored. */
  private consent: ConsentRecord | null | undefined;
  private context: Promise<EventContext> | null = null;
  /** Batches handed to persist() that have not reached the store yet. */
  private readonly waiting = new Set<readonly EventDraft[]>();
  private readonly debug: boolean;
  private readonly warned = new Set<string>();
  /** A storage failure of this process (the data dir fell back to memory). */
  private lastError: LastError | null = null;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly runtime: Runtime,
  ) {
    const stores = runtime.openStores(config, (message) => this.warnOnce(message));
    this.store = stores.events;
    this.identity = stores.identity;
    this.consentStore = stores.consent;
    this.envDisabledReason = envDisabledReason(runtime.env, config.serviceName);
    this.debug = isDebugMode(runtime.env);
  }

  knownConsent(): ConsentStatus | undefined {
    return this.consent === undefined ? undefined : (this.consent?.status ?? 'unknown');
  }

  private allowsTracking(): boolean {
    return consentAllows(this.consent?.status ?? 'unknown', this.config.consent);
  }

  async persist(drafts: readonly EventDraft[]): Promise<TrackStatus[]> {
    // Until they reach the store, persistSync() (process exit) must be able to write them.
    this.waiting.add(drafts);
    let context: EventContext;
    try {
      // Creating the journal file overlaps reading the install id; a failure shows at append.
      const prepared = this.store.prepare().catch(() => undefined);
      context = await this.eventContext();
      await prepared;
    } finally {
      this.waiting.delete(drafts);
    }
    const events = this.finalize(drafts, context);
    if (events.length === 0) return drafts.map(() => 'no_consent');
    try {
      await this.store.append(events);
    } catch (error) {
      this.lastError = { code: 'STORAGE', message: describeError(error), at: new Date().toISOString() };
      this.fallBackToMemory(error);
      await this.store.append(events);
    }
    return drafts.map(() => 'stored');
  }

  persistSync(drafts: readonly EventDraft[]): void {
    const all = [...[...this.waiting].flat(), ...drafts];
    this.waiting.clear();
    // Even with no drafts: the store rewrites journal writes still in flight.
    const events = all.length === 0 ? [] : this.finalize(all, this.eventContextSync());
    this.store.appendSync(events);
  }

  /** The events to store: none when consent blocks them. */
  private finalize(drafts: readonly EventDraft[], context: EventContext): TelemetryEvent[] {
    if (!this.allowsTracking()) return [];
    const events = drafts.map((draft) => finalizeEvent(draft, context));
    if (this.debug) for (const event of events) this.runtime.debugLog(JSON.stringify(event));
    return events;
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

  /**
   * Store reads go through the context first so that an unusable data dir falls back to memory
   * (loading the install id is the probe). With tracking disabled by the environment nothing
   * may create an install id, so reads go straight to the store.
   */
  private async readyStore(): Promise<EventStore> {
    if (this.envDisabledReason === null) await this.eventContext();
    return this.store;
  }

  async stats(): Promise<TelemetryStats> {
    const store = await this.readyStore();
    const [counts, lastSync, lastError] = await Promise.all([store.counts(), store.getMeta('last_sync'), store.getMeta('last_error')]);
    const consent = this.consentStatus();
    const consentBlocks = !consentAllows(consent, this.config.consent);
    return {
      ...counts,
      lastSync,
      lastError: parseLastError(lastError) ?? this.lastError,
      autoSync: 'off',
      backend: this.backend,
      storage: store.kind,
      dataDir: store.location,
      consent,
      trackingEnabled: this.envDisabledReason === null && !consentBlocks,
      disabledReason: this.envDisabledReason ?? (consentBlocks ? `consent ${consent}` : null),
    };
  }

  async sync(options: SyncPassOptions): Promise<SyncOutcome> {
    const store = await this.readyStore();
    const credentials = this.config.sync;
    // TELEMETRY_KIT_DEBUG prints events instead of sending them (DESIGN.md §5).
    if (credentials === null || this.envDisabledReason !== null || this.debug || !this.allowsTracking()) {
      return { accepted: 0, rejected: 0, duplicates: 0, batches: 0, remaining: (await store.counts()).pending, error: null };
    }
    return runSyncPass(
      store,
      {
        credentials,
        batchSize: this.config.batchSize,
        requestTimeoutMs: this.config.syncTimeoutMs,
        gzip: this.config.syncGzip ? this.runtime.gzip : null,
        sdkVersion: `${SDK_NAME}/${SDK_VERSION} (${this.backend})`,
        transport: this.runtime.httpTransport,
        hmac: this.runtime.hmacSha256Hex,
        uuid: () => this.runtime.uuid(),
        now: () => Date.now(),
      },
      options,
    );
  }

  async events(query: EngineQuery): Promise<StoredEvent[]> {
    return (await this.readyStore()).list(query);
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

  async setConsent(status: Exclude<ConsentStatus, 'unknown'>): Promise<void> {
    const record: ConsentRecord = { status, timestamp: new Date().toISOString(), service: this.config.serviceName };
    this.consent = record;
    try {
      await this.consentStore.save(record);
    } catch (error) {
      this.fallBackToMemory(error);
      await this.consentStore.save(record);
    }
    if (status === 'opted_out') await (await this.readyStore()).deletePending();
  }

  async resetId(): Promise<void> {
    await this.identity.reset();
    this.context = null;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
