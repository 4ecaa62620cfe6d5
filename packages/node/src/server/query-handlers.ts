/**
 * Reading back: `GET /v1/apps/{appId}/events` and `GET /v1/apps/{appId}/summary`, authorized by
 * the app's bearer token (no signature: these requests carry no body to sign), and `/health`.
 */
import type { IncomingMessage } from 'node:http';
import { SDK_VERSION, SERVER_ERROR_CODES } from '@telemetry-kit/core/node';
import { HttpError } from './http-io.js';
import { rateLimited } from './ingest-handler.js';
import type { TokenBuckets } from './rate-limiter.js';
import { bearerToken } from './request-verification.js';
import type { AppSummary } from './summary.js';
import type { IngestStorage } from './storage/types.js';

export interface QueryContext {
  storage: IngestStorage;
  clock: () => number;
  buckets: TokenBuckets | null;
}

export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 1000;

async function authorizeApp(ctx: QueryContext, req: IncomingMessage, appId: string): Promise<void> {
  const app = await ctx.storage.apps.findByToken(bearerToken(req.headers));
  if (app === null || app.revokedAt !== null) throw new HttpError(401, SERVER_ERROR_CODES.unauthorized, 'unknown or revoked token', { 'www-authenticate': 'Bearer' });
  if (app.appId !== appId) throw new HttpError(403, SERVER_ERROR_CODES.forbidden, `this token is not valid for app ${appId}`);
  const wait = ctx.buckets?.take(app.appId, ctx.clock()) ?? 0;
  if (wait > 0) throw rateLimited(wait);
}

export interface EventsAnswer {
  app_id: string;
  count: number;
  events: unknown[];
}

export async function handleListEvents(ctx: QueryContext, req: IncomingMessage, appId: string, query: URLSearchParams): Promise<EventsAnswer> {
  await authorizeApp(ctx, req, appId);
  const limitText = query.get('limit');
  let limit = DEFAULT_EVENTS_LIMIT;
  if (limitText !== null) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_EVENTS_LIMIT) {
      throw new HttpError(400, SERVER_ERROR_CODES.malformed, `limit must be an integer from 1 to ${MAX_EVENTS_LIMIT}, got ${JSON.stringify(limitText.slice(0, 20))}`);
    }
  }
  const type = query.get('type');
  if (type !== null && (type.length < 1 || type.length > 64)) throw new HttpError(400, SERVER_ERROR_CODES.malformed, 'type must be 1 to 64 characters');
  const events = await ctx.storage.listEvents(appId, type === null ? { limit } : { limit, type });
  return { app_id: appId, count: events.length, events };
}

export async function handleSummary(ctx: QueryContext, req: IncomingMessage, appId: string): Promise<AppSummary> {
  await authorizeApp(ctx, req, appId);
  return ctx.storage.summary(appId);
}

export interface HealthAnswer {
  status: 'ok' | 'unavailable';
  storage: string;
  version: string;
  error?: { code: string; message: string };
}

export async function handleHealth(storage: IngestStorage): Promise<{ status: 200 | 503; body: HealthAnswer }> {
  try {
    await storage.ping();
    return { status: 200, body: { status: 'ok', storage: storage.kind, version: SDK_VERSION } };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: 503, body: { status: 'unavailable', storage: storage.kind, version: SDK_VERSION, error: { code: SERVER_ERROR_CODES.unavailable, message } } };
  }
}
