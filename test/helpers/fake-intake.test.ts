import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gzipSync, deflateSync } from 'node:zlib';
import protobuf from 'protobufjs/light.js';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsPayloadDescriptor } from '../../packages/core/src/services/proto/metrics-payload.js';
import { TraceBuffer } from '../../packages/core/src/services/trace/buffer.js';
import { startFakeIntake, type DecodedAgentPayload, type FakeIntake } from './fake-intake.js';
import { U63_PLUS_1, U64_MAX, ddTraceEncodeStats, encodeV04, wireSpan } from './trace-payloads.js';

const intakes: FakeIntake[] = [];

async function intake(): Promise<FakeIntake> {
  const started = await startFakeIntake();
  intakes.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(intakes.splice(0).map((i) => i.close()));
});

function post(base: string, path: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', body, headers: { 'dd-api-key': 'test-key', ...headers } });
}

describe('fake intake: recording and decoding', () => {
  it('records method, path, headers and raw body, and gunzips JSON series', async () => {
    const fake = await intake();
    const series = { series: [{ metric: 'app.hits', type: 2, interval: 10, points: [{ timestamp: 1_700_000_000, value: 0.5 }], tags: ['env:prod'] }] };
    const gz = gzipSync(JSON.stringify(series));
    const res = await post(fake.url, '/api/v2/series?x=1', gz, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
    expect(res.status).toBe(202);
    const [req] = fake.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/api/v2/series', query: '?x=1', kind: 'series', status: 202, decoded: series, decodeError: undefined });
    expect(req?.headers['dd-api-key']).toBe('test-key');
    expect(req?.rawBody.equals(gz)).toBe(true);
  });

  it('decodes events and service checks as JSON, deflate included', async () => {
    const fake = await intake();
    await post(fake.url, '/api/v1/events', JSON.stringify({ title: 'deploy', text: 'v2' }));
    await post(fake.url, '/api/v1/check_run', deflateSync(JSON.stringify([{ check: 'db.up', status: 0 }])), { 'content-encoding': 'deflate' });
    expect(fake.byPath('/api/v1/events')[0]?.decoded).toEqual({ title: 'deploy', text: 'v2' });
    expect(fake.byPath('/api/v1/check_run')[0]?.decoded).toEqual([{ check: 'db.up', status: 0 }]);
  });

  it('decodes an AgentPayload from the .proto files, ids exact', async () => {
    const fake = await intake();
    const buffer = new TraceBuffer({ agentVersion: '1', globalTags: {} });
    buffer.ingest('v0.4', encodeV04([[wireSpan({ trace_id: U64_MAX, span_id: U63_PLUS_1, service: 'svc', resource: 'GET /a' })]]), { lang: 'nodejs' });
    const { agentPayload } = buffer.flush(Date.now());
    await post(fake.url, '/api/v0.2/traces', gzipSync(agentPayload ?? new Uint8Array()), { 'content-encoding': 'gzip', 'content-type': 'application/x-protobuf' });
    const decoded = fake.byPath('/api/v0.2/traces')[0]?.decoded as DecodedAgentPayload;
    const span = decoded.tracerPayloads[0]?.chunks[0]?.spans[0];
    expect(span).toMatchObject({ service: 'svc', resource: 'GET /a', traceID: U64_MAX, spanID: U63_PLUS_1 });
  });

  it('decodes a SketchPayload from the vendored .proto', async () => {
    const fake = await intake();
    const type = protobuf.Root.fromJSON(metricsPayloadDescriptor).lookupType('datadog.agentpayload.SketchPayload');
    const bytes = type
      .encode({ sketches: [{ metric: 'latency', host: '', tags: ['env:prod'], dogsketches: [{ ts: 1_700_000_000, cnt: 3, min: 1, max: 3, avg: 2, sum: 6, k: [1338, 1340], n: [1, 2] }] }] })
      .finish();
    await post(fake.url, '/api/beta/sketches', bytes, { 'content-type': 'application/x-protobuf' });
    const decoded = fake.byPath('/api/beta/sketches')[0]?.decoded as { sketches: { metric: string; dogsketches: { ts: number; cnt: number; k: number[]; n: number[] }[] }[] };
    expect(decoded.sketches[0]?.metric).toBe('latency');
    expect(decoded.sketches[0]?.dogsketches[0]).toMatchObject({ ts: 1_700_000_000, cnt: 3, k: [1338, 1340], n: [1, 2] });
  });

  it('decodes a msgpack StatsPayload', async () => {
    const fake = await intake();
    const buffer = new TraceBuffer({ agentVersion: '1', globalTags: {} });
    buffer.addStats(
      ddTraceEncodeStats({ Hostname: '', Env: 'prod', Version: '', Lang: 'javascript', TracerVersion: '5', RuntimeID: '', Sequence: 1, Stats: [] }),
    );
    const { stats } = buffer.flush(Date.now());
    await post(fake.url, '/api/v0.2/stats', gzipSync(stats ?? new Uint8Array()), { 'content-encoding': 'gzip', 'content-type': 'application/msgpack' });
    expect(fake.byPath('/api/v0.2/stats')[0]?.decoded).toMatchObject({ ClientComputed: true, Stats: [{ Env: 'prod', Lang: 'javascript' }] });
  });

  it('records a decode error instead of failing on a bad body', async () => {
    const fake = await intake();
    await post(fake.url, '/api/v2/series', 'not gzip', { 'content-encoding': 'gzip' });
    await post(fake.url, '/api/v0.2/traces', new Uint8Array([0xff, 0xff, 0xff]));
    expect(fake.requests.map((r) => [r.decoded, typeof r.decodeError])).toEqual([
      [undefined, 'string'],
      [undefined, 'string'],
    ]);
  });

  it('answers unknown paths with the default status and no decoding', async () => {
    const fake = await intake();
    expect((await post(fake.url, '/somewhere', 'x')).status).toBe(202);
    expect(fake.requests[0]).toMatchObject({ kind: 'other', decoded: undefined });
  });
});

describe('fake intake: scripted answers', () => {
  it('answers a queue of statuses in order, then the fallback', async () => {
    const fake = await intake();
    fake.respond('/api/v2/series', { statuses: [500, 202] });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(fake.url, '/api/v2/series', '{}')).status);
    expect(statuses).toEqual([500, 202, 202]);
    expect(fake.requests.map((r) => r.status)).toEqual([500, 202, 202]);
  });

  it('answers a fixed status, per path or for every path', async () => {
    const fake = await intake();
    fake.respond('/api/v0.2/traces', { status: 403 });
    fake.respond('*', { status: 500 });
    expect((await post(fake.url, '/api/v0.2/traces', '')).status).toBe(403);
    expect((await post(fake.url, '/api/v0.2/traces', '')).status).toBe(403);
    expect((await post(fake.url, '/api/v1/events', '{}')).status).toBe(500);
    fake.clearResponses();
    expect((await post(fake.url, '/api/v1/events', '{}')).status).toBe(202);
  });

  it('records a delayed request before answering it', async () => {
    const fake = await intake();
    fake.respond('/api/v2/series', { delayMs: 300 });
    let answered = false;
    const pending = post(fake.url, '/api/v2/series', '{}').then((r) => {
      answered = true;
      return r.status;
    });
    await fake.waitFor((rs) => rs.length === 1);
    expect(answered).toBe(false);
    expect(await pending).toBe(202);
  });

  it('leaves a hanging request unanswered until close()', async () => {
    const fake = await startFakeIntake();
    fake.respond('/api/v0.2/traces', { hang: true });
    const pending = post(fake.url, '/api/v0.2/traces', 'x');
    const settled = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await fake.waitFor((rs) => rs.length === 1);
    expect(fake.requests[0]?.status).toBeNull();
    await fake.close();
    expect(await settled).toBe('failed');
  });
});

