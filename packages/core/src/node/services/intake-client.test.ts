import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { IntakePayload } from '../../services/intake-payloads.js';
import { IntakeClient, type IntakeClientOptions } from './intake-client.js';

const TLS_DIR = new URL('../../../../../test/helpers/tls/', import.meta.url);
const CERT = readFileSync(new URL('localhost-cert.pem', TLS_DIR));
const KEY = readFileSync(new URL('localhost-key.pem', TLS_DIR));

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A local intake answering the scripted statuses in turn (the last one repeats). */
async function scriptedIntake(statuses: number[], server: Server = createHttpServer()): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 202;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status >= 400 ? '{"errors":["nope"]}' : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.closeAllConnections());
  closers.push(() => server.close());
  const { port } = server.address() as AddressInfo;
  return { url: `${'key' in server ? 'https' : 'http'}://127.0.0.1:${port}`, received };
}

function client(url: string, overrides: Partial<IntakeClientOptions> = {}): IntakeClient {
  const created = new IntakeClient({
    apiKey: 'test-key',
    metricsIntakeUrl: url,
    traceIntakeUrl: url,
    httpsProxy: null,
    requestTimeoutMs: 2_000,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    ...overrides,
  });
  closers.push(() => created.close());
  return created;
}

const series: IntakePayload = { endpoint: 'series', body: new TextEncoder().encode('{"series":[]}'), items: 3 };

