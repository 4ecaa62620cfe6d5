/**
 * `ServerlessServices` as users import it: the same API on either backend. The JS backend is
 * core's implementation; the native one is the addon's `ServerlessServices` class, used when
 * the addon exports it, under the same TELEMETRY_KIT_BACKEND override as the telemetry client.
 * Configuration is validated here, once, for both backends (one definition of a valid config).
 */
import {
  ServerlessServices as JsServerlessServices,
  ServicesError,
  type TelemetryError,
  registerCleanupHook,
  resolveServicesConfig,
  type CleanupHookOptions,
  type ServicesConfig,
  type ServicesErrorCode,
  type ServicesPorts,
  type ServicesStats,
  type ServicesStatus,
  type StatusListener,
  type StopOptions,
} from '@telemetry-kit/core/node';
import { selectBackend, type BackendRequest } from './backend.js';
import { backendSelection } from './telemetry-kit.js';

/**
 * What the addon exports for the native services (crates/telemetry-kit-node/src/services.rs).
 * JSON crosses the boundary; errors arrive as `CODE: message` or `CODE[field]: message`.
 */
export interface NativeServicesHandle {
  start(configJson: string, onStatus: (statusJson: string) => void): Promise<void>;
  isRunning(): boolean;
  portsJson(): string;
  flush(): Promise<void>;
  stop(timeoutMs: number): Promise<void>;
  statsJson(): string;
  /** Statuses queued for the callback so far. */
  statusesSent(): number;
}

type NativeServicesClass = new () => NativeServicesHandle;

export interface ServicesBackendSelection {
  backend: 'js' | 'native';
  requested: BackendRequest;
  /** Why the services are not on the native backend although it was asked for or possible. */
  fallbackReason: string | null;
  /** Set when the request cannot be honoured at all: start() rejects with it. */
  error: TelemetryError | null;
  nativeClass: NativeServicesClass | null;
}

const NO_NATIVE_SERVICES = '@telemetry-kit/native does not export ServerlessServices (the native services are not built yet)';

function nativeServicesClass(binding: unknown): NativeServicesClass | null {
  const candidate = (binding as { ServerlessServices?: unknown } | null)?.ServerlessServices;
  return typeof candidate === 'function' ? (candidate as NativeServicesClass) : null;
}

/** The services backend for a request; `auto` follows TELEMETRY_KIT_BACKEND like the client does. */
export function servicesBackendSelection(request: BackendRequest = 'auto'): ServicesBackendSelection {
  // An explicit request is probed on its own; `auto` shares the process's choice (and override).
  const chosen = request === 'auto' ? backendSelection() : selectBackend({ ...process.env, TELEMETRY_KIT_BACKEND: request });
  const requested = chosen.requested;
  if (chosen.error) {
    return { backend: 'js', requested, fallbackReason: chosen.fallbackReason, error: chosen.error, nativeClass: null };
  }
  if (requested === 'js') return { backend: 'js', requested, fallbackReason: null, error: null, nativeClass: null };
  const nativeClass = nativeServicesClass(chosen.native);
  if (nativeClass) return { backend: 'native', requested, fallbackReason: null, error: null, nativeClass };
  const fallbackReason = chosen.native ? NO_NATIVE_SERVICES : (chosen.fallbackReason ?? NO_NATIVE_SERVICES);
  // The addon loads but has no services yet: the JS services stand in, and say why.
  return { backend: 'js', requested, fallbackReason, error: null, nativeClass: null };
}

const SERVICES_ERROR_CODES: readonly ServicesErrorCode[] = ['INVALID_CONFIG', 'PORT_IN_USE', 'ALREADY_STARTED', 'SHUTDOWN_TIMEOUT'];

/** A native error (`CODE: message` or `CODE[field]: message`) as the ServicesError the JS backend would have thrown. */
function asServicesError(error: unknown): unknown {
  if (error instanceof ServicesError || !(error instanceof Error)) return error;
  const match = /^([A-Z_]+)(?:\[([^\]]+)\])?: ([\s\S]*)$/.exec(error.message);
  const code = match?.[1];
  if (!match || code === undefined || !(SERVICES_ERROR_CODES as readonly string[]).includes(code)) return error;
  const field = match[2];
  return new ServicesError(code as ServicesErrorCode, match[3] ?? '', { ...(field === undefined ? {} : { field }), cause: error });
}

function parseStatus(json: string): ServicesStatus | null {
  try {
    return JSON.parse(json) as ServicesStatus;
  } catch {
    return null;
  }
}

/** Event-loop turns to wait for statuses still in the addon's queue; each turn drains a batch. */
const STATUS_DRAIN_TURNS = 1_000;

class NativeServices {
  private readonly handle: NativeServicesHandle;
  private statusesReceived = 0;
  /** The last start(): stop() waits for it, as on the JS backend, then releases what it bound. */
  private starting: Promise<void> = Promise.resolve();

