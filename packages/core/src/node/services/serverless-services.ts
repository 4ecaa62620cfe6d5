/**
 * `ServerlessServices` on the JS backend (DESIGN.md §8): a DogStatsD UDP server and a trace
 * agent HTTP server in this process, flushing to the Datadog intakes on timers and at stop().
 *
 * Lifecycle: idle → starting → running → stopping → stopped (and start() again from stopped).
 * - start() resolves once every enabled listener is bound; rejects INVALID_CONFIG,
 *   PORT_IN_USE or ALREADY_STARTED (also while starting or stopping).
 * - stop() on an instance that is not running (never started, or already stopped) resolves at
 *   once and does nothing; concurrent stop() calls share one shutdown.
 * - stop() stops accepting, drains what was received, flushes everything including the open
 *   buckets, and resolves; past `timeoutMs` it drops what is left (counted in stats) and
 *   rejects SHUTDOWN_TIMEOUT. Either way the instance ends stopped, holding no socket or timer.
 * - Running services never keep the process alive by themselves (listeners and timers are
 *   unref'ed): a program ends when its own work does, and `registerCleanupHook()` flushes on
 *   the way out. `telemetry-kit agent` keeps its process alive until a signal.
 */
import { SDK_VERSION } from '../../version.js';
import { resolveServicesConfig, logLevelEnables, type LogLevel, type ResolvedServicesConfig, type ServicesConfig } from '../../services/config.js';
import { ServicesError } from '../../services/errors.js';
import { binaryPayload, eventPayloads, seriesPayloads, serviceCheckPayloads, type IntakePayload } from '../../services/intake-payloads.js';
import type { DogStatsDAggregator } from '../../services/dogstatsd/aggregator.js';
import type { TraceBuffer } from '../../services/trace/buffer.js';
import { registerCleanupHook, type CleanupHookOptions } from './cleanup-hook.js';
import type { DogStatsDListener } from './dogstatsd-listener.js';
import type { IntakeClient } from './intake-client.js';
import { emptyDogStatsDStats, emptyHttpStats, emptyServicesStats, emptyTraceAgentStats, type ServicesStats } from './services-stats.js';
import type { TraceAgentListener } from './trace-agent-listener.js';

export type { ServicesStats } from './services-stats.js';

export type ServiceName = 'dogstatsd' | 'trace-agent' | 'intake';

export interface ServicesStatus {
  /** `warning`: a configuration note (e.g. no API key); the services run anyway. */
  type: 'ready' | 'error' | 'warning' | 'flushed' | 'stopped';
  service?: ServiceName;
  message?: string;
  /** With `ready`: the bound port. */
  port?: number;
}

export type StatusListener = (status: ServicesStatus) => void;

export interface StopOptions {
  /** Defaults to 5,000 ms. */
  timeoutMs?: number;
}

export interface ServicesPorts {
  dogstatsd: number | null;
  traceAgent: number | null;
}

/** One `stop()`'s bound; 5 s fits Cloud Run's 10 s SIGTERM grace and Lambda's shutdown phase. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

type ServicesEngine = typeof import('./services-engine.js');

/**
 * The engine is imported through the package's own name (a separate entry of its build), not
 * by relative path: a relative dynamic import is inlined by whoever bundles this file (our own
 * @telemetry-kit/node build included), and the engine's ~200 KB would then be parsed by every
 * program importing the SDK. `as string` keeps TypeScript from resolving the specifier against
 * a build that may not exist yet; bundlers still see a literal and follow it.
 */
function loadEngine(): Promise<ServicesEngine> {
  return import('@telemetry-kit/core/node/services-engine' as string) as Promise<ServicesEngine>;
}

/** About one AgentPayload's worth (the agent's 3.2 MB writer limit at ~300 bytes a span). */
const SIZE_FLUSH_SPANS = 10_000;

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

interface Running {
  config: ResolvedServicesConfig;
  onStatus: StatusListener | undefined;
  aggregator: DogStatsDAggregator | null;
  traces: TraceBuffer | null;
  dogstatsd: DogStatsDListener | null;
  traceAgent: TraceAgentListener | null;
  intake: IntakeClient;
  timers: NodeJS.Timeout[];
}

function portField(service: 'dogstatsd' | 'trace-agent'): 'dogstatsdPort' | 'traceAgentPort' {
  return service === 'dogstatsd' ? 'dogstatsdPort' : 'traceAgentPort';
}

