/** What a request may carry: size limits (enforced while streaming), encoding, JSON, counts, schema, duplicates. */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { describeStorages, errorCode, getJson, ingest, sign, startServer, validEvent, type RunningServer } from './helpers.js';

const LIMIT = 5 * 1024 * 1024;

/** A raw HTTP/1.1 exchange: the test controls exactly which body bytes are sent, and when. */
interface RawExchange {
  socket: Socket;
  /** Resolves with the raw answer once the server has sent its headers and JSON body. */
  answer: Promise<{ status: number; text: string }>;
  answered: () => boolean;
  closed: Promise<void>;
}

function rawRequest(server: RunningServer, headerLines: string[]): RawExchange {
  const url = new URL(server.url);
  const socket = connect(Number(url.port), url.hostname);
  let received = '';
  let done = false;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? -1);
      if (length >= 0 && received.length - end - 4 >= length) {
        done = true;
        resolve({ status: Number(received.slice(9, 12)), text: received.slice(end + 4, end + 4 + length) });
      }
    });
    socket.on('error', (error) => {
      if (!done) reject(error);
    });
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`${headerLines.join('\r\n')}\r\n\r\n`);
  return { socket, answer, answered: () => done, closed };
}

function authHeaders(server: RunningServer, signature: string, timestamp: string, nonce: string, batchSize = 1): string[] {
  return [
    `POST /v1/ingest/${server.app.orgId}/${server.app.appId} HTTP/1.1`,
    `Host: ${new URL(server.url).host}`,
    `Authorization: Bearer ${server.app.token}`,
    `X-Timestamp: ${timestamp}`,
    `X-Nonce: ${nonce}`,
    `X-Signature: ${signature}`,
    `X-Batch-Size: ${batchSize}`,
    'X-Schema-Version: 1.0.0',
    'Content-Type: application/json',
  ];
}

