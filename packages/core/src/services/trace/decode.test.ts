import { describe, expect, it } from 'vitest';
import {
  START_NS,
  U63_PLUS_1,
  U64_MAX,
  ddTraceEncode,
  encodeMsgpack,
  encodeV04,
  encodeV05,
  encodeWithIntKeys,
  wireSpan,
} from '../../../../../test/helpers/trace-payloads.js';
import { decodeTraces, type DecodedTraces, type DecodeError } from './decode.js';

function ok(result: DecodedTraces | DecodeError): DecodedTraces {
  if (!result.ok) throw new Error(`expected traces, got ${result.reason}: ${result.message}`);
  return result;
}

function err(result: DecodedTraces | DecodeError): DecodeError {
  if (result.ok) throw new Error('expected a decode error');
  return result;
}

describe('decodeTraces v0.4', () => {
  it('decodes a msgpack array of traces of span maps', () => {
    const body = encodeV04([[wireSpan(), wireSpan({ span_id: 8n, parent_id: 7n, name: 'db.query', type: 'sql' })], [wireSpan({ trace_id: 43n })]]);
    const decoded = ok(decodeTraces('v0.4', body));
    expect(decoded.spanCount).toBe(3);
    expect(decoded.traces).toHaveLength(2);
    expect(decoded.traces[0]?.[1]).toEqual({
      service: 'checkout',
      name: 'db.query',
      resource: 'GET /cart',
      traceId: 42n,
      spanId: 8n,
      parentId: 7n,
      start: START_NS,
      duration: 1_500_000n,
      error: 0,
      meta: { 'http.method': 'GET', env: 'prod' },
      metrics: { _sampling_priority_v1: 1 },
      type: 'sql',
    });
  });

  it('keeps uint64 ids exact: 2^64-1 and 2^63+1', () => {
    const body = encodeV04([[wireSpan({ trace_id: U64_MAX, span_id: U63_PLUS_1, parent_id: U64_MAX - 1n })]]);
    const span = ok(decodeTraces('v0.4', body)).traces[0]?.[0];
    expect(span?.traceId).toBe(18446744073709551615n);
    expect(span?.spanId).toBe(9223372036854775809n);
    expect(span?.parentId).toBe(18446744073709551614n);
    // A float would have rounded both to 2^64 / 2^63.
    expect(Number(span?.spanId)).toBe(2 ** 63);
  });

  it('reinterprets int64-encoded ids as unsigned, as tracers without uint64 send them', () => {
    const body = encodeV04([[wireSpan({ trace_id: -1n, span_id: -(2n ** 63n) + 1n, parent_id: -2 })]]);
    const span = ok(decodeTraces('v0.4', body)).traces[0]?.[0];
    expect(span?.traceId).toBe(U64_MAX);
    expect(span?.spanId).toBe(U63_PLUS_1);
    expect(span?.parentId).toBe(U64_MAX - 1n);
  });

  it('keeps nanosecond starts beyond 2^53 exact', () => {
    const span = ok(decodeTraces('v0.4', encodeV04([[wireSpan()]]))).traces[0]?.[0];
    expect(span?.start).toBe(1_704_067_200_123_456_789n);
  });

  it('decodes what dd-trace itself encodes for /v0.4', () => {
    const body = ddTraceEncode('v0.4', [
      [
        { traceId: U64_MAX, spanId: U63_PLUS_1, parentId: 0n, service: 'api', name: 'express.request', resource: 'GET /users/:id', type: 'web', meta: { 'http.status_code': '200' }, metrics: { _sampling_priority_v1: 1 }, start: 1_700_000_000_000_000_000, duration: 2_000_000 },
        { traceId: U64_MAX, spanId: 5n, parentId: U63_PLUS_1, service: 'api', name: 'pg.query', resource: 'SELECT 1', type: 'sql', start: 1_700_000_000_000_100_000, duration: 500_000, error: 1 },
      ],
    ]);
    const [trace] = ok(decodeTraces('v0.4', body)).traces;
    expect(trace?.map((s) => [s.traceId, s.spanId, s.parentId, s.service, s.name, s.resource, s.type, s.error])).toEqual([
      [U64_MAX, U63_PLUS_1, 0n, 'api', 'express.request', 'GET /users/:id', 'web', 0],
      [U64_MAX, 5n, U63_PLUS_1, 'api', 'pg.query', 'SELECT 1', 'sql', 1],
    ]);
    expect(trace?.[0]?.meta['http.status_code']).toBe('200');
    expect(trace?.[0]?.start).toBe(1_700_000_000_000_000_000n);
    expect(trace?.[1]?.duration).toBe(500_000n);
  });

  it('treats nil fields as zero values, strings sent as bin as strings, and skips unknown keys', () => {
    const body = encodeV04([
      [wireSpan({ service: null, resource: new TextEncoder().encode('bin resource'), meta: null, metrics: null, error: null, span_events: [{ name: 'x' }], future_field: { a: 1 } })],
    ]);
    const span = ok(decodeTraces('v0.4', body)).traces[0]?.[0];
    expect(span).toMatchObject({ service: '', resource: 'bin resource', meta: {}, metrics: {}, error: 0 });
    expect(span).not.toHaveProperty('span_events');
  });

  it('accepts integer metric values and int-typed start/duration', () => {
    const body = encodeV04([[wireSpan({ metrics: { a: 3, b: 2n ** 40n, c: 0.5 }, start: 1_700_000_000_000_000_000n, duration: 12 })]]);
    const span = ok(decodeTraces('v0.4', body)).traces[0]?.[0];
    expect(span?.metrics).toEqual({ a: 3, b: 2 ** 40, c: 0.5 });
    expect(span?.duration).toBe(12n);
  });

  it('decodes meta_struct as bytes and span_links', () => {
    const body = encodeV04([
      [
        wireSpan({
          meta_struct: { appsec: new Uint8Array([0x81, 0xa1, 0x61, 0x01]) },
          span_links: [{ trace_id: U64_MAX, trace_id_high: 3n, span_id: 9n, attributes: { 'link.name': 'Next' }, tracestate: 'dd=s:1', flags: 0x80000001 }],
        }),
      ],
    ]);
    const span = ok(decodeTraces('v0.4', body)).traces[0]?.[0];
    expect(span?.metaStruct?.appsec).toEqual(new Uint8Array([0x81, 0xa1, 0x61, 0x01]));
    expect(span?.spanLinks).toEqual([{ traceId: U64_MAX, traceIdHigh: 3n, spanId: 9n, attributes: { 'link.name': 'Next' }, tracestate: 'dd=s:1', flags: 0x80000001 }]);
  });

  it('decodes an empty array as no traces', () => {
    expect(decodeTraces('v0.4', encodeV04([]))).toEqual({ ok: true, traces: [], spanCount: 0 });
    expect(ok(decodeTraces('v0.4', encodeV04([[]]))).traces).toEqual([[]]);
  });
});

