import { describe, expect, it } from 'vitest';
import { decodeAgentPayload, decodeMsgpackBody } from '../../../../../test/helpers/fake-intake.js';
import {
  START_NS,
  U63_PLUS_1,
  U64_MAX,
  ddTraceEncode,
  ddTraceEncodeStats,
  encodeMsgpack,
  encodeV04,
  encodeV05,
  wireSpan,
  type DdClientStats,
} from '../../../../../test/helpers/trace-payloads.js';
import { encodeAgentPayload } from './agent-payload.js';
import { TraceBuffer, type TraceBufferOptions } from './buffer.js';
import { decodeTraces } from './decode.js';
import { PRIORITY_NONE } from './normalize.js';
import type { Span } from './span.js';

const NOW_MS = 1_717_171_717_000;
const META = { lang: 'nodejs', langVersion: 'v20.11.0', tracerVersion: '5.132.0', containerId: 'c0ffee' };

function buffer(overrides: Partial<TraceBufferOptions> = {}): TraceBuffer {
  return new TraceBuffer({ agentVersion: '0.1.0-test', globalTags: { team: 'core' }, now: () => NOW_MS, ...overrides });
}

function decodeOnly(payload: Uint8Array | null) {
  if (payload === null) throw new Error('nothing flushed');
  return decodeAgentPayload(payload);
}

