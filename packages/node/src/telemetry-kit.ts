/**
 * The class users import. It validates configuration through the shared builder, then holds
 * a client of the selected backend and forwards to it: both backends answer the same calls.
 */
import {
  TelemetryKitBuilder,
  type BackendName,
  type CommandOptions,
  type ConsentStatus,
  type EventsQuery,
  type FeatureOptions,
  type ResolvedConfig,
  type ShutdownOptions,
  type StoredEvent,
  type SyncOptions,
  type SyncResult,
  type TelemetryClient,
  type TelemetryStats,
  type TrackResult,
} from '@telemetry-kit/core/node';
import { randomUUID } from 'node:crypto';
import { QueuedTelemetryClient, clientHooks, jsClient, nodeRuntime, onProcessExit } from '@telemetry-kit/core/node';
import { selectBackend, type BackendSelection } from './backend.js';
import { NativeEngine } from './native-engine.js';

let selection: BackendSelection | null = null;

/** The backend choice for this process, made once on first use. */
export function backendSelection(): BackendSelection {
  selection ??= selectBackend();
  return selection;
}

function createClient(config: ResolvedConfig): TelemetryClient {
  const chosen = backendSelection();
  if (chosen.error) throw chosen.error;
  if (chosen.native) {
    return new QueuedTelemetryClient(
      new NativeEngine(chosen.native, config),
      clientHooks(config, { uuid: () => randomUUID(), onExit: onProcessExit, random: () => Math.random() }),
    );
  }
  return jsClient(config, nodeRuntime());
}

export class TelemetryKit implements TelemetryClient {
  private constructor(private readonly client: TelemetryClient) {}

  /** Starts a configuration; `build()` validates it and throws `INVALID_CONFIG` naming the field. */
  static builder(): TelemetryKitBuilder<TelemetryKit> {
    return new TelemetryKitBuilder((config) => new TelemetryKit(createClient(config)));
  }

  get backend(): BackendName {
    return this.client.backend;
  }

  trackCommand(command: string, options?: CommandOptions): Promise<TrackResult> {
    return this.client.trackCommand(command, options);
  }

  trackFeature(feature: string, options?: FeatureOptions): Promise<TrackResult> {
    return this.client.trackFeature(feature, options);
  }

  track(type: string, data?: Record<string, unknown>): Promise<TrackResult> {
    return this.client.track(type, data);
  }

  sync(options?: SyncOptions): Promise<SyncResult> {
    return this.client.sync(options);
  }

  stats(): Promise<TelemetryStats> {
    return this.client.stats();
  }

  events(query?: EventsQuery): Promise<StoredEvent[]> {
    return this.client.events(query);
  }

  grantConsent(): Promise<void> {
    return this.client.grantConsent();
  }

  denyConsent(): Promise<void> {
    return this.client.denyConsent();
  }

  optOut(): Promise<void> {
    return this.client.optOut();
  }

  consentStatus(): ConsentStatus {
    return this.client.consentStatus();
  }

  resetId(): Promise<void> {
    return this.client.resetId();
  }

  shutdown(options?: ShutdownOptions): Promise<void> {
    return this.client.shutdown(options);
  }
}