describe('decodeTraces v0.5', () => {
  it('decodes [string table, traces] with 12-element spans', () => {
    const body = encodeV05([[wireSpan({ trace_id: U64_MAX, span_id: U63_PLUS_1 }), wireSpan({ span_id: 8n, parent_id: U63_PLUS_1, name: 'db.query' })]]);
    const decoded = ok(decodeTraces('v0.5', body));
    expect(decoded.spanCount).toBe(2);
    expect(decoded.traces[0]?.[0]).toEqual({
      service: 'checkout',
      name: 'web.request',
      resource: 'GET /cart',
      traceId: U64_MAX,
      spanId: U63_PLUS_1,
      parentId: 0n,
      start: START_NS,
      duration: 1_500_000n,
      error: 0,
      meta: { 'http.method': 'GET', env: 'prod' },
      metrics: { _sampling_priority_v1: 1 },
      type: 'web',
    });
    expect(decoded.traces[0]?.[1]?.parentId).toBe(U63_PLUS_1);
  });

  it('decodes what dd-trace itself encodes for /v0.5', () => {
    const body = ddTraceEncode('v0.5', [
      [{ traceId: U64_MAX, spanId: U63_PLUS_1, parentId: 0n, service: 'api', name: 'http.request', resource: 'GET /health', type: 'web', meta: { component: 'http' }, metrics: { _sampling_priority_v1: 2 }, start: 1_700_000_000_000_000_000, duration: 3_000 }],
    ]);
    const span = ok(decodeTraces('v0.5', body)).traces[0]?.[0];
    expect(span).toMatchObject({ traceId: U64_MAX, spanId: U63_PLUS_1, service: 'api', name: 'http.request', resource: 'GET /health', type: 'web', duration: 3_000n });
    expect(span?.meta.component).toBe('http');
    expect(span?.metrics._sampling_priority_v1).toBe(2);
  });

  it('decodes an empty payload', () => {
    expect(decodeTraces('v0.5', encodeMsgpack([[], []]))).toEqual({ ok: true, traces: [], spanCount: 0 });
  });
});

