import { describe, expect, it } from 'vitest';
import {
  PRIORITY_NONE,
  YEAR_2000_NS,
  createNormalizeCounters,
  normalizeSpan,
  normalizeTrace,
  type NormalizeDefaults,
} from './normalize.js';
import type { Span } from './span.js';

const NOW_MS = 1_717_171_717_000;
const NOW_NS = BigInt(NOW_MS) * 1_000_000n;
const START = 1_717_000_000_000_000_000n;
const defaults: NormalizeDefaults = { nowMs: NOW_MS, lang: 'nodejs' };

function span(overrides: Partial<Span> = {}): Span {
  return {
    service: 'checkout',
    name: 'web.request',
    resource: 'GET /cart',
    traceId: 42n,
    spanId: 7n,
    parentId: 0n,
    start: START,
    duration: 1_000n,
    error: 0,
    meta: {},
    metrics: {},
    type: 'web',
    ...overrides,
  };
}

function normalized(s: Span, d: NormalizeDefaults = defaults): Span {
  const out = normalizeSpan(s, d);
  if (out === null) throw new Error('span rejected');
  return out;
}

describe('normalizeSpan ids', () => {
  it('rejects a zero trace_id and counts it', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ traceId: 0n }), defaults, counters)).toBeNull();
    expect(counters.tracesDropped.traceIdZero).toBe(1);
  });

  it('rejects a zero span_id and counts it', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ spanId: 0n }), defaults, counters)).toBeNull();
    expect(counters.tracesDropped.spanIdZero).toBe(1);
  });

  it('clears a parent_id equal to both trace_id and span_id', () => {
    expect(normalized(span({ traceId: 5n, spanId: 5n, parentId: 5n })).parentId).toBe(0n);
    expect(normalized(span({ traceId: 5n, spanId: 6n, parentId: 5n })).parentId).toBe(5n);
  });

  it('leaves 64-bit ids untouched', () => {
    const max = (1n << 64n) - 1n;
    const s = normalized(span({ traceId: max, spanId: max - 1n, parentId: (1n << 63n) + 1n }));
    expect([s.traceId, s.spanId, s.parentId]).toEqual([max, max - 1n, (1n << 63n) + 1n]);
  });
});

describe('normalizeSpan service', () => {
  it('defaults an empty service to unnamed-<lang>-service and counts it', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ service: '' }), defaults, counters)?.service).toBe('unnamed-nodejs-service');
    expect(normalizeSpan(span({ service: '' }), { nowMs: NOW_MS }, counters)?.service).toBe('unnamed-service');
    expect(counters.spansMalformed.serviceEmpty).toBe(2);
  });

  it('uses the configured service for a span without one', () => {
    expect(normalized(span({ service: '' }), { ...defaults, service: 'My-API' }).service).toBe('my-api');
  });

  it('truncates a service over 100 bytes and counts it', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ service: 's'.repeat(150) }), defaults, counters)?.service).toBe('s'.repeat(100));
    expect(counters.spansMalformed.serviceTruncate).toBe(1);
  });

  it('normalizes a service as a tag value, and falls back when nothing is left', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ service: 'My Service!' }), defaults, counters)?.service).toBe('my_service');
    expect(normalizeSpan(span({ service: '$$$' }), defaults, counters)?.service).toBe('unnamed-nodejs-service');
    expect(counters.spansMalformed.serviceInvalid).toBe(1);
  });

  it('normalizes peer.service and _dd.base_service', () => {
    const counters = createNormalizeCounters();
    const s = normalizeSpan(span({ meta: { 'peer.service': 'Billing DB', '_dd.base_service': '@@@' } }), defaults, counters);
    expect(s?.meta['peer.service']).toBe('billing_db');
    expect(s?.meta['_dd.base_service']).toBe('');
    expect(counters.spansMalformed.baseServiceInvalid).toBe(1);
  });
});

