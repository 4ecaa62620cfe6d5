/**
 * One sync pass of the JS engine (docs/PROTOCOL.md, "Client behaviour"; the Rust engine runs
 * the same algorithm): sends the oldest pending events in signed batches until none is left
 * or an answer ends the pass, and records each answer in the store.
 */
import type { SyncCredentials } from '../config.js';
import type { Delivery, EventCounts, PendingEvent } from '../storage.js';
import type { SyncError, SyncOutcome, SyncPassOptions } from './outcome.js';
import {
  HEADER,
  MAX_BODY_BYTES,
  PROTOCOL_SCHEMA_VERSION,
  ingestUrl,
  parseRetryAfter,
  signRequest,
  type EventRejection,
  type HmacSha256Hex,
} from './protocol.js';
import { NetworkError, type Gzip, type HttpResponse, type HttpTransport } from './transport.js';

/** The store operations a pass needs. */
export interface SyncStore {
  pendingBatch(limit: number): Promise<PendingEvent[]>;
  settle(delivery: Delivery): Promise<void>;
  counts(): Promise<EventCounts>;
}

/**
 * Batches read, and answers recorded, per store write. Each write rewrites the database file;
 * recording ten answers at once makes a large backlog's sync about that much cheaper, and a
 * crash in between only means those batches are sent again (the server dedupes by event_id).
 */
const BATCHES_PER_WRITE = 10;

export interface SyncPassDeps {
  credentials: SyncCredentials;
  batchSize: number;
  requestTimeoutMs: number;
  /** null: send uncompressed. */
  gzip: Gzip | null;
  /** `telemetry-kit-node/<version> (<backend>)`. */
  sdkVersion: string;
  transport: HttpTransport;
  hmac: HmacSha256Hex;
  uuid: () => string;
  now: () => number;
}

/** Ends the pass: the batch stays pending for a later one. */
class PassStop extends Error {
  constructor(readonly syncError: SyncError) {
    super(syncError.message);
  }
}

interface Tally {
  accepted: number;
  rejected: number;
  duplicates: number;
  batches: number;
}

const encoder = new TextEncoder();

function batchBody(batch: readonly PendingEvent[]): string {
  let body = '{"events":[';
  for (let i = 0; i < batch.length; i += 1) body += (i === 0 ? '' : ',') + (batch[i] as PendingEvent).body;
  return `${body}]}`;
}

function readJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/** `code: message` of an error body, or the status when the body says nothing usable. */
function serverMessage(response: HttpResponse): { serverCode: string | null; message: string } {
  const error = readJson(response.body)?.error;
  if (error !== null && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const serverCode = typeof code === 'string' ? code : null;
    const text = typeof message === 'string' ? message : '';
    return { serverCode, message: `HTTP ${response.status}${serverCode ? ` ${serverCode}` : ''}${text ? `: ${text}` : ''}` };
  }
  return { serverCode: null, message: `HTTP ${response.status}` };
}

function rejections(body: Record<string, unknown>): EventRejection[] {
  const errors = body.errors;
  if (!Array.isArray(errors)) return [];
  const result: EventRejection[] = [];
  for (const item of errors) {
    if (item === null || typeof item !== 'object') continue;
    const { event_id: id, code, message } = item as Record<string, unknown>;
    if (typeof id === 'string') result.push({ event_id: id, code: typeof code === 'string' ? code : 'rejected', message: typeof message === 'string' ? message : '' });
  }
  return result;
}

export class SyncPass {
  private readonly tally: Tally = { accepted: 0, rejected: 0, duplicates: 0, batches: 0 };
  /** Answers not yet recorded in the store. */
  private synced: string[] = [];
  private deadLettered: Array<{ eventIds: string[]; reason: string }> = [];
  private lastAnswerAt: number | null = null;

  constructor(
    private readonly store: SyncStore,
    private readonly deps: SyncPassDeps,
    private readonly options: SyncPassOptions,
  ) {}

  async run(): Promise<SyncOutcome> {
    const { batchSize } = this.deps;
    let error: SyncError | null = null;
    try {
      while (!this.budgetSpent()) {
        const chunk = await this.store.pendingBatch(batchSize * BATCHES_PER_WRITE);
        if (chunk.length === 0) break;
        for (let start = 0; start < chunk.length && !this.budgetSpent(); start += batchSize) {
          await this.send(chunk.slice(start, start + batchSize));
        }
        if (chunk.length < batchSize * BATCHES_PER_WRITE) break;
        await this.record(null);
      }
    } catch (caught) {
      if (!(caught instanceof PassStop)) {
        await this.record(null);
        throw caught;
      }
      error = caught.syncError;
    }
    await this.record(error);
    const remaining = (await this.store.counts()).pending;
    return { ...this.tally, remaining, error };
  }

  /** Writes the answers gathered so far, the last sync time and (at the end) the pass's error. */
  private async record(error: SyncError | null | undefined): Promise<void> {
    const meta: Delivery['meta'] = {};
    if (this.lastAnswerAt !== null) meta.last_sync = new Date(this.lastAnswerAt).toISOString();
    if (error) meta.last_error = JSON.stringify({ code: error.code, message: error.message, at: new Date(this.deps.now()).toISOString() });
    else if (error === null && this.tally.batches > 0) meta.last_error = null;
    if (this.synced.length === 0 && this.deadLettered.length === 0 && Object.keys(meta).length === 0) return;
    const delivery: Delivery = { synced: this.synced, deadLettered: this.deadLettered, at: new Date(this.lastAnswerAt ?? this.deps.now()), meta };
    this.synced = [];
    this.deadLettered = [];
    await this.store.settle(delivery);
  }