describe('decodeTraces bad input', () => {
  it('rejects bytes that are not msgpack', () => {
    const e = err(decodeTraces('v0.4', new Uint8Array([0xc1])));
    expect(e.reason).toBe('bad_msgpack');
    expect(e.message).toMatch(/^bad msgpack/);
  });

  it('rejects an empty body', () => {
    expect(err(decodeTraces('v0.4', new Uint8Array(0))).reason).toBe('bad_msgpack');
  });

  it('rejects a truncated body', () => {
    const body = encodeV04([[wireSpan()]]);
    expect(err(decodeTraces('v0.4', body.subarray(0, body.length - 5))).reason).toBe('bad_msgpack');
  });

  it('rejects trailing bytes after the payload', () => {
    const body = encodeV04([[wireSpan()]]);
    const extra = new Uint8Array([...body, 0x01]);
    expect(err(decodeTraces('v0.4', extra)).reason).toBe('bad_msgpack');
  });

  it('rejects a top level that is not an array of traces', () => {
    expect(err(decodeTraces('v0.4', encodeMsgpack({ traces: [] }))).reason).toBe('wrong_shape');
    expect(err(decodeTraces('v0.4', encodeMsgpack([wireSpan()]))).message).toBe('traces[0]: expected an array of spans');
    expect(err(decodeTraces('v0.4', encodeMsgpack([['not a span']]))).message).toBe('traces[0][0]: expected a span map');
  });

  it('rejects a string id', () => {
    const e = err(decodeTraces('v0.4', encodeV04([[wireSpan({ trace_id: '42' })]])));
    expect(e).toEqual({ ok: false, reason: 'wrong_field_type', message: 'trace_id: expected integer, got string' });
  });

  it('rejects a float id', () => {
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ span_id: 1.5 })]]))).reason).toBe('wrong_field_type');
  });

  it('rejects a meta that is not a map and a meta value that is not a string', () => {
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ meta: ['a'] })]]))).message).toBe('meta: expected map, got array');
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ meta: { a: 1 } })]]))).message).toBe('meta.a: expected string, got number');
  });

  it('rejects a metric value that is not a number', () => {
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ metrics: { a: 'x' } })]]))).reason).toBe('wrong_field_type');
  });

  it('rejects an unsigned start above int64 and an error above int32', () => {
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ start: U64_MAX })]])))).toMatchObject({ reason: 'out_of_range' });
    expect(err(decodeTraces('v0.4', encodeV04([[wireSpan({ error: 2 ** 31 })]])))).toMatchObject({ reason: 'out_of_range' });
  });

  it('rejects a v0.5 payload that is not a 2-element array', () => {
    expect(err(decodeTraces('v0.5', encodeV04([[wireSpan()]]))).reason).toBe('wrong_shape');
    expect(err(decodeTraces('v0.5', encodeMsgpack([['a'], [], []]))).reason).toBe('wrong_shape');
    expect(err(decodeTraces('v0.5', encodeMsgpack([{}, []]))).message).toMatch(/string table/);
  });

  it('rejects a v0.5 span without exactly 12 elements', () => {
    const e = err(decodeTraces('v0.5', encodeMsgpack([['a'], [[[0, 0, 0, 1, 1, 0, 0, 0, 0, {}, {}]]]])));
    expect(e).toMatchObject({ reason: 'wrong_shape', message: 'traces[0][0]: a v0.5 span is an array of exactly 12 elements' });
  });

  it('rejects a v0.5 string index past the table', () => {
    const e = err(decodeTraces('v0.5', encodeMsgpack([['a'], [[[0, 5, 0, 1, 1, 0, 0, 0, 0, {}, {}, 0]]]])));
    expect(e).toMatchObject({ reason: 'bad_string_index', message: 'name: string-table index 5 out of range (table has 1)' });
    const metaKey = new Map([[9, 0]]);
    expect(err(decodeTraces('v0.5', encodeWithIntKeys([['a'], [[[0, 0, 0, 1, 1, 0, 0, 0, 0, metaKey, {}, 0]]]]))).reason).toBe('bad_string_index');
  });

  it('rejects a v0.5 string field that is not an index', () => {
    expect(err(decodeTraces('v0.5', encodeMsgpack([['a'], [[['svc', 0, 0, 1, 1, 0, 0, 0, 0, {}, {}, 0]]]]))).reason).toBe('wrong_field_type');
  });

  it('never throws on random bytes', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const valid = encodeV04([[wireSpan(), wireSpan({ span_id: 8n })]]);
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(valid);
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      for (const version of ['v0.4', 'v0.5'] as const) {
        const result = decodeTraces(version, i % 2 === 0 ? bytes : bytes.subarray(0, Math.floor(random() * bytes.length)));
        expect(typeof result.ok).toBe('boolean');
      }
    }
  });
});