describe('normalizeSpan name, resource, type', () => {
  it('defaults an empty name to unnamed_operation', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ name: '' }), defaults, counters)?.name).toBe('unnamed_operation');
    expect(counters.spansMalformed.spanNameEmpty).toBe(1);
  });

  it('truncates a name over 100 bytes', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ name: 'n'.repeat(120) }), defaults, counters)?.name).toBe('n'.repeat(100));
    expect(counters.spansMalformed.spanNameTruncate).toBe(1);
  });

  it('normalizes a name as a metric name; an invalid one becomes unnamed_operation', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ name: 'express request!' }), defaults, counters)?.name).toBe('express_request');
    expect(normalizeSpan(span({ name: '1234' }), defaults, counters)?.name).toBe('unnamed_operation');
    expect(counters.spansMalformed.spanNameInvalid).toBe(1);
  });

  it('defaults an empty resource to the normalized name', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ resource: '', name: 'pg query' }), defaults, counters)?.resource).toBe('pg_query');
    expect(counters.spansMalformed.resourceEmpty).toBe(1);
  });

  it('truncates a resource over 5000 bytes', () => {
    expect(normalized(span({ resource: 'r'.repeat(6000) })).resource).toBe('r'.repeat(5000));
  });

  it('truncates a type over 100 bytes', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ type: 't'.repeat(101) }), defaults, counters)?.type).toBe('t'.repeat(100));
    expect(counters.spansMalformed.typeTruncate).toBe(1);
  });
});

describe('normalizeSpan times', () => {
  it('sets a negative duration to 0', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ duration: -5n }), defaults, counters)?.duration).toBe(0n);
    expect(counters.spansMalformed.invalidDuration).toBe(1);
  });

  it('sets a duration that overflows int64 with start to 0', () => {
    expect(normalized(span({ duration: (1n << 63n) - 1n })).duration).toBe(0n);
  });

  it('moves a start before 2000 to now minus the duration', () => {
    const counters = createNormalizeCounters();
    const s = normalizeSpan(span({ start: 12n, duration: 3_000n }), defaults, counters);
    expect(s?.start).toBe(NOW_NS - 3_000n);
    expect(counters.spansMalformed.invalidStartDate).toBe(1);
    expect(normalized(span({ start: YEAR_2000_NS })).start).toBe(YEAR_2000_NS);
  });

  it('uses now when now minus the duration is negative', () => {
    expect(normalized(span({ start: -1n, duration: NOW_NS + 10n })).start).toBe(NOW_NS);
  });
});

describe('normalizeSpan meta', () => {
  it('normalizes env, and fills it from the configured env when missing', () => {
    expect(normalized(span({ meta: { env: 'Prod Env' } }), { ...defaults, env: 'staging' }).meta.env).toBe('prod_env');
    expect(normalized(span(), { ...defaults, env: 'Staging' }).meta.env).toBe('staging');
    expect(normalized(span()).meta).not.toHaveProperty('env');
  });

  it('removes an invalid http.status_code and keeps a valid one', () => {
    const counters = createNormalizeCounters();
    expect(normalizeSpan(span({ meta: { 'http.status_code': '200' } }), defaults, counters)?.meta['http.status_code']).toBe('200');
    expect(normalizeSpan(span({ meta: { 'http.status_code': '700' } }), defaults, counters)?.meta).not.toHaveProperty('http.status_code');
    expect(normalizeSpan(span({ meta: { 'http.status_code': 'OK' } }), defaults, counters)?.meta).not.toHaveProperty('http.status_code');
    expect(counters.spansMalformed.invalidHttpStatusCode).toBe(2);
  });

  it('truncates meta keys over 200 bytes and values over 25000 bytes, marking them "..."', () => {
    const s = normalized(span({ meta: { ['k'.repeat(250)]: 'v', long: 'x'.repeat(30_000) }, metrics: { ['m'.repeat(201)]: 1 } }));
    expect(s.meta).toEqual({ [`${'k'.repeat(200)}...`]: 'v', long: `${'x'.repeat(25_000)}...` });
    expect(s.metrics).toEqual({ [`${'m'.repeat(200)}...`]: 1 });
  });

  it('adds the cloud origin span tags without overriding the tracer', () => {
    const spanTags = { '_dd.origin': 'cloudfunction', origin: 'cloudfunction', functionname: 'resize' };
    const s = normalized(span({ meta: { functionname: 'from-tracer' } }), { ...defaults, spanTags });
    expect(s.meta).toEqual({ '_dd.origin': 'cloudfunction', origin: 'cloudfunction', functionname: 'from-tracer' });
  });

  it('normalizes the link.name attribute of span links', () => {
    const s = normalized(span({ spanLinks: [{ traceId: 1n, traceIdHigh: 0n, spanId: 2n, attributes: { 'link.name': 'Next Step!' }, tracestate: '', flags: 0 }] }));
    expect(s.spanLinks?.[0]?.attributes['link.name']).toBe('Next_Step');
  });
});