describe('fake intake: waitFor', () => {
  it('resolves once the predicate holds', async () => {
    const fake = await intake();
    const waiting = fake.waitFor((rs) => rs.filter((r) => r.kind === 'events').length === 2, 5000);
    await post(fake.url, '/api/v1/events', '{}');
    await post(fake.url, '/api/v1/events', '{}');
    expect((await waiting).length).toBe(2);
  });

  it('rejects after the timeout, listing what it saw', async () => {
    const fake = await intake();
    await post(fake.url, '/api/v1/events', '{}');
    await expect(fake.waitFor((rs) => rs.length > 5, 100)).rejects.toThrow(/within 100 ms \(requests: POST \/api\/v1\/events → 202\)/);
  });
});

describe('fake intake: from a child process', () => {
  it('serves from `node fake-intake.mjs`, printing one decoded JSON line per request, and stops on SIGTERM', async () => {
    const script = fileURLToPath(new URL('./fake-intake.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ready = JSON.parse(String((await lines.next()).value)) as { ready: boolean; url: string };
      expect(ready.ready).toBe(true);
      const buffer = new TraceBuffer({ agentVersion: '1', globalTags: {} });
      buffer.ingest('v0.4', encodeV04([[wireSpan({ trace_id: U64_MAX })]]), {});
      await post(ready.url, '/api/v0.2/traces', gzipSync(buffer.flush(Date.now()).agentPayload ?? new Uint8Array()), { 'content-encoding': 'gzip' });
      const line = JSON.parse(String((await lines.next()).value)) as { path: string; status: number; decoded: DecodedAgentPayload };
      expect(line).toMatchObject({ path: '/api/v0.2/traces', status: 202 });
      // bigint ids are printed as decimal strings
      expect(line.decoded.tracerPayloads[0]?.chunks[0]?.spans[0]?.traceID).toBe(U64_MAX.toString());
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