/** A bind failure as the error start() rejects with. */
function bindError(service: 'dogstatsd' | 'trace-agent', host: string, port: number, error: unknown): ServicesError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${service} cannot listen on ${host}:${port}`;
  if (code === 'EADDRINUSE') return new ServicesError('PORT_IN_USE', `${where}: the port is in use`, { field: portField(service), cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  return new ServicesError('INVALID_CONFIG', `invalid config: ${where}: ${reason}`, { field: portField(service), cause: error });
}

/** Span-level tags of the cloud origin plus DD_TAGS-style `key:value` tags as a map. */
function traceGlobalTags(config: ResolvedServicesConfig): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of config.tags) {
    const colon = tag.indexOf(':');
    if (colon > 0) tags[tag.slice(0, colon)] = tag.slice(colon + 1);
  }
  return tags;
}

function tagValue(config: ResolvedServicesConfig, key: string): string | undefined {
  const prefix = `${key}:`;
  return config.tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length);
}

export class ServerlessServices {
  private state: State = 'idle';
  private run: Running | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly flushCounts = { metrics: 0, traces: 0 };
  private lastStats: ServicesStats | null = null;
  private sizeFlushing = false;

  /**
   * Binds the listeners and starts the flush timers.
   *
   * @throws ServicesError `INVALID_CONFIG` naming the field, `PORT_IN_USE`, or `ALREADY_STARTED`.
   */
  start(config: ServicesConfig = {}, onStatus?: StatusListener): Promise<void> {
    if (this.state === 'starting' || this.state === 'running' || this.state === 'stopping') {
      return Promise.reject(new ServicesError('ALREADY_STARTED', `the services are already ${this.state === 'stopping' ? 'stopping' : 'started'}: call stop() first`));
    }
    this.state = 'starting';
    this.starting = this.bind(config, onStatus).then(
      () => {
        this.state = 'running';
      },
      (error: unknown) => {
        this.state = this.run === null && this.lastStats === null ? 'idle' : 'stopped';
        throw error;
      },
    );
    return this.starting;
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  ports(): ServicesPorts {
    return { dogstatsd: this.run?.dogstatsd?.port ?? null, traceAgent: this.run?.traceAgent?.port ?? null };
  }

  /**
   * Sends everything received so far, the open metric buckets included (a serverless function
   * calls this before it is frozen), and resolves once each payload is delivered or dropped.
   * Does nothing when the services are not running.
   */
  async flush(): Promise<void> {
    const run = this.run;
    if (run === null || this.state !== 'running') return;
    await Promise.all([this.flushMetrics(run, true), this.flushTraces(run)]);
    await run.intake.drain();
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === 'idle' || this.state === 'stopped') return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(new ServicesError('INVALID_CONFIG', `invalid config: timeoutMs must be a non-negative number, got ${String(timeoutMs)}`, { field: 'timeoutMs' }));
    }
    const startedAt = Date.now();
    this.stopping = (async () => {
      // A stop() during start() waits for the listeners, so that none is left bound.
      if (this.state === 'starting') await this.starting?.catch(() => undefined);
      const run = this.run;
      if (run === null || this.state !== 'running') return;
      this.state = 'stopping';
      await this.shutdown(run, Math.max(0, timeoutMs - (Date.now() - startedAt)), timeoutMs);
    })().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  stats(): ServicesStats {
    const run = this.run;
    if (run === null) return this.lastStats ?? { ...emptyServicesStats(), flushes: { ...this.flushCounts } };
    const listener = run.dogstatsd?.stats();
    const dogstatsd = run.aggregator
      ? { ...run.aggregator.stats(), socketErrors: listener?.socketErrors ?? 0, handlerErrors: listener?.handlerErrors ?? 0, receiveBufferBytes: listener?.receiveBufferBytes ?? 0 }
      : emptyDogStatsDStats();
    const traceAgent = run.traces ? { ...run.traces.stats(), ...(run.traceAgent?.stats() ?? emptyHttpStats()) } : emptyTraceAgentStats();
    return { backend: 'js', running: this.state === 'running', dogstatsd, traceAgent, intake: run.intake.stats(), flushes: { ...this.flushCounts } };
  }

  /** See cleanup-hook.ts for the exit codes. Returns a function that removes the hook. */
  registerCleanupHook(options: CleanupHookOptions = {}): () => void {
    return registerCleanupHook(this, options);
  }

  private async bind(options: ServicesConfig, onStatus: StatusListener | undefined): Promise<void> {
    const config = resolveServicesConfig(options);
    const { DogStatsDAggregator, TraceBuffer, createTraceAgentHandler, listenDogStatsD, listenTraceAgent, IntakeClient, TRACE_AGENT_ENDPOINTS } = await loadEngine();
    const emit = this.emitter(config.logLevel, onStatus);
    for (const warning of config.warnings) emit({ type: 'warning', message: warning }, 'warn');
    const intake = new IntakeClient({
      apiKey: config.apiKey,
      metricsIntakeUrl: config.metricsIntakeUrl,
      traceIntakeUrl: config.traceIntakeUrl,
      httpsProxy: config.httpsProxy,
      requestTimeoutMs: config.requestTimeoutMs,
      retry: config.retry,
      onDrop: (message) => emit({ type: 'error', service: 'intake', message }, 'error'),
      onRetry: (message) => emit(null, 'debug', message),
    });
    const aggregator = config.useDogstatsd
      ? new DogStatsDAggregator({
          globalTags: config.tags,
          maxContexts: config.maxContexts,
          ...(config.metricNamespace !== null ? { namespace: config.metricNamespace } : {}),
          ...(config.hostname !== null ? { hostname: config.hostname } : {}),
        })
      : null;
    const service = tagValue(config, 'service');
    const traces = config.useTraceAgent
      ? new TraceBuffer({
          globalTags: traceGlobalTags(config),
          agentVersion: SDK_VERSION,
          ...(config.env !== null ? { env: config.env } : {}),
          ...(config.hostname !== null ? { hostname: config.hostname } : {}),
          ...(service !== undefined ? { service } : {}),
          ...(config.cloud ? { spanTags: config.cloud.spanTags } : {}),
        })
      : null;

    const run: Running = { config, onStatus, aggregator, traces, dogstatsd: null, traceAgent: null, intake, timers: [] };
    const binds: Array<Promise<unknown>> = [];
    if (aggregator) {
      binds.push(
        listenDogStatsD({
          host: config.dogstatsdHost,
          port: config.dogstatsdPort,
          onDatagram: (datagram) => aggregator.ingest(datagram, Date.now()),
          onSocketError: (error) => emit({ type: 'error', service: 'dogstatsd', message: error.message }, 'error'),
        }).then(
          (listener) => {
            run.dogstatsd = listener;
          },
          (error: unknown) => {
            throw bindError('dogstatsd', config.dogstatsdHost, config.dogstatsdPort, error);
          },
        ),
      );
    }
    if (traces) {
      const answers = createTraceAgentHandler(traces, () => ({
        version: SDK_VERSION,
        endpoints: TRACE_AGENT_ENDPOINTS,
        statsdPort: run.dogstatsd?.port ?? null,
        receiverPort: run.traceAgent?.port ?? null,
        env: config.env,
      }));
      const handler = {
        ...answers,
        traces: (...args: Parameters<typeof answers.traces>) => {
          const result = answers.traces(...args);
          if (result.ok) this.flushTracesIfFull(run);
          return result;
        },
      };
      binds.push(
        listenTraceAgent({ host: config.traceAgentHost, port: config.traceAgentPort, handler }).then(
          (listener) => {
            run.traceAgent = listener;
          },
          (error: unknown) => {
            throw bindError('trace-agent', config.traceAgentHost, config.traceAgentPort, error);
          },
        ),
      );
    }
    const outcomes = await Promise.allSettled(binds);
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) {
      // Whatever did bind is released, so a failed start() leaves nothing open.
      await Promise.all([run.dogstatsd?.close(), run.traceAgent?.close(Date.now())]);
      intake.close();
      throw failed.reason;
    }

    this.run = run;
    this.lastStats = null;
    this.flushCounts.metrics = 0;
    this.flushCounts.traces = 0;
    if (run.dogstatsd) emit({ type: 'ready', service: 'dogstatsd', port: run.dogstatsd.port }, 'info', `dogstatsd listening on ${config.dogstatsdHost}:${run.dogstatsd.port}`);
    if (run.traceAgent) emit({ type: 'ready', service: 'trace-agent', port: run.traceAgent.port }, 'info', `trace agent listening on ${config.traceAgentHost}:${run.traceAgent.port}`);
    // Timers never keep the process alive by themselves: a program ends when its own work does.
    if (aggregator) run.timers.push(setInterval(() => void this.flushMetrics(run, false), config.flushIntervalMs).unref());
    if (traces) run.timers.push(setInterval(() => void this.flushTraces(run), config.traceFlushIntervalMs).unref());
  }

  private emitter(level: LogLevel, onStatus: StatusListener | undefined): (status: ServicesStatus | null, at: Exclude<LogLevel, 'off'>, line?: string) => void {
    return (status, at, line) => {
      const text = line ?? status?.message;
      if (text !== undefined && logLevelEnables(level, at)) process.stderr.write(`telemetry-kit services: ${at}: ${text}\n`);
      if (status === null || onStatus === undefined) return;
      try {
        onStatus(status);
      } catch {
        // A throwing status listener must not take the services down with it.
      }
    };
  }

  private async send(run: Running, payloads: IntakePayload[]): Promise<{ delivered: number; dropped: number }> {
    const results = await Promise.all(payloads.map((payload) => run.intake.send(payload)));
    const delivered = results.filter((result) => result.delivered).length;
    return { delivered, dropped: results.length - delivered };
  }

  private async flushMetrics(run: Running, final: boolean): Promise<void> {
    if (!run.aggregator) return;
    const flushed = run.aggregator.flush(Date.now(), final);
    const sketchCount = flushed.sketches === null ? 0 : 1;
    const payloads = [
      ...seriesPayloads(flushed.series),
      ...binaryPayload('sketches', flushed.sketches, sketchCount),
      ...eventPayloads(flushed.events),
      ...serviceCheckPayloads(flushed.serviceChecks),
    ];
    if (payloads.length === 0 && !final) return;
    this.flushCounts.metrics += 1;
    const outcome = await this.send(run, payloads);
    const emit = this.emitter(run.config.logLevel, run.onStatus);
    const message = `metrics: ${flushed.series.length} series, ${sketchCount} sketch payload${sketchCount === 1 ? '' : 's'}, ${flushed.events.length} events, ${flushed.serviceChecks.length} service checks (${outcome.delivered} requests delivered, ${outcome.dropped} dropped)`;
    emit({ type: 'flushed', service: 'intake', message }, 'debug');
  }

  private async flushTraces(run: Running): Promise<void> {
    if (!run.traces) return;
    if (run.traces.isEmpty()) return;
    const flushed = run.traces.flush(Date.now());
    const totalBytes = flushed.agentPayloads.reduce((sum, payload) => sum + payload.byteLength, 0) || 1;
    // Spans are reported per flush, not per payload: share them by size for drop accounting.
    const payloads = [
      ...flushed.agentPayloads.flatMap((payload) => binaryPayload('traces', payload, Math.round((flushed.spans * payload.byteLength) / totalBytes))),
      ...binaryPayload('stats', flushed.stats, flushed.statsPayloads),
    ];
    this.flushCounts.traces += 1;
    const outcome = await this.send(run, payloads);
    const emit = this.emitter(run.config.logLevel, run.onStatus);
    const message = `traces: ${flushed.traces} traces, ${flushed.spans} spans, ${flushed.statsPayloads} stats payloads (${outcome.delivered} requests delivered, ${outcome.dropped} dropped)`;
    emit({ type: 'flushed', service: 'intake', message }, 'debug');
  }

  /**
   * A busy tracer fills the buffer long before the next tick (at 50,000 spans/s, 3 s hold
   * 150,000 spans, three times what the buffer keeps): past a payload's worth, flush now.
   */
  private flushTracesIfFull(run: Running): void {
    if (this.sizeFlushing || !run.traces || run.traces.stats().bufferedSpans < SIZE_FLUSH_SPANS) return;
    this.sizeFlushing = true;
    void this.flushTraces(run).finally(() => {
      this.sizeFlushing = false;
    });
  }

  private async shutdown(run: Running, budgetMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    for (const timer of run.timers) clearInterval(timer);
    let expire: NodeJS.Timeout | undefined;
    // This timer is ref'd on purpose: it keeps the process alive until stop() settles, even
    // when called from beforeExit with nothing else left on the loop.
    const expired = new Promise<'expired'>((resolve) => {
      expire = setTimeout(() => resolve('expired'), budgetMs);
    });
    const work = (async () => {
      await Promise.all([run.dogstatsd?.close(), run.traceAgent?.close(deadline)]);
      await Promise.all([this.flushMetrics(run, true), this.flushTraces(run)]);
      await run.intake.drain();
      return 'done' as const;
    })();
    const outcome = await Promise.race([work, expired]);
    clearTimeout(expire);
    let failure: ServicesError | null = null;
    if (outcome === 'expired') {
      const before = run.intake.stats();
      run.intake.abort();
      await work;
      const after = run.intake.stats();
      const payloads = after.dropped.aborted - before.dropped.aborted;
      const items = after.droppedItems - before.droppedItems;
      const cutOff = run.traceAgent?.stats().cutOff ?? 0;
      // Past the deadline with nothing lost (the last step was finishing anyway) is no failure.
      if (payloads > 0 || cutOff > 0) {
        const requests = cutOff > 0 ? `, cut off ${cutOff} trace request${cutOff === 1 ? '' : 's'} still being received` : '';
        failure = new ServicesError(
          'SHUTDOWN_TIMEOUT',
          `stop() did not finish within ${timeoutMs} ms: dropped ${payloads} payload${payloads === 1 ? '' : 's'} (${items} items) still waiting for the intake${requests}`,
        );
      }
    }
    run.intake.close();
    this.lastStats = { ...this.stats(), running: false };
    this.run = null;
    this.state = 'stopped';
    const emit = this.emitter(run.config.logLevel, run.onStatus);
    if (failure) emit({ type: 'error', service: 'intake', message: failure.message }, 'error');
    emit({ type: 'stopped' }, 'info', 'services stopped');
    if (failure) throw failure;
  }
}
