/**
 * The ingestion server (`telemetry-kit serve`): node:http, routing, error answers and the
 * server's life cycle. What each endpoint does is in ingest-handler.ts and query-handlers.ts;
 * the wire protocol is docs/PROTOCOL.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVER_ERROR_CODES } from '@telemetry-kit/core/node';
import { createEventValidator, type EventCheck } from './event-validator.js';
import { ClientGoneError, HttpError, sendError, sendJson } from './http-io.js';
import { handleIngest, type BodyState, type IngestContext } from './ingest-handler.js';
import { handleHealth, handleListEvents, handleSummary, type QueryContext } from './query-handlers.js';
import { TokenBuckets } from './rate-limiter.js';
import { DEFAULT_RATE_LIMIT, isOpenStorage, resolveLimits, type IngestServerOptions } from './server-options.js';
import { defaultServerDataDir, openIngestStorage } from './storage/open-storage.js';
import type { IngestStorage } from './storage/types.js';

export interface IngestServer {
  /** Opens the storage, binds, and resolves to the base URL (`http://127.0.0.1:3000`). Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets requests in progress finish (at most `graceMs`), then closes the storage. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** The base URL once listening. */
  readonly url: string | null;
}

type Route =
  | { kind: 'ingest'; method: 'POST'; orgId: string; appId: string }
  | { kind: 'events'; method: 'GET'; appId: string }
  | { kind: 'summary'; method: 'GET'; appId: string }
  | { kind: 'health'; method: 'GET' };

const INGEST_PATH = /^\/v1\/ingest\/([^/]+)\/([^/]+)\/?$/;
const APP_PATH = /^\/v1\/apps\/([^/]+)\/(events|summary)\/?$/;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, SERVER_ERROR_CODES.malformed, `malformed path segment ${JSON.stringify(segment.slice(0, 80))}`);
  }
}

function route(pathname: string): Route | null {
  if (pathname === '/health') return { kind: 'health', method: 'GET' };
  const ingest = INGEST_PATH.exec(pathname);
  if (ingest?.[1] !== undefined && ingest[2] !== undefined) {
    return { kind: 'ingest', method: 'POST', orgId: decodeSegment(ingest[1]), appId: decodeSegment(ingest[2]) };
  }
  const app = APP_PATH.exec(pathname);
  if (app?.[1] !== undefined) return { kind: app[2] === 'events' ? 'events' : 'summary', method: 'GET', appId: decodeSegment(app[1]) };
  return null;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function createIngestServer(options: IngestServerOptions = {}): IngestServer {
  const limits = resolveLimits(options.limits);
  const clock = options.clock ?? Date.now;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const buckets = options.rateLimit === false ? null : new TokenBuckets(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const spec = options.storage ?? { dataDir: defaultServerDataDir() };
  const ownsStorage = !isOpenStorage(spec);
  let storage: IngestStorage | null = isOpenStorage(spec) ? spec : null;
  let validate: EventCheck | null = null;
  let url: string | null = null;
  let closing: Promise<void> | null = null;

  async function dispatch(req: IncomingMessage, res: ServerResponse, bodyState: BodyState): Promise<void> {
    if (storage === null || validate === null) throw new HttpError(503, SERVER_ERROR_CODES.unavailable, 'server is not ready');
    const target = new URL(req.url ?? '/', 'http://server');
    const found = route(target.pathname);
    if (found === null) throw new HttpError(404, SERVER_ERROR_CODES.notFound, `no endpoint at ${target.pathname.slice(0, 200)}`);
    if (req.method !== found.method) {
      throw new HttpError(405, SERVER_ERROR_CODES.methodNotAllowed, `${req.method ?? '?'} is not allowed here: use ${found.method}`, { allow: found.method });
    }
    const queryCtx: QueryContext = { storage, clock, buckets };
    switch (found.kind) {
      case 'health': {
        const answer = await handleHealth(storage);
        sendJson(res, answer.status, answer.body);
        return;
      }
      case 'events':
        sendJson(res, 200, await handleListEvents(queryCtx, req, found.appId, target.searchParams));
        return;
      case 'summary':
        sendJson(res, 200, await handleSummary(queryCtx, req, found.appId));
        return;
      case 'ingest': {
        const ctx: IngestContext = { storage, validate, limits, clock, buckets };
        const answer = await handleIngest(ctx, req, found.orgId, found.appId, bodyState);
        sendJson(res, answer.status, answer.body);
        return;
      }
    }
  }

  const server = createServer((req, res) => {
    const bodyState: BodyState = { consumed: false };
    dispatch(req, res, bodyState).catch((error: unknown) => {
      if (error instanceof ClientGoneError) {
        req.destroy();
        return;
      }
      let answer: HttpError;
      if (error instanceof HttpError) answer = error;
      else {
        log(`telemetry-kit server: ${req.method ?? '?'} ${req.url ?? '?'} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        answer = new HttpError(500, SERVER_ERROR_CODES.internal, 'internal error: the request was not stored, retry later');
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An answer given before the body was read closes the connection rather than read the body.
      sendError(res, answer, !bodyState.consumed && hasBody(req) ? { connection: 'close' } : {});
    });
  });
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(requestTimeoutMs, 20_000);

  return {
    get url() {
      return url;
    },

    async listen(port = 3000, host = '127.0.0.1'): Promise<string> {
      if (url !== null) throw new Error(`already listening on ${url}`);
      const openedHere = storage === null;
      if (storage === null && !isOpenStorage(spec)) storage = await openIngestStorage({ clock, log, ...spec });
      if (storage === null) throw new Error('no storage');
      try {
        validate ??= await createEventValidator();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        if (openedHere && ownsStorage) {
          await storage.close().catch(() => undefined);
          storage = null;
        }
        throw error;
      }
      const address = server.address() as AddressInfo;
      url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      return url;
    },

    close(closeOptions: { graceMs?: number } = {}): Promise<void> {
      closing ??= (async () => {
        if (server.listening) {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const grace = setTimeout(() => server.closeAllConnections(), closeOptions.graceMs ?? 5_000);
          await stopped;
          clearTimeout(grace);
        }
        if (ownsStorage && storage !== null) await storage.close();
      })();
      return closing;
    },
  };
}
