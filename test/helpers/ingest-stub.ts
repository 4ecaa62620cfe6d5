/**
 * A scriptable ingestion endpoint for client tests: records every request, checks its
 * signature with node:crypto (independently of the SDK's signing code), gunzips real gzip, and
 * answers whatever the test scripts — by default it stores each event once, like the server.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The uncompressed body. */
  body: string;
  compressed: boolean;
  signatureValid: boolean;
  eventIds: string[];
  receivedAt: number;
}

export interface StubReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer only after this long (the client may have given up by then). */
  delayMs?: number;
  /** Store the batch's events even though the reply is not a success (a lost answer). */
  store?: boolean;
  /** Drop the connection without answering. */
  hangUp?: boolean;
}

export interface IngestStub {
  url: string;
  requests: StubRequest[];
  /** event_ids stored, each once. */
  stored: Set<string>;
  /** Scripted replies, used in order before falling back to `handler`. */
  script: StubReply[];
  /** Decides replies once the script is used up; defaults to {@link accept}. */
  handler: (request: StubRequest) => StubReply;
  /** The server's normal answer: store new events, count duplicates. */
  accept(request: StubRequest): StubReply;
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startIngestStub(secret: string): Promise<IngestStub> {
  const requests: StubRequest[] = [];
  const stored = new Set<string>();
  const sockets = new Set<import('node:net').Socket>();

  const accept = (request: StubRequest): StubReply => {
    let accepted = 0;
    let duplicates = 0;
    for (const id of request.eventIds) {
      if (stored.has(id)) duplicates += 1;
      else {
        stored.add(id);
        accepted += 1;
      }
    }
    return { status: 200, body: { status: 'success', accepted, rejected: 0, duplicates } };
  };

  const stub: IngestStub = {
    url: '',
    requests,
    stored,
    script: [],
    handler: accept,
    accept,
    async waitForRequests(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} requests, got ${requests.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const compressed = req.headers['content-encoding'] === 'gzip';
      const body = (compressed ? gunzipSync(raw) : raw).toString('utf8');
      const timestamp = String(req.headers['x-timestamp'] ?? '');
      const nonce = String(req.headers['x-nonce'] ?? '');
      const expected = createHmac('sha256', secret).update(`${timestamp}:${nonce}:${body}`).digest('hex');
      let eventIds: string[] = [];
      try {
        const parsed = JSON.parse(body) as { events?: Array<{ event_id?: unknown }> };
        eventIds = (parsed.events ?? []).map((e) => String(e.event_id));
      } catch {
        eventIds = [];
      }
      const request: StubRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        compressed,
        signatureValid: req.headers['x-signature'] === expected,
        eventIds,
        receivedAt: Date.now(),
      };
      requests.push(request);
      const reply = stub.script.shift() ?? stub.handler(request);
      if (reply.store) accept(request);
      const answer = (): void => {
        if (reply.hangUp) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '{}' : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}