describeStorages('ingest body', (kind) => {
  it('a Content-Length over 5 MiB is answered 413 payload_too_large at once, without waiting for the body', async () => {
    const server = await startServer(kind);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomUUID();
    const exchange = rawRequest(server, [...authHeaders(server, 'a'.repeat(64), timestamp, nonce), `Content-Length: ${LIMIT + 1}`]);
    // Not one body byte is sent: the answer can only come from the declared length.
    const answer = await exchange.answer;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'payload_too_large' } });
    await exchange.closed; // the server hangs up rather than read the body
  });

  it('a chunked body that grows past 5 MiB is answered 413 mid-stream, before the client has sent it all', async () => {
    const server = await startServer(kind);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const exchange = rawRequest(server, [...authHeaders(server, 'a'.repeat(64), timestamp, randomUUID()), 'Transfer-Encoding: chunked']);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const total = 64 * 1024 * 1024;
    let sent = 0;
    while (!exchange.answered() && sent < total && !exchange.socket.destroyed) {
      const flushed = exchange.socket.write(framed);
      sent += chunk.length;
      if (!flushed) {
        await Promise.race([
          new Promise((resolve) => exchange.socket.once('drain', resolve)),
          exchange.answer.catch(() => undefined),
          exchange.closed,
        ]);
      }
    }
    const answer = await exchange.answer;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(sent).toBeGreaterThan(LIMIT);
    expect(sent).toBeLessThan(total);
    exchange.socket.destroy();
  });

  it('a gzip body whose uncompressed size exceeds 5 MiB is answered 413 payload_too_large', async () => {
    const server = await startServer(kind);
    const body = Buffer.concat([Buffer.from('{"events":["'), Buffer.alloc(LIMIT, 0x61), Buffer.from('"]}')]);
    const answer = await ingest(server, { body, batchSize: '1', gzip: true });
    expect(answer.status).toBe(413);
    expect(errorCode(answer)).toBe('payload_too_large');
  });

  it('a valid gzip body is accepted; the signature covers the uncompressed body', async () => {
    const server = await startServer(kind);
    const events = [validEvent(), validEvent()];
    const answer = await ingest(server, { events, gzip: true });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'success', accepted: 2 });
  });

  it('a body labelled gzip that is not gzip is refused with 400 bad_encoding', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { headers: { 'content-encoding': 'gzip' } });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_encoding');
  });

  it('a truncated gzip body is refused with 400 bad_encoding', async () => {
    const server = await startServer(kind);
    const body = Buffer.from(JSON.stringify({ events: [validEvent()] }));
    const truncated = gzipSync(body).subarray(0, 20);
    const answer = await ingest(server, { body, tamper: () => truncated, headers: { 'content-encoding': 'gzip' } });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_encoding');
  });

  it('an unknown Content-Encoding is refused with 400 bad_encoding', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { headers: { 'content-encoding': 'br' } });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_encoding');
  });

  it('a body that is not JSON is refused with 400 malformed', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { body: '{"events":[{"event_id":', batchSize: '1' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it.each([
    ['an array', '[]'],
    ['an object without events', '{"data":[]}'],
    ['events that is not an array', '{"events":{}}'],
  ])('a body that is %s is refused with 400 malformed', async (_label, body) => {
    const server = await startServer(kind);
    const answer = await ingest(server, { body, batchSize: '1' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it('0 events are refused with 400 malformed', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { events: [], batchSize: '0' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('malformed');
  });

  it('1,001 events are refused with 413 too_many_events (declared in X-Batch-Size, and counted in the body)', async () => {
    const server = await startServer(kind);
    const events = Array.from({ length: 1001 }, () => validEvent());
    const declared = await ingest(server, { events });
    expect(declared.status).toBe(413);
    expect(errorCode(declared)).toBe('too_many_events');
    const counted = await ingest(server, { events, batchSize: '1000' });
    expect(counted.status).toBe(413);
    expect(errorCode(counted)).toBe('too_many_events');
  });

  it('1,000 events are accepted', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { events: Array.from({ length: 1000 }, () => validEvent()) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 1000 });
  });

  it('an X-Batch-Size that differs from the number of events is refused with 400 batch_size_mismatch', async () => {
    const server = await startServer(kind);
    const answer = await ingest(server, { events: [validEvent(), validEvent()], batchSize: '3' });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('batch_size_mismatch');
  });

  it('events failing schema v1 get 207 with per-event errors; the valid ones are stored', async () => {
    const server = await startServer(kind);
    const good = validEvent();
    const noUser = validEvent();
    delete noUser['user_id'];
    const badCategory = validEvent();
    (badCategory['event'] as Record<string, unknown>)['category'] = 'library';
    const answer = await ingest(server, { events: [good, noUser, badCategory, 'not an event'] });
    expect(answer.status).toBe(207);
    expect(answer.body).toMatchObject({ status: 'partial', accepted: 1, rejected: 3, duplicates: 0 });
    const errors = answer.body['errors'] as Array<{ event_id: string; code: string; message: string }>;
    expect(errors.map((e) => e.event_id)).toEqual([noUser['event_id'], badCategory['event_id'], '']);
    for (const error of errors) {
      expect(error.code).toBe('schema');
      expect(error.message.length).toBeGreaterThan(0);
    }
    expect(errors[0]?.message).toContain('user_id');
    const stored = await getJson(server, `/v1/apps/${server.app.appId}/events`);
    expect((stored.body['events'] as Array<{ event_id: string }>).map((e) => e.event_id)).toEqual([good['event_id']]);
  });

  it('an event_id already stored counts as a duplicate, not an error, and is stored once', async () => {
    const server = await startServer(kind);
    const a = validEvent();
    const b = validEvent();
    expect((await ingest(server, { events: [a, b] })).body).toEqual({ status: 'success', accepted: 2, rejected: 0, duplicates: 0 });
    const again = await ingest(server, { events: [a, b, validEvent()] });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'success', accepted: 1, rejected: 0, duplicates: 2 });
    const inBatch = validEvent();
    expect((await ingest(server, { events: [inBatch, inBatch] })).body).toEqual({ status: 'success', accepted: 1, rejected: 0, duplicates: 1 });
    const stored = await getJson(server, `/v1/apps/${server.app.appId}/events?limit=1000`);
    expect(stored.body['count']).toBe(4);
  });

  it('the same event in concurrent requests is stored exactly once', async () => {
    const server = await startServer(kind);
    const shared = validEvent();
    const answers = await Promise.all(Array.from({ length: 8 }, () => ingest(server, { events: [shared, validEvent()] })));
    for (const answer of answers) expect(answer.status).toBe(200);
    const accepted = answers.reduce((sum, a) => sum + Number(a.body['accepted']), 0);
    const duplicates = answers.reduce((sum, a) => sum + Number(a.body['duplicates']), 0);
    expect(accepted).toBe(9);
    expect(duplicates).toBe(7);
    const stored = await getJson(server, `/v1/apps/${server.app.appId}/events?limit=1000`);
    expect((stored.body['events'] as Array<{ event_id: string }>).filter((e) => e.event_id === shared['event_id'])).toHaveLength(1);
  });

  it('a non-ASCII body is verified over its UTF-8 bytes', async () => {
    const server = await startServer(kind);
    const event = validEvent();
    (event['event'] as { data: Record<string, unknown> }).data['note'] = 'naïve café ☕ 日本語 😀';
    const body = JSON.stringify({ events: [event] });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomUUID();
    const answer = await ingest(server, { body, batchSize: '1', timestamp, nonce, signature: sign(server.app.secret, timestamp, nonce, body) });
    expect(answer.status).toBe(200);
    const stored = await getJson(server, `/v1/apps/${server.app.appId}/events`);
    expect((stored.body['events'] as unknown[])[0]).toEqual(event);
  });
});