  private budgetSpent(): boolean {
    const { maxBatches, deadlineMs } = this.options;
    if (maxBatches !== undefined && this.tally.batches >= maxBatches) return true;
    return deadlineMs !== undefined && this.deps.now() >= deadlineMs;
  }

  private async send(batch: readonly PendingEvent[]): Promise<void> {
    const body = batchBody(batch);
    if (batch.length > 1 && encoder.encode(body).byteLength > MAX_BODY_BYTES) {
      await this.split(batch);
      return;
    }
    let response = await this.post(body, batch.length);
    // A replayed nonce is our bad luck or a proxy's retry: one fresh nonce settles it.
    if (response.status === 409) response = await this.post(body, batch.length);
    await this.answer(batch, response);
  }

  private async split(batch: readonly PendingEvent[]): Promise<void> {
    const half = Math.ceil(batch.length / 2);
    await this.send(batch.slice(0, half));
    if (!this.budgetSpent()) await this.send(batch.slice(half));
  }

  private async answer(batch: readonly PendingEvent[], response: HttpResponse): Promise<void> {
    const { status } = response;
    if (status === 200 || status === 207) {
      const body = readJson(response.body);
      if (body === null) throw new PassStop({ code: 'SERVER', status, message: `HTTP ${status} with an unreadable body` });
      await this.settle(batch, body);
      return;
    }
    if (status === 413 || status === 400) {
      // Halving isolates what the server refuses; a single refused event is dead-lettered.
      if (batch.length > 1) {
        await this.split(batch);
        return;
      }
      const { message } = serverMessage(response);
      this.deadLettered.push({ eventIds: [(batch[0] as PendingEvent).eventId], reason: message });
      this.tally.rejected += 1;
      this.answered();
      return;
    }
    const { serverCode, message } = serverMessage(response);
    if (status === 401 || status === 403) {
      throw new PassStop({ code: 'AUTH', status, message: serverCode ? message : `HTTP ${status}: credentials refused` });
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers[HEADER.retryAfter], this.deps.now());
      throw new PassStop({ code: 'RATE_LIMITED', status, message, ...(retryAfterMs === null ? {} : { retryAfterMs }) });
    }
    throw new PassStop({ code: 'SERVER', status, message });
  }

  private async settle(batch: readonly PendingEvent[], body: Record<string, unknown>): Promise<void> {
    const refused = rejections(body);
    const refusedIds = new Set(refused.map((r) => r.event_id));
    const byReason = new Map<string, string[]>();
    for (const r of refused) {
      const reason = `${r.code}: ${r.message}`;
      const ids = byReason.get(reason) ?? [];
      ids.push(r.event_id);
      byReason.set(reason, ids);
    }
    for (const [reason, eventIds] of byReason) this.deadLettered.push({ eventIds, reason });
    for (const event of batch) if (!refusedIds.has(event.eventId)) this.synced.push(event.eventId);
    this.tally.accepted += count(body.accepted);
    this.tally.duplicates += count(body.duplicates);
    this.tally.rejected += refused.length;
    this.answered();
  }

  private answered(): void {
    this.tally.batches += 1;
    this.lastAnswerAt = this.deps.now();
  }

  private async post(body: string, size: number): Promise<HttpResponse> {
    const { credentials } = this.deps;
    const timeoutMs = this.timeLeft();
    if (timeoutMs <= 0) throw new PassStop({ code: 'NETWORK', message: 'sync deadline reached before the request' });
    const timestamp = String(Math.floor(this.deps.now() / 1000));
    const nonce = this.deps.uuid();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [HEADER.authorization]: `Bearer ${credentials.token}`,
      [HEADER.timestamp]: timestamp,
      [HEADER.nonce]: nonce,
      [HEADER.signature]: signRequest(this.deps.hmac, credentials.secret, timestamp, nonce, body),
      [HEADER.batchSize]: String(size),
      [HEADER.schemaVersion]: PROTOCOL_SCHEMA_VERSION,
      [HEADER.sdkVersion]: this.deps.sdkVersion,
    };
    let payload: Uint8Array | string = body;
    if (this.deps.gzip !== null) {
      payload = await this.deps.gzip(encoder.encode(body));
      headers[HEADER.contentEncoding] = 'gzip';
    }
    try {
      return await this.deps.transport({
        url: ingestUrl(credentials.endpoint, credentials.orgId, credentials.appId),
        method: 'POST',
        headers,
        body: payload,
        timeoutMs,
        background: this.options.background === true,
      });
    } catch (error) {
      const message = error instanceof NetworkError || error instanceof Error ? error.message : String(error);
      throw new PassStop({ code: 'NETWORK', message });
    }
  }

  private timeLeft(): number {
    const { deadlineMs } = this.options;
    const left = deadlineMs === undefined ? Infinity : deadlineMs - this.deps.now();
    return Math.min(this.deps.requestTimeoutMs, left);
  }
}

/** Runs one pass; see {@link SyncPass}. */
export function runSyncPass(store: SyncStore, deps: SyncPassDeps, options: SyncPassOptions = {}): Promise<SyncOutcome> {
  return new SyncPass(store, deps, options).run();
}