describe('IntakeClient', () => {
  it('POSTs gzip with DD-API-KEY to the route of each endpoint', async () => {
    const intake = await scriptedIntake([202]);
    const sender = client(intake.url);
    const payloads: IntakePayload[] = [
      series,
      { endpoint: 'sketches', body: new Uint8Array([1, 2, 3]), items: 1 },
      { endpoint: 'events', body: new TextEncoder().encode('{"title":"t"}'), items: 1 },
      { endpoint: 'check_run', body: new TextEncoder().encode('[]'), items: 1 },
      { endpoint: 'traces', body: new Uint8Array([4, 5]), items: 2 },
      { endpoint: 'stats', body: new Uint8Array([6]), items: 1 },
    ];
    const results = await Promise.all(payloads.map((payload) => sender.send(payload)));
    expect(results.every((result) => result.delivered)).toBe(true);
    const byPath = Object.fromEntries(intake.received.map((request) => [request.url, request]));
    expect(Object.keys(byPath).sort()).toEqual(['/api/beta/sketches', '/api/v0.2/stats', '/api/v0.2/traces', '/api/v1/check_run', '/api/v1/events', '/api/v2/series']);
    for (const request of intake.received) {
      expect(request.method).toBe('POST');
      expect(request.headers['dd-api-key']).toBe('test-key');
    }
    const seriesRequest = byPath['/api/v2/series'];
    expect(seriesRequest?.headers['content-encoding']).toBe('gzip');
    expect(seriesRequest?.headers['content-type']).toBe('application/json');
    expect(gunzipSync(seriesRequest?.body ?? Buffer.alloc(0)).toString()).toBe('{"series":[]}');
    expect(byPath['/api/v0.2/traces']?.headers['content-type']).toBe('application/x-protobuf');
    expect(gunzipSync(byPath['/api/v0.2/traces']?.body ?? Buffer.alloc(0))).toEqual(Buffer.from([4, 5]));
    expect(byPath['/api/v1/events']?.headers['content-encoding']).toBeUndefined();
    expect(sender.stats()).toMatchObject({ payloads: 6, delivered: 6, requests: 6, retries: 0, droppedItems: 0, pending: 0 });
  });

  it('500 then 202: retried and delivered once', async () => {
    const intake = await scriptedIntake([500, 202]);
    const sender = client(intake.url);
    expect(await sender.send(series)).toEqual({ delivered: true, attempts: 2 });
    expect(intake.received).toHaveLength(2);
    expect(sender.stats()).toMatchObject({ delivered: 1, requests: 2, retries: 1, errors: 1 });
  });

  it.each([408, 429, 503])('%i is retried', async (status) => {
    const intake = await scriptedIntake([status, 202]);
    expect((await client(intake.url).send(series)).delivered).toBe(true);
    expect(intake.received).toHaveLength(2);
  });

  it('403: dropped at once, counted, reported', async () => {
    const intake = await scriptedIntake([403]);
    const drops: string[] = [];
    const sender = client(intake.url, { onDrop: (message) => drops.push(message) });
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'rejected', status: 403 });
    expect(intake.received).toHaveLength(1);
    expect(sender.stats()).toMatchObject({ delivered: 0, dropped: { rejected: 1 }, droppedItems: 3 });
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatch(/403.*\/api\/v2\/series.*3 items/);
  });

  it('gives up after maxAttempts of 5xx', async () => {
    const intake = await scriptedIntake([502]);
    const sender = client(intake.url);
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'exhausted' });
    expect(intake.received).toHaveLength(3);
    expect(sender.stats()).toMatchObject({ retries: 2, dropped: { exhausted: 1 } });
  });

  it('retries network errors (nothing listening)', async () => {
    const intake = await scriptedIntake([202]);
    const port = new URL(intake.url).port;
    for (const close of closers.splice(0)) close();
    const sender = client(`http://127.0.0.1:${port}`);
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'exhausted' });
    expect(sender.stats().requests).toBe(3);
    expect(sender.stats().lastError).toMatch(/ECONNREFUSED|failed 3 times/);
  });

  it('bounds every request by the timeout', async () => {
    const silent = createHttpServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => silent.close(), () => silent.closeAllConnections());
    const sender = client(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { requestTimeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const started = Date.now();
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'exhausted' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sender.stats().lastError).toContain('no answer within 100 ms');
  });

  it('abort() drops what is pending, counted, and later sends too', async () => {
    const silent = createHttpServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => silent.close(), () => silent.closeAllConnections());
    const sender = client(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { requestTimeoutMs: 60_000 });
    const pending = [sender.send(series), sender.send({ ...series, items: 4 })];
    await new Promise((resolve) => setTimeout(resolve, 50));
    sender.abort();
    expect(await Promise.all(pending)).toEqual([
      { delivered: false, reason: 'aborted' },
      { delivered: false, reason: 'aborted' },
    ]);
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'aborted' });
    expect(sender.stats()).toMatchObject({ dropped: { aborted: 3 }, droppedItems: 10, pending: 0 });
  });

  it('drops beyond maxQueued', async () => {
    const intake = await scriptedIntake([202]);
    const sender = client(intake.url, { maxQueued: 1 });
    const [first, second] = await Promise.all([sender.send(series), sender.send(series)]);
    expect(first?.delivered).toBe(true);
    expect(second).toEqual({ delivered: false, reason: 'overflow' });
  });

  it('honours an http:// proxy with CONNECT for https intakes', async () => {
    const intake = await scriptedIntake([202], createHttpsServer({ cert: CERT, key: KEY }));
    const tunnels: string[] = [];
    const proxy = createHttpServer();
    proxy.on('connect', (req: IncomingMessage, clientSocket, head: Buffer) => {
      tunnels.push(`${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = netConnect(Number(port), host, () => {
        clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(clientSocket);
        clientSocket.pipe(upstream);
      });
      upstream.on('error', () => clientSocket.destroy());
      clientSocket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    closers.push(() => proxy.close(), () => proxy.closeAllConnections());
    const proxyUrl = `http://user:p%40ss@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const sender = client(intake.url, { httpsProxy: proxyUrl, tls: { ca: CERT } });
    expect(await sender.send(series)).toEqual({ delivered: true, attempts: 1 });
    expect(tunnels).toEqual([`127.0.0.1:${new URL(intake.url).port} Basic ${Buffer.from('user:p@ss').toString('base64')}`]);
    expect(intake.received[0]?.headers['dd-api-key']).toBe('test-key');
  });

  it('the https proxy is not used for http:// intakes', async () => {
    const intake = await scriptedIntake([202]);
    const proxy = createHttpServer();
    let connects = 0;
    proxy.on('connect', (_req: IncomingMessage, socket: import('node:stream').Duplex) => {
      connects += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    closers.push(() => proxy.close(), () => proxy.closeAllConnections());
    const sender = client(intake.url, { httpsProxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    expect(await sender.send(series)).toEqual({ delivered: true, attempts: 1 });
    expect(connects).toBe(0);
  });

  it('a proxy refusing CONNECT is a network error: retried, then dropped', async () => {
    const intake = await scriptedIntake([202], createHttpsServer({ cert: CERT, key: KEY }));
    const proxy = createHttpServer();
    proxy.on('connect', (_req: IncomingMessage, socket: import('node:stream').Duplex) => {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    closers.push(() => proxy.close(), () => proxy.closeAllConnections());
    const sender = client(intake.url, { httpsProxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, tls: { ca: CERT } });
    expect(await sender.send(series)).toEqual({ delivered: false, reason: 'exhausted' });
    expect(sender.stats().lastError).toContain('refused CONNECT');
    expect(intake.received).toHaveLength(0);
  });

  it('without a proxy, talks https directly', async () => {
    const intake = await scriptedIntake([202], createHttpsServer({ cert: CERT, key: KEY }));
    expect(await client(intake.url, { tls: { ca: CERT } }).send(series)).toEqual({ delivered: true, attempts: 1 });
  });
});
