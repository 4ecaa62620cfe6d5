// The trace agent's HTTP front on a real socket: every status code of DESIGN.md §8, limits
// decided from the headers, clients that go away, and exact 64-bit ids through to the intake.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { DecodedAgentPayload, FakeIntake } from '../helpers/fake-intake.js';
import { createServices, fakeIntake, httpRequest, localConfig, servicesBackends, until } from '../helpers/services-backends.js';
import { START_NS, U63_PLUS_1, U64_MAX, encodeV04, encodeV05, ddTraceEncodeStats, wireSpan } from '../helpers/trace-payloads.js';

/** Writes raw bytes on a fresh connection and returns what the server answered before closing. */
function rawExchange(port: number, head: string, body: Buffer = Buffer.alloc(0), options: { destroyAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(answer) : reject(error)));
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => {
      socket.write(head);
      if (body.byteLength > 0) socket.write(body);
      if (options.destroyAfterWrite) setTimeout(() => socket.destroy(), 20);
    });
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

function agentPayloads(intake: FakeIntake): DecodedAgentPayload[] {
  return intake.byPath('/api/v0.2/traces').map((request) => request.decoded as DecodedAgentPayload);
}

describe.each(servicesBackends())('trace agent (%s)', (backend) => {
  async function running(): Promise<{ services: ReturnType<typeof createServices>; intake: FakeIntake; port: number }> {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useDogstatsd: false }));
    return { services, intake, port: services.ports().traceAgent ?? 0 };
  }

  it('PUT /v0.4/traces → 200 {"rate_by_service":…}; ids reach the intake exactly', async () => {
    const { services, intake, port } = await running();
    const trace = [
      wireSpan({ trace_id: U64_MAX, span_id: U63_PLUS_1, parent_id: 0n, resource: 'GET /cart' }),
      wireSpan({ trace_id: U64_MAX, span_id: U64_MAX - 1n, parent_id: U63_PLUS_1, name: 'db.query', resource: 'SELECT 1' }),
    ];
    const answer = await httpRequest(port, 'PUT', '/v0.4/traces', encodeV04([trace]), { 'datadog-meta-lang': 'nodejs', 'x-datadog-trace-count': '1' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toContain('application/json');
    expect(JSON.parse(answer.body)).toEqual({ rate_by_service: expect.any(Object) as unknown });
    await services.stop();
    const spans = agentPayloads(intake).flatMap((payload) => payload.tracerPayloads.flatMap((tracer) => tracer.chunks.flatMap((chunk) => chunk.spans)));
    expect(spans.map((span) => [span.traceID, span.spanID, span.parentID])).toEqual([
      [U64_MAX, U63_PLUS_1, 0n],
      [U64_MAX, U64_MAX - 1n, U63_PLUS_1],
    ]);
    expect(spans[0]).toMatchObject({ service: 'checkout', resource: 'GET /cart', start: START_NS });
    expect(intake.byPath('/api/v0.2/traces')[0]?.headers['content-encoding']).toBe('gzip');
    expect(intake.byPath('/api/v0.2/traces')[0]?.headers['dd-api-key']).toBe('test-api-key');
  });

  it('POST /v0.5/traces (string-table form) → 200', async () => {
    const { services, intake, port } = await running();
    const answer = await httpRequest(port, 'POST', '/v0.5/traces', encodeV05([[wireSpan({ trace_id: 99n, span_id: 100n, resource: 'v05-resource' })]]));
    expect(answer.status).toBe(200);
    await services.stop();
    const spans = agentPayloads(intake).flatMap((payload) => payload.tracerPayloads.flatMap((tracer) => tracer.chunks.flatMap((chunk) => chunk.spans)));
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ traceID: 99n, spanID: 100n, resource: 'v05-resource' });
  });

  it('bad msgpack → 400, counted', async () => {
    const { services, port } = await running();
    const answer = await httpRequest(port, 'PUT', '/v0.4/traces', Uint8Array.from([0xc1, 0x00, 0xff]));
    expect(answer.status).toBe(400);
    expect(services.stats().traceAgent).toMatchObject({ decodeErrors: 1, responses: { 400: 1 } });
  });

  it('a body without a length (chunked) → 411', async () => {
    const { services, port } = await running();
    const answer = await rawExchange(port, 'PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\x90\r\n0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 411 /);
    expect(services.stats().traceAgent.responses['411']).toBe(1);
  });

  it('a body over 10 MiB → 413, decided from Content-Length without reading the body', async () => {
    const { services, port } = await running();
    const declared = 10 * 1024 * 1024 + 1;
    // Headers plus 64 KiB of a body that would be 10 MiB + 1 byte: the answer comes before the rest is sent.
    const answer = await rawExchange(port, `PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: ${declared}\r\n\r\n`, Buffer.alloc(64 * 1024, 0x90));
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    const stats = services.stats().traceAgent;
    expect(stats.responses['413']).toBe(1);
    expect(stats.bytesReceived).toBe(0);
    expect(stats.payloads).toBe(0);
  });

  it('exactly 10 MiB is allowed (and then judged on its content)', async () => {
    const { port } = await running();
    const body = new Uint8Array(10 * 1024 * 1024).fill(0xc1);
    const answer = await httpRequest(port, 'PUT', '/v0.4/traces', body);
    expect(answer.status).toBe(400);
  });

  it('unknown path → 404; wrong method → 405 with Allow', async () => {
    const { services, port } = await running();
    expect((await httpRequest(port, 'PUT', '/v0.3/traces', encodeV04([]))).status).toBe(404);
    expect((await httpRequest(port, 'GET', '/nope')).status).toBe(404);
    const wrong = await httpRequest(port, 'GET', '/v0.4/traces');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('PUT, POST');
    expect((await httpRequest(port, 'POST', '/info', new Uint8Array([0x90]))).status).toBe(405);
    expect(services.stats().traceAgent.responses).toMatchObject({ 404: 2, 405: 2 });
  });

  it('a client that disconnects mid-body is counted; the agent keeps serving', async () => {
    const { services, port } = await running();
    await rawExchange(port, 'PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: 1000\r\n\r\n', Buffer.alloc(100, 0x90), { destroyAfterWrite: true });
    const stats = await until(
      () => services.stats().traceAgent,
      (current) => current.disconnects === 1,
    );
    expect(stats.payloads).toBe(0);
    expect(services.isRunning()).toBe(true);
    expect((await httpRequest(port, 'PUT', '/v0.4/traces', encodeV04([[wireSpan()]]))).status).toBe(200);
  });

  it('GET /info describes the endpoints', async () => {
    const { port } = await running();
    const answer = await httpRequest(port, 'GET', '/info');
    expect(answer.status).toBe(200);
    const info = JSON.parse(answer.body) as { endpoints: string[]; client_drop_p0s: boolean };
    expect(info.endpoints).toEqual(expect.arrayContaining(['/v0.4/traces', '/v0.5/traces', '/v0.6/stats']));
    expect(info.client_drop_p0s).toBe(false);
  });

  it('/v0.6/stats: valid client stats → 200 and forwarded; invalid → 400', async () => {
    const { services, intake, port } = await running();
    const body = ddTraceEncodeStats({
      Hostname: 'h',
      Env: 'prod',
      Version: '1.0.0',
      Lang: 'javascript',
      TracerVersion: '5.0.0',
      RuntimeID: 'rid',
      Sequence: 1,
      Stats: [
        {
          Start: 1_700_000_000_000_000_000,
          Duration: 10_000_000_000,
          Stats: [
            {
              Service: 'svc',
              Name: 'web.request',
              Resource: 'GET /',
              HTTPStatusCode: 200,
              Type: 'web',
              Hits: 3,
              Errors: 0,
              Duration: 300,
              OkSummary: new Uint8Array(),
              ErrorSummary: new Uint8Array(),
              Synthetics: false,
              TopLevelHits: 3,
            },
          ],
        },
      ],
    });
    expect((await httpRequest(port, 'PUT', '/v0.6/stats', body)).status).toBe(200);
    expect((await httpRequest(port, 'PUT', '/v0.6/stats', encodeV04([[wireSpan()]]))).status).toBe(400);
    await services.stop();
    expect(intake.byPath('/api/v0.2/stats')).toHaveLength(1);
    expect(intake.byPath('/api/v0.2/stats')[0]?.decodeError).toBeUndefined();
  });

  it('stop() lets a request in flight finish and flushes its spans', async () => {
    const { services, intake, port } = await running();
    const body = Buffer.from(encodeV04([[wireSpan({ trace_id: 31n, span_id: 32n })]]));
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      answer += chunk;
    });
    await new Promise<void>((resolve) => socket.on('connect', resolve));
    socket.write(`PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: ${body.byteLength}\r\n\r\n`);
    socket.write(body.subarray(0, 10));
    await until(() => services.stats().traceAgent.bytesReceived, (bytes) => bytes === 10);
    const stopping = services.stop({ timeoutMs: 3_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.end(body.subarray(10));
    await stopping;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    const spans = agentPayloads(intake).flatMap((payload) => payload.tracerPayloads.flatMap((tracer) => tracer.chunks.flatMap((chunk) => chunk.spans)));
    expect(spans.map((span) => span.spanID)).toEqual([32n]);
  });

  it('stop() cuts off a request that does not finish in time, counted in SHUTDOWN_TIMEOUT', async () => {
    const { services, port } = await running();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.on('connect', resolve));
    socket.write('PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: 1000\r\n\r\n');
    socket.write(Buffer.alloc(10, 0x90));
    await until(() => services.stats().traceAgent.bytesReceived, (bytes) => bytes === 10);
    const error = await services.stop({ timeoutMs: 300 }).then(
      () => null,
      (failure: unknown) => failure as { code?: string; message?: string },
    );
    expect(error?.code).toBe('SHUTDOWN_TIMEOUT');
    expect(error?.message).toContain('cut off 1 trace request');
    expect(services.stats().traceAgent.cutOff).toBe(1);
    socket.destroy();
  });

  it('traces are flushed every traceFlushIntervalMs, not only at stop', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useDogstatsd: false, traceFlushIntervalMs: 50 }));
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan({ trace_id: 5n, span_id: 6n })]]));
    await intake.waitFor((requests) => requests.some((request) => request.kind === 'traces'), 5_000);
    expect(services.isRunning()).toBe(true);
  });
});