  constructor(nativeClass: NativeServicesClass) {
    this.handle = new nativeClass();
  }

  async start(config: ServicesConfig, onStatus?: StatusListener): Promise<void> {
    // Validated here first, so both backends reject a bad config with the same ServicesError;
    // Rust resolves the same input again with the same rules.
    resolveServicesConfig(config);
    const deliver = (json: string): void => {
      this.statusesReceived += 1;
      const status = parseStatus(json);
      if (status === null || onStatus === undefined) return;
      try {
        onStatus(status);
      } catch {
        // A throwing listener must not take the services down (as on the JS backend).
      }
    };
    const starting = this.settled(this.handle.start(JSON.stringify(config), deliver));
    this.starting = starting.catch(() => undefined);
    await starting;
  }

  /**
   * The call's outcome, once every status it raised has reached the listener, as on the JS
   * backend where statuses are emitted synchronously before the promise settles.
   */
  private async settled(call: Promise<void>): Promise<void> {
    let failed = false;
    let failure: unknown;
    await call.catch((error: unknown) => {
      failed = true;
      failure = asServicesError(error);
    });
    for (let turn = 0; turn < STATUS_DRAIN_TURNS && this.statusesReceived < this.handle.statusesSent(); turn += 1) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (failed) throw failure;
  }

  isRunning(): boolean {
    return this.handle.isRunning();
  }

  ports(): ServicesPorts {
    return JSON.parse(this.handle.portsJson()) as ServicesPorts;
  }

  flush(): Promise<void> {
    return this.settled(this.handle.flush());
  }

  async stop(options: StopOptions = {}): Promise<void> {
    await this.starting;
    await this.settled(this.handle.stop(options.timeoutMs ?? 5_000));
  }

  stats(): ServicesStats {
    return JSON.parse(this.handle.statsJson()) as ServicesStats;
  }
}

type Implementation = Pick<JsServerlessServices, 'start' | 'isRunning' | 'ports' | 'flush' | 'stop' | 'stats'>;

export interface ServerlessServicesOptions {
  /** Overrides TELEMETRY_KIT_BACKEND for this instance. Defaults to `auto`. */
  backend?: BackendRequest;
}

/**
 * A DogStatsD server and a Datadog trace agent in this process (DESIGN.md §8).
 *
 * ```ts
 * const services = new ServerlessServices();
 * await services.start(configFromEnv(process.env), (status) => console.log(status));
 * services.registerCleanupHook();
 * ```
 */
export class ServerlessServices {
  /** The backend these services run on, and why not native when it is not. */
  readonly selection: ServicesBackendSelection;
  private readonly implementation: Implementation;

  constructor(options: ServerlessServicesOptions = {}) {
    this.selection = servicesBackendSelection(options.backend ?? 'auto');
    this.implementation = this.selection.nativeClass ? new NativeServices(this.selection.nativeClass) : new JsServerlessServices();
  }

  get backend(): 'js' | 'native' {
    return this.selection.backend;
  }

  /**
   * Binds the DogStatsD and trace agent listeners; resolves once both are ready (one `ready`
   * status per service, with its port).
   *
   * @throws ServicesError `INVALID_CONFIG` naming the field, `PORT_IN_USE`, `ALREADY_STARTED`;
   *   TelemetryError `BACKEND` when TELEMETRY_KIT_BACKEND=native cannot be honoured.
   */
  async start(config: ServicesConfig = {}, onStatus?: StatusListener): Promise<void> {
    if (this.selection.error) throw this.selection.error;
    await this.implementation.start(config, onStatus);
  }

  isRunning(): boolean {
    return this.implementation.isRunning();
  }

  /** The bound ports (the OS's choice when configured with 0); null for a service not running. */
  ports(): ServicesPorts {
    return this.implementation.ports();
  }

  /** Sends everything received so far, open buckets included; resolves when delivered or dropped. */
  flush(): Promise<void> {
    return this.implementation.flush();
  }

  /**
   * Stops accepting, drains, flushes everything and resolves. Resolves at once when not
   * running (never started, or already stopped).
   *
   * @throws ServicesError `SHUTDOWN_TIMEOUT` past `timeoutMs` (default 5,000), after dropping
   *   and counting what was left.
   */
  stop(options: StopOptions = {}): Promise<void> {
    return this.implementation.stop(options);
  }

  stats(): ServicesStats {
    return this.implementation.stats();
  }

  /**
   * On beforeExit, SIGTERM and SIGINT: stop with a final flush, then exit (0 after a complete
   * flush, 1 after SHUTDOWN_TIMEOUT; a second signal exits at once with 128 + signal).
   * Returns a function that removes the hook.
   */
  registerCleanupHook(options: CleanupHookOptions = {}): () => void {
    return registerCleanupHook(this, options);
  }
}