describe('normalizeTrace', () => {
  it('rejects an empty trace', () => {
    const counters = createNormalizeCounters();
    expect(normalizeTrace([], defaults, counters)).toBeNull();
    expect(counters.tracesDropped.emptyTrace).toBe(1);
  });

  it('rejects a trace whose spans disagree on trace_id', () => {
    const counters = createNormalizeCounters();
    expect(normalizeTrace([span(), span({ spanId: 8n, traceId: 43n })], defaults, counters)).toBeNull();
    expect(counters.tracesDropped.foreignSpan).toBe(1);
  });

  it('rejects the whole trace when one span has a zero span_id', () => {
    const counters = createNormalizeCounters();
    expect(normalizeTrace([span(), span({ spanId: 0n, parentId: 7n })], defaults, counters)).toBeNull();
    expect(counters.tracesDropped.spanIdZero).toBe(1);
  });

  it('counts a duplicate span_id but keeps the trace', () => {
    const counters = createNormalizeCounters();
    expect(normalizeTrace([span(), span({ parentId: 7n })], defaults, counters)).not.toBeNull();
    expect(counters.spansMalformed.duplicateSpanId).toBe(1);
  });

  it('takes the priority from the root span, else another span, else PriorityNone', () => {
    const root = span({ metrics: { _sampling_priority_v1: 2 } });
    const child = span({ spanId: 8n, parentId: 7n, metrics: { _sampling_priority_v1: 1 } });
    expect(normalizeTrace([child, root], defaults)?.priority).toBe(2);
    expect(normalizeTrace([span({ spanId: 8n, parentId: 7n, metrics: { _sampling_priority_v1: 1 } }), span()], defaults)?.priority).toBe(1);
    expect(normalizeTrace([span()], defaults)?.priority).toBe(PRIORITY_NONE);
  });

  it('drops a user-rejected trace (priority below 0)', () => {
    const counters = createNormalizeCounters();
    expect(normalizeTrace([span({ metrics: { _sampling_priority_v1: -1 } })], defaults, counters)).toBeNull();
    expect(counters.tracesDropped.userReject).toBe(1);
    expect(normalizeTrace([span({ metrics: { _sampling_priority_v1: 0 } })], defaults)?.priority).toBe(0);
  });

  it('marks top-level spans: the root, service entries, and orphans', () => {
    const trace = [
      span({ spanId: 1n, parentId: 0n, service: 'api' }),
      span({ spanId: 2n, parentId: 1n, service: 'api' }),
      span({ spanId: 3n, parentId: 2n, service: 'db', metrics: { _top_level: 1 } }),
      span({ spanId: 4n, parentId: 99n, service: 'api' }),
    ];
    trace[1]!.metrics._top_level = 1;
    const result = normalizeTrace(trace, defaults);
    expect(result?.spans.map((s) => s.metrics._top_level)).toEqual([1, undefined, 1, 1]);
    expect(result?.root.spanId).toBe(1n);
  });

  it('takes the chunk origin from the root and the decision maker from the first span with one', () => {
    const result = normalizeTrace(
      [span({ spanId: 8n, parentId: 7n, meta: { '_dd.p.dm': '-1' } }), span({ meta: { '_dd.origin': 'lambda', '_dd.p.dm': '-4' } })],
      defaults,
    );
    expect(result?.origin).toBe('lambda');
    expect(result?.tags).toEqual({ '_dd.p.dm': '-1' });
  });

  it('finds the root of a partial trace as the span whose parent is absent', () => {
    const result = normalizeTrace([span({ spanId: 8n, parentId: 7n }), span({ spanId: 9n, parentId: 8n })], defaults);
    expect(result?.root.spanId).toBe(8n);
  });
});