describe('TraceBuffer → AgentPayload', () => {
  it('flushes nothing when empty', () => {
    expect(buffer().flush(NOW_MS)).toEqual({ agentPayloads: [], agentPayload: null, stats: null, traces: 0, spans: 0, statsPayloads: 0 });
  });

  it('encodes dd-trace spans into an AgentPayload that protobufjs decodes from the .proto files', () => {
    const b = buffer({ env: 'Prod', hostname: 'fn-host' });
    const body = ddTraceEncode('v0.4', [
      [
        { traceId: U64_MAX, spanId: U63_PLUS_1, parentId: 0n, service: 'api', name: 'express.request', resource: 'GET /users/:id', type: 'web', meta: { version: '1.2.3', 'runtime-id': 'r-1' }, metrics: { _sampling_priority_v1: 1 }, start: 1_700_000_000_000_000_000, duration: 2_000_000 },
        { traceId: U64_MAX, spanId: 5n, parentId: U63_PLUS_1, service: 'postgres', name: 'pg.query', resource: 'SELECT 1', type: 'sql', start: 1_700_000_000_000_100_000, duration: 500_000 },
      ],
      [{ traceId: 77n, spanId: 78n, parentId: 0n, service: 'api', name: 'express.request', resource: 'GET /health', start: 1_700_000_001_000_000_000, duration: 1_000 }],
    ]);
    expect(b.ingest('v0.4', body, META)).toEqual({ ok: true, traces: 2, accepted: 3, dropped: 0 });
    const flush = b.flush(NOW_MS);
    expect(flush).toMatchObject({ traces: 2, spans: 3 });
    expect(flush.agentPayloads).toHaveLength(1);

    const payload = decodeOnly(flush.agentPayload);
    expect(payload).toMatchObject({ hostName: 'fn-host', env: 'prod', agentVersion: '0.1.0-test', tags: { team: 'core' }, targetTPS: 10, errorTPS: 10 });
    expect(payload.tracerPayloads).toHaveLength(2); // the two roots differ in version / runtime-id
    const [first] = payload.tracerPayloads;
    expect(first).toMatchObject({ containerID: 'c0ffee', languageName: 'nodejs', languageVersion: 'v20.11.0', tracerVersion: '5.132.0', env: 'prod', appVersion: '1.2.3', runtimeID: 'r-1' });
    const chunk = first?.chunks[0];
    expect(chunk).toMatchObject({ priority: 1, origin: '', droppedTrace: false });
    expect(chunk?.spans.map((s) => [s.service, s.name, s.resource, s.traceID, s.spanID, s.parentID])).toEqual([
      ['api', 'express.request', 'GET /users/:id', U64_MAX, U63_PLUS_1, 0n],
      ['postgres', 'pg.query', 'SELECT 1', U64_MAX, 5n, U63_PLUS_1],
    ]);
    expect(chunk?.spans[0]?.start).toBe(1_700_000_000_000_000_000n);
    expect(chunk?.spans[0]?.meta.env).toBe('prod');
    expect(chunk?.spans[0]?.metrics._top_level).toBe(1);
    expect(chunk?.spans[1]?.metrics._top_level).toBe(1); // another service than its parent
    const second = payload.tracerPayloads[1];
    expect(second?.chunks[0]?.priority).toBe(PRIORITY_NONE);
    expect(second?.chunks[0]?.spans[0]?.resource).toBe('GET /health');
  });

  it('round-trips 2^64-1 and 2^63+1 ids and a nanosecond start beyond 2^53 exactly', () => {
    const b = buffer();
    b.ingest('v0.5', encodeV05([[wireSpan({ trace_id: U64_MAX, span_id: U63_PLUS_1, parent_id: 0n })], [wireSpan({ trace_id: U63_PLUS_1, span_id: U64_MAX, parent_id: U64_MAX - 1n })]]), META);
    const spans = decodeOnly(b.flush(NOW_MS).agentPayload).tracerPayloads.flatMap((tp) => tp.chunks.flatMap((c) => c.spans));
    expect(spans.map((s) => [s.traceID, s.spanID, s.parentID, s.start])).toEqual([
      [U64_MAX, U63_PLUS_1, 0n, START_NS],
      [U63_PLUS_1, U64_MAX, U64_MAX - 1n, START_NS],
    ]);
  });

  it('encodes span links, meta_struct, error and metrics', () => {
    const span: Span = {
      service: 'api',
      name: 'web.request',
      resource: 'GET /',
      traceId: 9n,
      spanId: 10n,
      parentId: 0n,
      start: START_NS,
      duration: 5n,
      error: 1,
      meta: { a: 'b' },
      metrics: { m: 1.5 },
      type: 'web',
      metaStruct: { appsec: new Uint8Array([1, 2, 3]) },
      spanLinks: [{ traceId: U64_MAX, traceIdHigh: 1n, spanId: 2n, attributes: { k: 'v' }, tracestate: 'dd=s:1', flags: 0x80000001 }],
    };
    const bytes = encodeAgentPayload({
      hostName: '',
      env: '',
      tags: {},
      agentVersion: 'x',
      targetTPS: 10,
      errorTPS: 10,
      tracerPayloads: [{ containerID: '', languageName: '', languageVersion: '', tracerVersion: '', runtimeID: '', tags: {}, env: '', hostname: '', appVersion: '', chunks: [{ priority: 2, origin: 'lambda', spans: [span], tags: { '_dd.p.dm': '-4' }, droppedTrace: false }] }],
    });
    const chunk = decodeAgentPayload(bytes).tracerPayloads[0]?.chunks[0];
    expect(chunk).toMatchObject({ priority: 2, origin: 'lambda', tags: { '_dd.p.dm': '-4' } });
    const decoded = chunk?.spans[0];
    expect(decoded).toMatchObject({ error: 1, meta: { a: 'b' }, metrics: { m: 1.5 }, duration: 5n });
    expect(Array.from(decoded?.meta_struct.appsec ?? [])).toEqual([1, 2, 3]);
    expect(decoded?.spanLinks).toEqual([{ traceID: U64_MAX, traceID_high: 1n, spanID: 2n, attributes: { k: 'v' }, tracestate: 'dd=s:1', flags: 0x80000001 }]);
  });

  it('groups traces with the same tracer metadata into one TracerPayload, one chunk per trace', () => {
    const b = buffer();
    b.ingest('v0.4', encodeV04([[wireSpan({ trace_id: 1n })], [wireSpan({ trace_id: 2n })]]), META);
    b.ingest('v0.4', encodeV04([[wireSpan({ trace_id: 3n })]]), META);
    b.ingest('v0.4', encodeV04([[wireSpan({ trace_id: 4n })]]), { ...META, lang: 'python' });
    const payload = decodeOnly(b.flush(NOW_MS).agentPayload);
    expect(payload.tracerPayloads.map((tp) => [tp.languageName, tp.chunks.map((c) => c.spans[0]?.traceID)])).toEqual([
      ['nodejs', [1n, 2n, 3n]],
      ['python', [4n]],
    ]);
  });

  it('adds the cloud origin tags and sets the chunk origin', () => {
    const b = buffer({ spanTags: { '_dd.origin': 'cloudfunction', origin: 'cloudfunction', functionname: 'resize' } });
    b.ingest('v0.4', encodeV04([[wireSpan()]]), META);
    const chunk = decodeOnly(b.flush(NOW_MS).agentPayload).tracerPayloads[0]?.chunks[0];
    expect(chunk?.origin).toBe('cloudfunction');
    expect(chunk?.spans[0]?.meta).toMatchObject({ '_dd.origin': 'cloudfunction', origin: 'cloudfunction', functionname: 'resize' });
  });

  it('splits a large flush into several AgentPayloads whose concatenation is the whole', () => {
    const b = buffer({ maxPayloadBytes: 2_000 });
    const traces = Array.from({ length: 10 }, (_, i) => [wireSpan({ trace_id: BigInt(i + 1), meta: { big: 'x'.repeat(500) } })]);
    b.ingest('v0.4', encodeV04(traces), META);
    const flush = b.flush(NOW_MS);
    expect(flush.agentPayloads.length).toBeGreaterThan(1);
    for (const part of flush.agentPayloads) expect(decodeAgentPayload(part).tracerPayloads.length).toBeGreaterThan(0);
    const merged = decodeOnly(flush.agentPayload);
    expect(merged.tracerPayloads.flatMap((tp) => tp.chunks.map((c) => c.spans[0]?.traceID))).toEqual(traces.map((_, i) => BigInt(i + 1)));
  });

  it('empties on flush', () => {
    const b = buffer();
    b.ingest('v0.4', encodeV04([[wireSpan()]]), META);
    expect(b.isEmpty()).toBe(false);
    b.flush(NOW_MS);
    expect(b.isEmpty()).toBe(true);
    expect(b.flush(NOW_MS + 1).agentPayload).toBeNull();
    expect(b.stats()).toMatchObject({ bufferedSpans: 0, bufferedTraces: 0, flushes: 1, flushedTraces: 1, flushedSpans: 1, lastFlushMs: NOW_MS + 1 });
  });
});

