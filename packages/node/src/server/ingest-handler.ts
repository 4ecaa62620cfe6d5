/**
 * `POST /v1/ingest/{orgId}/{appId}`, checked in this order so that no request reaches the
 * body before its token, app and timestamp are known good:
 *
 *   headers present and well-formed (400) → token known and not revoked (401) → token of this
 *   org/app (403) → timestamp within the skew bound (401) → rate limit (429) → declared size
 *   (413) → body, bounded as it streams and after gunzip (413, 400 bad_encoding) → signature
 *   (401) → nonce (409) → JSON (400) → 1..max events (400/413) → X-Batch-Size (400) →
 *   per-event schema (207) → store (durable) → 200/207.
 *
 * The rate limit is peeked before the body and taken after the signature, so that requests
 * forged with a leaked token but no secret cannot use up the app's allowance.
 */
import type { IncomingMessage } from 'node:http';
import { SERVER_ERROR_CODES, type EventRejection, type IngestPartialBody, type IngestSuccessBody } from '@telemetry-kit/core/node';
import { eventRow, type EventRow } from './event-row.js';
import type { EventCheck } from './event-validator.js';
import { HttpError, decodeBody, payloadTooLarge, readBoundedBody } from './http-io.js';
import type { TokenBuckets } from './rate-limiter.js';
import { readIngestHeaders, signatureMatches } from './request-verification.js';
import type { IngestLimits } from './server-options.js';
import type { IngestStorage } from './storage/types.js';

export interface IngestContext {
  storage: IngestStorage;
  validate: EventCheck;
  limits: IngestLimits;
  clock: () => number;
  buckets: TokenBuckets | null;
}

export interface IngestAnswer {
  status: 200 | 207;
  body: IngestSuccessBody | IngestPartialBody;
}

/** Set on a request whose body was not read, so the answer closes the connection instead of reading it. */
export interface BodyState {
  consumed: boolean;
}

export function rateLimited(waitMs: number): HttpError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new HttpError(429, SERVER_ERROR_CODES.rateLimited, `rate limit exceeded: retry in ${seconds} s`, { 'retry-after': String(seconds) });
}

function rejection(event: unknown, message: string): EventRejection {
  const id = typeof event === 'object' && event !== null ? (event as Record<string, unknown>)['event_id'] : undefined;
  return { event_id: typeof id === 'string' ? id : '', code: 'schema', message };
}

function parseEvents(body: Buffer, limits: IngestLimits): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, SERVER_ERROR_CODES.malformed, `body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, SERVER_ERROR_CODES.malformed, 'body must be a JSON object {"events":[...]}');
  }
  const events = (parsed as Record<string, unknown>)['events'];
  if (!Array.isArray(events)) throw new HttpError(400, SERVER_ERROR_CODES.malformed, 'body must have an "events" array');
  if (events.length === 0) throw new HttpError(400, SERVER_ERROR_CODES.malformed, '"events" is empty: send 1 to 1000 events');
  if (events.length > limits.maxEvents) {
    throw new HttpError(413, SERVER_ERROR_CODES.tooManyEvents, `${events.length} events: at most ${limits.maxEvents} per request`);
  }
  return events;
}

export async function handleIngest(ctx: IngestContext, req: IncomingMessage, orgId: string, appId: string, bodyState: BodyState): Promise<IngestAnswer> {
  const { limits, storage } = ctx;
  const headers = readIngestHeaders(req.headers);

  const app = await storage.apps.findByToken(headers.token);
  if (app === null || app.revokedAt !== null) throw new HttpError(401, SERVER_ERROR_CODES.unauthorized, 'unknown or revoked token');
  if (app.orgId !== orgId || app.appId !== appId) {
    throw new HttpError(403, SERVER_ERROR_CODES.forbidden, `this token is not valid for ${orgId}/${appId}`);
  }
  const now = ctx.clock();
  const skew = Math.abs(now / 1000 - headers.timestampSeconds);
  if (skew > limits.maxClockSkewSeconds) {
    throw new HttpError(
      401,
      SERVER_ERROR_CODES.timestampSkew,
      `X-Timestamp ${headers.timestamp} is ${Math.round(skew)} s from the server's clock (${Math.floor(now / 1000)}); at most ${limits.maxClockSkewSeconds} s allowed`,
    );
  }
  const bucketKey = app.appId;
  const wait = ctx.buckets?.waitMs(bucketKey, now) ?? 0;
  if (wait > 0) throw rateLimited(wait);
  if (headers.batchSize > limits.maxEvents) {
    throw new HttpError(413, SERVER_ERROR_CODES.tooManyEvents, `X-Batch-Size ${headers.batchSize}: at most ${limits.maxEvents} events per request`);
  }
  if (headers.contentLength !== null && headers.contentLength > limits.maxBodyBytes) {
    throw payloadTooLarge(`Content-Length ${headers.contentLength} exceeds ${limits.maxBodyBytes} bytes`);
  }

  bodyState.consumed = true;
  const raw = await readBoundedBody(req, limits.maxBodyBytes);
  const body = await decodeBody(raw, headers.encoding, limits.maxBodyBytes);
  if (!signatureMatches(app.secret, headers.timestamp, headers.nonce, body, headers.signature)) {
    throw new HttpError(401, SERVER_ERROR_CODES.badSignature, 'X-Signature does not match HMAC-SHA256(secret, "<timestamp>:<nonce>:<body>")');
  }
  const taken = ctx.buckets?.take(bucketKey, ctx.clock()) ?? 0;
  if (taken > 0) throw rateLimited(taken);
  const claimedAt = ctx.clock();
  if (!(await storage.claimNonce(headers.nonce, claimedAt, claimedAt + limits.nonceWindowSeconds * 1000))) {
    throw new HttpError(409, SERVER_ERROR_CODES.nonceReplayed, `X-Nonce ${headers.nonce} was already used: send each request with a fresh nonce`);
  }

  const events = parseEvents(body, limits);
  if (headers.batchSize !== events.length) {
    throw new HttpError(400, SERVER_ERROR_CODES.batchSizeMismatch, `X-Batch-Size is ${headers.batchSize} but the body holds ${events.length} events`);
  }

  const receivedAt = ctx.clock();
  const rows: EventRow[] = [];
  const errors: EventRejection[] = [];
  const seen = new Set<string>();
  let repeatedInBatch = 0;
  for (const event of events) {
    const problem = ctx.validate(event);
    if (problem !== null) {
      errors.push(rejection(event, problem));
      continue;
    }
    const row = eventRow(event as Record<string, unknown>, orgId, appId, receivedAt);
    if (seen.has(row.eventId)) {
      repeatedInBatch++;
      continue;
    }
    seen.add(row.eventId);
    rows.push(row);
  }

  const stored = await storage.storeBatch({
    orgId,
    appId,
    nonce: headers.nonce,
    nonceExpiresAt: claimedAt + limits.nonceWindowSeconds * 1000,
    receivedAt,
    rows,
  });
  const duplicates = stored.duplicates + repeatedInBatch;
  if (errors.length === 0) {
    return { status: 200, body: { status: 'success', accepted: stored.accepted, rejected: 0, duplicates } };
  }
  return { status: 207, body: { status: 'partial', accepted: stored.accepted, rejected: errors.length, duplicates, errors } };
}
