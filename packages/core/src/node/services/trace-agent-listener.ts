/**
 * The trace agent's HTTP front (DESIGN.md §8): routes, methods, body limits and status codes.
 * What a body means (msgpack decoding, normalization, buffering) is the handler's business,
 * which lives in core; this file only speaks HTTP.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { MAX_TRACE_BODY_BYTES } from '../../services/config.js';
import type { HandlerResult, TraceAgentHandler, TracerRequestMeta } from '../../services/trace-agent-handler.js';
import { loadHttp } from './lazy-builtins.js';

export interface TraceAgentHttpStats {
  requests: number;
  /** Responses by status code. */
  responses: Record<string, number>;
  /** Clients that went away before their body was complete. */
  disconnects: number;
  /** Requests still being read when stop() ran out of time. */
  cutOff: number;
  bytesReceived: number;
}

export interface TraceAgentListener {
  readonly port: number;
  stats(): TraceAgentHttpStats;
  /** Requests whose body is being read or handled now. */
  inFlight(): number;
  /**
   * Stops accepting, lets requests in flight finish until `deadlineMs` (epoch ms), then cuts
   * the rest off (counted). Resolves once the server is closed.
   */
  close(deadlineMs: number): Promise<void>;
}

type Route = { kind: 'traces'; version: 'v0.4' | 'v0.5'; methods: readonly string[] } | { kind: 'stats' | 'info'; methods: readonly string[] };

const BODY_METHODS = ['PUT', 'POST'] as const;
const ROUTES: Readonly<Record<string, Route>> = {
  '/v0.4/traces': { kind: 'traces', version: 'v0.4', methods: BODY_METHODS },
  '/v0.5/traces': { kind: 'traces', version: 'v0.5', methods: BODY_METHODS },
  '/v0.6/stats': { kind: 'stats', methods: BODY_METHODS },
  '/info': { kind: 'info', methods: ['GET'] },
};

export const TRACE_AGENT_ENDPOINTS: readonly string[] = Object.keys(ROUTES);

function headerText(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function metaOf(req: IncomingMessage): TracerRequestMeta {
  const meta: TracerRequestMeta = {};
  const lang = headerText(req.headers['datadog-meta-lang']);
  const langVersion = headerText(req.headers['datadog-meta-lang-version']);
  const tracerVersion = headerText(req.headers['datadog-meta-tracer-version']);
  const containerId = headerText(req.headers['datadog-container-id']);
  const traceCount = Number(headerText(req.headers['x-datadog-trace-count']));
  if (lang !== undefined) meta.lang = lang;
  if (langVersion !== undefined) meta.langVersion = langVersion;
  if (tracerVersion !== undefined) meta.tracerVersion = tracerVersion;
  if (containerId !== undefined) meta.containerId = containerId;
  if (Number.isInteger(traceCount) && traceCount >= 0) meta.traceCount = traceCount;
  return meta;
}

export interface TraceAgentListenerOptions {
  host: string;
  port: number;
  handler: TraceAgentHandler;
  /** Defaults to 10 MiB, the Datadog agent's limit. */
  maxBodyBytes?: number;
}

export async function listenTraceAgent(options: TraceAgentListenerOptions): Promise<TraceAgentListener> {
  const { createServer } = await loadHttp();
  const maxBodyBytes = options.maxBodyBytes ?? MAX_TRACE_BODY_BYTES;
  const counters: TraceAgentHttpStats = { requests: 0, responses: {}, disconnects: 0, cutOff: 0, bytesReceived: 0 };
  const active = new Set<IncomingMessage>();

  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    counters.responses[status] = (counters.responses[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body);
  };

  const finish = (req: IncomingMessage): void => {
    active.delete(req);
  };

  const handle = (route: Route, body: Uint8Array, req: IncomingMessage, res: ServerResponse): void => {
    const meta = metaOf(req);
    let result: HandlerResult;
    try {
      result = route.kind === 'traces' ? options.handler.traces(route.version, body, meta) : route.kind === 'stats' ? options.handler.stats(body, meta) : options.handler.info();
    } catch (error) {
      // A bug in a handler answers this request 500; it must not take the process down.
      reply(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
    if (result.ok) reply(res, 200, result.body, { 'content-type': result.contentType ?? 'application/json' });
    else reply(res, 400, `${result.message}\n`);
  };

  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    counters.requests += 1;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = ROUTES[path];
    if (!route) {
      reply(res, 404, '404 page not found\n');
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      reply(res, 405, `method ${req.method ?? ''} not allowed on ${path}\n`, { allow: route.methods.join(', ') });
      return;
    }
    if (route.kind === 'info') {
      handle(route, new Uint8Array(0), req, res);
      return;
    }
    // Like the Datadog agent: a body must announce its length, so that the limit is decided
    // before a byte of it is read (a chunked body has no length).
    const declared = headerText(req.headers['content-length']);
    if (declared === undefined || req.headers['transfer-encoding'] !== undefined) {
      reply(res, 411, 'a Content-Length is required\n', { connection: 'close' });
      return;
    }
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0) {
      reply(res, 400, 'invalid Content-Length\n', { connection: 'close' });
      return;
    }
    if (length > maxBodyBytes) {
      reply(res, 413, `payload of ${length} bytes exceeds the ${maxBodyBytes}-byte limit\n`, { connection: 'close' });
      return;
    }
    active.add(req);
    // Chunks are kept as they arrive rather than into a buffer of the declared size: a client
    // announcing 10 MiB and sending nothing must not cost 10 MiB.
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      // The HTTP parser stops at Content-Length; checked anyway, the limit being the point.
      if (received + chunk.byteLength > length) {
        req.destroy();
        return;
      }
      chunks.push(chunk);
      received += chunk.byteLength;
      counters.bytesReceived += chunk.byteLength;
    });
    req.on('end', () => {
      finish(req);
      handle(route, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received), req, res);
    });
    // A client that disconnects mid-body: nothing to answer, nothing to keep.
    req.on('error', () => undefined);
    req.on('close', () => {
      if (!req.complete) {
        counters.disconnects += 1;
        finish(req);
      }
    });
  });
  // Tracers keep connections alive between flushes; an idle one must not hold the process open
  // (stop() keeps it alive while requests in flight finish).
  server.on('connection', (socket: Socket) => socket.unref());
  server.on('clientError', (_error: Error, socket: Socket) => {
    counters.responses['400'] = (counters.responses['400'] ?? 0) + 1;
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      // The listener never keeps a program alive by itself; a connection being served does.
      server.unref();
      const address = server.address();
      let closing: Promise<void> | null = null;
      resolve({
        port: typeof address === 'object' && address ? address.port : options.port,
        stats: () => ({ ...counters, responses: { ...counters.responses } }),
        inFlight: () => active.size,
        close: (deadlineMs) => {
          closing ??= new Promise<void>((done) => {
            // A connection becomes idle once its response is written; closing idle ones
            // every few ms ends each connection right after its last answer.
            const sweep = setInterval(() => server.closeIdleConnections(), 10);
            const timer = setTimeout(() => {
              counters.cutOff += active.size;
              active.clear();
              server.closeAllConnections();
            }, Math.max(0, deadlineMs - Date.now()));
            server.close(() => {
              clearInterval(sweep);
              clearTimeout(timer);
              done();
            });
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
}