describe('TraceBuffer bounds and counting', () => {
  it('drops whole traces past maxBufferedSpans and counts them', () => {
    const b = buffer({ maxBufferedSpans: 3 });
    const two = (id: bigint): ReturnType<typeof wireSpan>[] => [wireSpan({ trace_id: id, span_id: 1n }), wireSpan({ trace_id: id, span_id: 2n, parent_id: 1n })];
    expect(b.add(traces(two(1n)), META)).toEqual({ accepted: 2, dropped: 0 });
    expect(b.add(traces(two(2n)), META)).toEqual({ accepted: 0, dropped: 2 });
    expect(b.add(traces([wireSpan({ trace_id: 3n })]), META)).toEqual({ accepted: 1, dropped: 0 });
    const stats = b.stats();
    expect(stats.tracesDropped.bufferFull).toBe(1);
    expect(stats).toMatchObject({ traces: 2, spans: 3, spansDropped: 2, bufferedSpans: 3 });
    b.flush(NOW_MS);
    expect(b.add(traces(two(4n)), META)).toEqual({ accepted: 2, dropped: 0 });
  });

  it('counts traces rejected by normalization as dropped spans', () => {
    const b = buffer();
    const result = b.add(traces([wireSpan({ trace_id: 0n }), wireSpan({ trace_id: 0n, span_id: 8n })], [wireSpan()]), META);
    expect(result).toEqual({ accepted: 1, dropped: 2 });
    expect(b.stats().tracesDropped.traceIdZero).toBe(1);
  });

  it('counts decode errors by reason and leaves the buffer untouched', () => {
    const b = buffer();
    const bad = b.ingest('v0.4', new Uint8Array([0xc1]), META);
    expect(bad).toMatchObject({ ok: false, error: { reason: 'bad_msgpack' } });
    b.ingest('v0.4', encodeMsgpack({ not: 'traces' }), META);
    const stats = b.stats();
    expect(stats.decodeErrors).toBe(2);
    expect(stats.decodeErrorsByReason).toMatchObject({ bad_msgpack: 1, wrong_shape: 1 });
    expect(stats.payloads).toBe(0);
    expect(b.isEmpty()).toBe(true);
  });

  it('answers rate_by_service with the default key', () => {
    expect(buffer().rateByService()).toEqual({ 'service:,env:': 1 });
  });
});

function traces(...list: ReturnType<typeof wireSpan>[][]): Span[][] {
  const decoded = decodeTraces('v0.4', encodeV04(list));
  if (!decoded.ok) throw new Error(decoded.message);
  return decoded.traces;
}

