/**
 * Delivers flushed payloads to the Datadog intakes over HTTP(S): gzip where the intake takes
 * it, `DD-API-KEY`, a timeout on every request, retries with full-jitter backoff on 5xx, 408,
 * 429 and network errors (the policy lives in core), drops counted otherwise.
 */
import type { Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { IntakeEndpoint, IntakePayload } from '../../services/intake-payloads.js';
import { backoffDelayMs, retryAfterMs, verdictForStatus, type RetryPolicy } from '../../services/retry-policy.js';
import { SDK_VERSION } from '../../version.js';
import { openTunnel } from './https-proxy.js';
import { loadHttp, loadHttps, loadZlib } from './lazy-builtins.js';
import { emptyIntakeStats } from './services-stats.js';

async function gzip(body: Uint8Array): Promise<Buffer> {
  const { gzip: compress } = await loadZlib();
  return new Promise((resolve, reject) => compress(body, (error, result) => (error ? reject(error) : resolve(result))));
}

interface Route {
  base: 'metrics' | 'traces';
  path: string;
  contentType: string;
  gzip: boolean;
}

/** DESIGN.md §8. The v1 events and check_run APIs take small plain JSON bodies. */
export const INTAKE_ROUTES: Readonly<Record<IntakeEndpoint, Route>> = {
  series: { base: 'metrics', path: '/api/v2/series', contentType: 'application/json', gzip: true },
  sketches: { base: 'metrics', path: '/api/beta/sketches', contentType: 'application/x-protobuf', gzip: true },
  events: { base: 'metrics', path: '/api/v1/events', contentType: 'application/json', gzip: false },
  check_run: { base: 'metrics', path: '/api/v1/check_run', contentType: 'application/json', gzip: false },
  traces: { base: 'traces', path: '/api/v0.2/traces', contentType: 'application/x-protobuf', gzip: true },
  stats: { base: 'traces', path: '/api/v0.2/stats', contentType: 'application/msgpack', gzip: true },
};

export type DropReason = 'rejected' | 'exhausted' | 'aborted' | 'overflow';

export type DeliveryResult = { delivered: true; attempts: number } | { delivered: false; reason: DropReason; status?: number };

export interface IntakeClientOptions {
  apiKey: string | null;
  metricsIntakeUrl: string;
  traceIntakeUrl: string;
  httpsProxy: string | null;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  /** Requests at once; more wait their turn. Defaults to 8. */
  maxConcurrent?: number;
  /** Payloads waiting or in flight; beyond this new ones are dropped (`overflow`). Defaults to 1,000. */
  maxQueued?: number;
  /** Called once per dropped payload, with a message naming the endpoint and the cause. */
  onDrop?: (message: string, payload: IntakePayload, reason: DropReason) => void;
  /** Called for each failed attempt that will be retried. */
  onRetry?: (message: string) => void;
  random?: () => number;
  /** Extra TLS options (a private CA in tests). */
  tls?: ConnectionOptions;
}

export interface IntakeStats {
  /** Payloads handed to the client. */
  payloads: number;
  delivered: number;
  /** HTTP attempts, retries included. */
  requests: number;
  retries: number;
  /** Attempts answered with an error status or failed on the network. */
  errors: number;
  /** Payloads given up on, by reason, and what they held. */
  dropped: Record<DropReason, number>;
  droppedItems: number;
  bytesSent: number;
  lastError: string | null;
  /** Payloads waiting or in flight now. */
  pending: number;
}

type AttemptOutcome = { status: number; retryAfter: string | undefined; detail: string } | { error: Error };

class Aborted extends Error {}

export class IntakeClient {
  private readonly controller = new AbortController();
  // Made on first request (the modules load lazily), kept alive between flushes.
  private httpAgent: HttpAgent | null = null;
  private httpsAgent: HttpsAgent | null = null;
  private readonly proxy: URL | null;
  private readonly outstanding = new Set<Promise<DeliveryResult>>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private readonly counters: IntakeStats = emptyIntakeStats();

  constructor(private readonly options: IntakeClientOptions) {
    this.proxy = options.httpsProxy ? new URL(options.httpsProxy) : null;
  }

  /** Resolves once the payload is delivered or dropped; never rejects. */
  send(payload: IntakePayload): Promise<DeliveryResult> {
    this.counters.payloads += 1;
    if (this.controller.signal.aborted) return Promise.resolve(this.drop(payload, 'aborted', 'the client is closed'));
    if (this.outstanding.size >= (this.options.maxQueued ?? 1_000)) {
      return Promise.resolve(this.drop(payload, 'overflow', `${this.outstanding.size} payloads are already waiting`));
    }
    // deliver() handles every HTTP outcome; what is left (a compression failure) is a drop too.
    const delivery = this.deliver(payload).catch((error: unknown) =>
      this.drop(payload, 'rejected', `cannot send ${payload.endpoint}: ${error instanceof Error ? error.message : String(error)}`),
    );
    this.outstanding.add(delivery);
    void delivery.finally(() => this.outstanding.delete(delivery));
    return delivery;
  }

  /** Resolves when every payload handed over so far is delivered or dropped. */
  async drain(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
  }

  /** Gives up on everything pending (each counted as dropped, `aborted`); later sends are dropped too. */
  abort(): void {
    this.controller.abort();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Aborts and releases the kept-alive sockets: nothing stays open. */
  close(): void {
    this.abort();
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }

  stats(): IntakeStats {
    return { ...this.counters, dropped: { ...this.counters.dropped }, pending: this.outstanding.size };
  }

  private urlOf(payload: IntakePayload): URL {
    const route = INTAKE_ROUTES[payload.endpoint];
    const base = route.base === 'metrics' ? this.options.metricsIntakeUrl : this.options.traceIntakeUrl;
    return new URL(`${base}${route.path}`);
  }

  private async deliver(payload: IntakePayload): Promise<DeliveryResult> {
    const route = INTAKE_ROUTES[payload.endpoint];
    const url = this.urlOf(payload);
    const what = `${payload.endpoint} (${payload.items} item${payload.items === 1 ? '' : 's'})`;
    const body = route.gzip ? await gzip(payload.body) : Buffer.from(payload.body.buffer, payload.body.byteOffset, payload.body.byteLength);
    const headers: Record<string, string> = {
      'content-type': route.contentType,
      'content-length': String(body.byteLength),
      'user-agent': `telemetry-kit/${SDK_VERSION}`,
      ...payload.headers,
    };
    if (route.gzip) headers['content-encoding'] = 'gzip';
    if (this.options.apiKey !== null) headers['dd-api-key'] = this.options.apiKey;
    const { retry } = this.options;
    for (let attempt = 1; ; attempt += 1) {
      let outcome: AttemptOutcome;
      try {
        outcome = await this.withSlot(() => this.attempt(url, body, headers));
      } catch (error) {
        if (error instanceof Aborted) return this.drop(payload, 'aborted', `gave up on ${what} at shutdown`);
        throw error;
      }
      if ('status' in outcome && verdictForStatus(outcome.status) === 'delivered') {
        this.counters.delivered += 1;
        return { delivered: true, attempts: attempt };
      }
      this.counters.errors += 1;
      const failure = 'status' in outcome ? `${outcome.status}${outcome.detail ? ` ${outcome.detail}` : ''}` : outcome.error.message;
      this.counters.lastError = `POST ${url.pathname}: ${failure}`;
      if (this.controller.signal.aborted) return this.drop(payload, 'aborted', `gave up on ${what} at shutdown`);
      if ('status' in outcome && verdictForStatus(outcome.status) === 'drop') {
        return this.drop(payload, 'rejected', `intake answered ${failure} to POST ${url.pathname}: dropped ${what}`, outcome.status);
      }
      if (attempt >= retry.maxAttempts) {
        return this.drop(payload, 'exhausted', `POST ${url.pathname} failed ${attempt} times (last: ${failure}): dropped ${what}`);
      }
      const fromHeader = 'status' in outcome ? retryAfterMs(outcome.retryAfter, Date.now(), retry) : null;
      const delay = fromHeader ?? backoffDelayMs(attempt - 1, retry, this.options.random ?? Math.random);
      this.options.onRetry?.(`POST ${url.pathname} failed (${failure}); retrying ${what} in ${delay} ms`);
      this.counters.retries += 1;
      if (!(await this.sleep(delay))) return this.drop(payload, 'aborted', `gave up on ${what} at shutdown`);
    }
  }

  private drop(payload: IntakePayload, reason: DropReason, message: string, status?: number): DeliveryResult {
    this.counters.dropped[reason] += 1;
    this.counters.droppedItems += payload.items;
    this.counters.lastError = message;
    this.options.onDrop?.(message, payload, reason);
    return status === undefined ? { delivered: false, reason } : { delivered: false, reason, status };
  }

  /** False when woken by `abort()`. The timer does not hold the process open for a retry. */
  private sleep(ms: number): Promise<boolean> {
    if (this.controller.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.controller.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      timer.unref();
      this.controller.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async withSlot<T>(run: () => Promise<T>): Promise<T> {
    const limit = this.options.maxConcurrent ?? 8;
    while (this.active >= limit) {
      if (this.controller.signal.aborted) throw new Aborted();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.controller.signal.aborted) throw new Aborted();
    this.active += 1;
    try {
      return await run();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  private async attempt(url: URL, body: Buffer, headers: Record<string, string>): Promise<AttemptOutcome> {
    this.counters.requests += 1;
    const secure = url.protocol === 'https:';
    const transport = secure ? await loadHttps() : await loadHttp();
    const port = Number(url.port || (secure ? 443 : 80));
    const requestOptions: RequestOptions = {
      method: 'POST',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      path: `${url.pathname}${url.search}`,
      headers,
      signal: this.controller.signal,
    };
    try {
      if (secure && this.proxy) {
        const socket = await openTunnel({
          proxy: this.proxy,
          host: requestOptions.host as string,
          port,
          timeoutMs: this.options.requestTimeoutMs,
          signal: this.controller.signal,
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        });
        // No agent at all: with `agent: false` Node builds a fresh Agent, which ignores
        // createConnection and would dial the intake directly, bypassing the tunnel.
        requestOptions.createConnection = () => socket;
      } else if (secure) {
        this.httpsAgent ??= new (transport as typeof import('node:https')).Agent({ keepAlive: true, maxSockets: 8, ...this.options.tls });
        requestOptions.agent = this.httpsAgent;
      } else {
        this.httpAgent ??= new transport.Agent({ keepAlive: true, maxSockets: 8 });
        requestOptions.agent = this.httpAgent;
      }
    } catch (error) {
      return { error: error instanceof Error ? error : new Error(String(error)) };
    }
    return new Promise((resolve) => {
      const sent = transport.request(requestOptions);
      // One bound on the whole exchange, connection to last byte: a socket idle timeout alone
      // would let a slow-dripping intake hold a flush (and a shutdown) forever.
      const timer = setTimeout(() => sent.destroy(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)), this.options.requestTimeoutMs);
      const settle = (outcome: AttemptOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      sent.once('response', (response: IncomingMessage) => {
        let detail = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (detail.length < 200) detail += chunk;
        });
        response.once('end', () => {
          this.counters.bytesSent += body.byteLength;
          settle({ status: response.statusCode ?? 0, retryAfter: headerValue(response.headers['retry-after']), detail: oneLine(detail) });
        });
        response.once('error', (error) => settle({ error }));
      });
      sent.once('error', (error) => settle({ error }));
      sent.end(body);
    });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}