const DD_STATS: DdClientStats = {
  Hostname: '',
  Env: '',
  Version: '1.0.0',
  Lang: '',
  TracerVersion: '',
  RuntimeID: 'rid-1',
  Sequence: 4,
  Stats: [
    {
      Start: 1_700_000_000_000_000_000,
      Duration: 10_000_000_000,
      Stats: [
        { Service: 'My API', Name: 'express request', Resource: '', HTTPStatusCode: 200, Type: 'web', Hits: 10, Errors: 1, Duration: 5_000, OkSummary: new Uint8Array([1, 2]), ErrorSummary: new Uint8Array([3]), Synthetics: false, TopLevelHits: 10, HTTPMethod: 'GET', HTTPEndpoint: '/x', SpanKind: 'server', GRPCStatusCode: '' },
      ],
    },
  ],
};

describe('TraceBuffer client stats', () => {
  it('forwards a dd-trace ClientStatsPayload inside a msgpack StatsPayload, processed like the agent', () => {
    const b = buffer({ env: 'staging', hostname: 'h1' });
    expect(b.addStats(ddTraceEncodeStats(DD_STATS), { lang: 'nodejs', tracerVersion: '5.132.0', containerId: 'cid' })).toBe(true);
    const flush = b.flush(NOW_MS);
    expect(flush.statsPayloads).toBe(1);
    const decoded = decodeMsgpackBody(flush.stats ?? new Uint8Array()) as Record<string, unknown>;
    expect(decoded).toMatchObject({ AgentHostname: 'h1', AgentEnv: 'staging', AgentVersion: '0.1.0-test', ClientComputed: true, SplitPayload: false });
    const [client] = decoded.Stats as Record<string, unknown>[];
    expect(client).toMatchObject({ Env: 'staging', Lang: 'nodejs', TracerVersion: '5.132.0', ContainerID: 'cid', Version: '1.0.0', RuntimeID: 'rid-1' });
    const bucket = (client?.Stats as Record<string, unknown>[])[0];
    expect(bucket?.Start).toBe(1_700_000_000_000_000_000n);
    const group = (bucket?.Stats as Record<string, unknown>[])[0];
    expect(group).toMatchObject({ Service: 'my_api', Name: 'express_request', Resource: 'express_request', Hits: 10n, Errors: 1n, TopLevelHits: 10n, HTTPStatusCode: 200, HTTPEndpoint: '/x' });
    expect(Array.from(group?.OkSummary as Uint8Array)).toEqual([1, 2]);
  });

  it('keeps 64-bit stats values exact', () => {
    const b = buffer();
    expect(b.addStats(encodeMsgpack({ Env: 'prod', Stats: [{ Start: U64_MAX, Duration: 10n, Stats: [{ Name: 'a', Service: 's', Hits: U63_PLUS_1 }] }] }))).toBe(true);
    const decoded = decodeMsgpackBody(b.flush(NOW_MS).stats ?? new Uint8Array()) as { Stats: { Stats: { Start: bigint; Stats: { Hits: bigint }[] }[] }[] };
    expect(decoded.Stats[0]?.Stats[0]?.Start).toBe(U64_MAX);
    expect(decoded.Stats[0]?.Stats[0]?.Stats[0]?.Hits).toBe(U63_PLUS_1);
  });

  it('rejects bad msgpack', () => {
    const b = buffer();
    expect(b.addStats(new Uint8Array([0xc1, 0x00]))).toBe(false);
    expect(b.stats().statsRejected).toBe(1);
  });

  it('rejects a body that is not a ClientStatsPayload map', () => {
    expect(buffer().addStats(encodeMsgpack([1, 2, 3]))).toBe(false);
  });

  it('rejects a wrongly typed field', () => {
    const b = buffer();
    expect(b.addStats(encodeMsgpack({ Env: 5 }))).toBe(false);
    expect(b.addStats(encodeMsgpack({ Stats: [{ Stats: [{ Hits: 'ten' }] }] }))).toBe(false);
    expect(b.addStats(encodeMsgpack({ Stats: [{ Stats: [{ Hits: -1 }] }] }))).toBe(false);
    expect(b.addStats(encodeMsgpack({ Stats: ['bucket'] }))).toBe(false);
    expect(b.stats().statsRejected).toBe(4);
    expect(b.flush(NOW_MS).stats).toBeNull();
  });

  it('drops stats payloads past maxBufferedStatsPayloads and counts them', () => {
    const b = buffer({ maxBufferedStatsPayloads: 1 });
    expect(b.addStats(ddTraceEncodeStats(DD_STATS))).toBe(true);
    expect(b.addStats(ddTraceEncodeStats(DD_STATS))).toBe(true);
    expect(b.stats()).toMatchObject({ statsPayloads: 1, statsDropped: 1, bufferedStatsPayloads: 1 });
  });
});
